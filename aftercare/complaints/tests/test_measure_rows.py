"""The complaint form measures drill down to their forms, first-time fix to its repair orders (docs/reports.md,
"Measures"): the list at each figure's numerator and denominator link shows exactly the rows the measure counts, of
that store and those months (the filters the measure counts with); another store's never."""

import datetime as dt
import re

import pytest
import time_machine

from aftercare.complaints.tests.test_measures import march, sh, store_b_march  # noqa: F401 (fixtures)
from aftercare.org.choices import Role
from aftercare.org.kpis import drill_for, measure_get

pytestmark = pytest.mark.django_db

CODES = ("complaints.timeliness", "complaints.verification_rate", "complaints.supervisor_handling",
         "complaints.first_call_handled", "complaints.first_time_fix_rate")


def _rows(html: str) -> int:
    body = html.split('id="drill-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return len(re.findall(r"<tr><td>(?!.*colspan)", body))


@pytest.mark.parametrize("start,end,until", [(dt.date(2026, 3, 1), dt.date(2026, 4, 1), ""),
                                             (dt.date(2026, 1, 1), dt.date(2026, 4, 1), "until=2026-04")])
def test_it_lists_exactly_the_forms_each_complaint_figure_counts(client, users, march, store_b_march, store_a,  # noqa: F811
                                                                  store_b, start, end, until):
    manager = users[Role.CS_MANAGER]
    client.force_login(manager)
    with time_machine.travel(sh(2026, 4, 20, 9), tick=False):
        for code in CODES:
            measure = measure_get(code)
            [value] = [v for v in measure.compute(user=manager, store_ids=None, period_start=start, period_end=end)
                       if v.store_id == store_a.pk]
            drill = drill_for(measure, store_id=store_a.pk, start=start, end=end)
            for url, expected in ((drill.numerator, value.numerator), (drill.denominator, value.denominator)):
                assert f"store={store_a.pk}" in url and until in url, url
                response = client.get(url)
                assert response.status_code == 200, url
                html = response.content.decode()
                assert _rows(html) == expected, (code, url)
                assert store_b.code not in html.split("<tbody>", 1)[1], url
            assert value.denominator > 0, code  # the seeded month has rows for every measure


def test_it_answers_another_stores_forms_with_404(client, users, march, store_b_march, store_b):  # noqa: F811
    client.force_login(users[Role.CS_MANAGER])
    response = client.get("/complaints/measures/rows/", {"measure": "timeliness", "counted": "numerator",
                                                         "store": store_b.pk, "month": "2026-03"})
    assert response.status_code == 404


@pytest.mark.parametrize("query", [
    "measure=timeliness&counted=numerator&month=2026-03&until=2026-13",
    "measure=timeliness&counted=numerator&month=2026-03&until=2026-02",
    "measure=timeliness&counted=numerator&month=9999-12",
    "measure=everything&counted=numerator&month=2026-03",
    "measure=timeliness&counted=all&month=2026-03",
    "measure=timeliness&counted=numerator&month=2026-03&store=x",
])
def test_it_refuses_a_bad_filter_with_a_named_error_never_a_500(client, users, query):
    client.force_login(users[Role.CS_MANAGER])
    response = client.get(f"/complaints/measures/rows/?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()


def test_it_lists_in_a_fixed_number_of_queries(client, users, march, store_b_march, store_a):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(users[Role.CS_MANAGER])
    counts = []
    with time_machine.travel(sh(2026, 4, 20, 9), tick=False):
        for query in ("month=2026-03", "month=2026-01&until=2026-05"):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(f"/complaints/measures/rows/?measure=timeliness&counted=denominator&"
                                      f"store={store_a.pk}&{query}")
                assert response.status_code == 200
            counts.append(len(ctx))
    assert counts[0] == counts[1] and counts[0] <= 15, counts


def test_it_lists_the_repeated_repair_orders_with_their_repeat(client, users, march, store_b_march, store_a):  # noqa: F811
    client.force_login(users[Role.CS_MANAGER])
    with time_machine.travel(sh(2026, 4, 20, 9), tick=False):
        response = client.get("/complaints/measures/orders/", {"counted": "repeated", "store": store_a.pk,
                                                               "month": "2026-03"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    body = html.split("<tbody>", 1)[1]
    assert _rows(html) == 1
    # A (mechanical, 2 March) was repeated by B (warranty claim, 10 March) for the same fault
    assert "<td>A</td>" in body and "B · 2026-03-10" in body and "发动机异响" in body


def test_it_answers_another_stores_repair_orders_with_404(client, users, march, store_b_march, store_b):  # noqa: F811
    client.force_login(users[Role.CS_MANAGER])
    response = client.get("/complaints/measures/orders/", {"counted": "repeated", "store": store_b.pk,
                                                           "month": "2026-03"})
    assert response.status_code == 404


@pytest.mark.parametrize("query", [
    "counted=repeated&month=2026-03&until=2026-02",
    "counted=everything&month=2026-03",
    "counted=numerator&month=0000-01",
    "counted=numerator&month=2026-03&store=-1",
])
def test_it_refuses_a_bad_repair_order_filter_with_a_named_error(client, users, query):
    client.force_login(users[Role.CS_MANAGER])
    response = client.get(f"/complaints/measures/orders/?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()


def test_it_lists_repair_orders_in_a_fixed_number_of_queries(client, users, march, store_b_march, store_a):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(users[Role.CS_MANAGER])
    counts = []
    with time_machine.travel(sh(2026, 4, 20, 9), tick=False):
        for query in ("month=2026-03", "month=2026-01&until=2026-05"):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(f"/complaints/measures/orders/?counted=denominator&store={store_a.pk}&{query}")
                assert response.status_code == 200
            counts.append(len(ctx))
    assert counts[0] == counts[1] and counts[0] <= 16, counts
