"""The demo's SSI results from the carmaker (`demo/reports_ssi.py`): a year of store, region and national figures per
store imported through the real service, with target ranks, shown on the SSI page."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from aftercare.demo.org import demo_group, demo_org_create
from aftercare.demo.reports_ssi import NATION, REGION, STORE, TARGET_NATION_RANK, demo_ssi_create, demo_ssi_exist
from aftercare.followups.services.questionnaires import questionnaire_templates_ensure_shipped
from aftercare.org.choices import Role
from aftercare.org.models import Staff
from aftercare.reports.models import SsiBenchmark, SsiRankTarget

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 18, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@time_machine.travel(NOW, tick=False)
def test_it_imports_a_year_of_carmaker_figures_per_store_and_shows_them():
    questionnaire_templates_ensure_shipped()
    demo_org_create()
    stores = list(demo_group().stores.order_by("code"))
    assert not demo_ssi_exist(stores)
    counts = demo_ssi_create(stores=stores, seed=20131231)
    assert demo_ssi_exist(stores)
    assert counts == {"ssi_benchmarks": len(stores) * 12 * 8}
    first = stores[0]
    rows = SsiBenchmark.objects.filter(store=first, factor="").order_by("month")
    assert [r.month for r in rows] == [dt.date(2025, m, 1) for m in range(3, 13)] + [dt.date(2026, 1, 1),
                                                                                      dt.date(2026, 2, 1)]
    assert all(abs(r.store_score - s) <= 1 for r, s in zip(rows, STORE, strict=True))
    assert [r.region_score for r in rows] == list(REGION) and [r.nation_score for r in rows] == list(NATION)
    assert all(r.region_rank and r.nation_rank and r.region_id == first.region_id for r in rows)
    assert SsiBenchmark.objects.filter(store=first, month=dt.date(2026, 2, 1)).exclude(factor="").count() == 7
    assert SsiRankTarget.objects.get(store=first, kind="ssi").nation_rank == TARGET_NATION_RANK
    admin = Staff.objects.filter(group=first.group, role=Role.GROUP_ADMIN).first().user
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(admin)
    response = client.get(reverse("reports:ssi"), {"store": first.pk, "year": 2025})
    assert response.status_code == 200
    html = response.content.decode()
    assert "提车过程" in html and 'data-period="2025-Q4"' in html and "/4000" in html
