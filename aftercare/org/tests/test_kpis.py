"""The KPI catalogue (org/kpis.py): registry, targets per store and period, their page and API."""

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from aftercare.core.models import AuditEvent
from aftercare.core.services import api_token_create
from aftercare.org import kpis
from aftercare.org.choices import Role
from aftercare.org.models import KpiTarget
from aftercare.org.selectors import kpi_judge, kpi_target_for, kpi_targets_resolved
from aftercare.org.services import kpi_target_set
from conftest import CANARY

DOC = Path(__file__).resolve().parents[3] / "docs" / "kpis.md"
RVR = "followups.return_visit_rate"
FTF = "complaints.first_time_fix_rate"
NOON_MAY = dt.datetime(2026, 5, 20, 4, tzinfo=dt.UTC)  # 12:00 Shanghai, 20 May 2026


def api(user) -> Client:
    _, key = api_token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")


def page(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def put(client, code, body):
    return client.put(f"/api/kpis/{code}/targets", json.dumps(body), content_type="application/json")


def target(store, code, kind, start, value, note=""):
    return KpiTarget.objects.create(
        store=store, measure_code=code, period_kind=kind, period_start=start, value=Decimal(value), note=note
    )


# ---- the registry ------------------------------------------------------------------------------------------------


def _measure(code="testapp.thing", **kw):
    return kpis.Measure(code=code, app=code.split(".")[0], name="n", definition="d", numerator="a", denominator="b",
                        **kw)


def test_it_registers_every_measure_the_apps_own_once():
    codes = [m.code for m in kpis.measures()]
    assert len(codes) == len(set(codes))
    for code in (RVR, "followups.reach_rate", "followups.on_time_rate", "followups.calls_made",
                 "complaints.timeliness", "complaints.verification_rate", "complaints.supervisor_handling",
                 "complaints.first_call_handled", FTF):
        assert code in codes, code
    apps = {"followups", "complaints", "renewals", "appointments", "care", "quality"}
    assert {m.app for m in kpis.measures()} == apps
    assert kpis.measure_get(FTF).default_target == Decimal(98)
    assert kpis.measure_get(RVR).default_target == Decimal(95)
    assert all(m.compute is not None for m in kpis.measures())


def test_it_refuses_a_second_measure_with_a_code_already_registered():
    first = kpis.register(_measure())
    try:
        assert kpis.register(first) is first  # the same object again (ready() twice): no-op
        with pytest.raises(ValueError, match="already registered"):
            kpis.register(_measure())
        with pytest.raises(ValueError, match="already registered"):
            kpis.register(_measure(RVR.replace("followups", "followups")))
    finally:
        kpis.unregister("testapp.thing")


@pytest.mark.parametrize(
    "kw",
    [
        {"code": "Bad Code"},
        {"code": "other.thing"},  # not its app's
        {"unit": "furlongs"},
        {"levels": ("continent",)},
        {"periods": ()},
        {"default_target": Decimal(101)},  # percent
    ],
)
def test_it_refuses_an_ill_formed_measure(kw):
    code = kw.pop("code", "testapp.thing")
    with pytest.raises(ValueError):
        kpis.Measure(code=code, app="testapp", name="n", definition="d", numerator="a", denominator="b", **kw)


def test_it_has_both_languages_for_every_measure():
    for measure in kpis.measures():
        with translation.override("en"):
            english = [str(measure.name), str(measure.definition)]
        with translation.override("zh-hans"):
            chinese = [str(measure.name), str(measure.definition)]
        assert all(english) and all(chinese)


def test_it_documents_exactly_the_catalogue_in_docs_kpis():
    """Every `<app label>.<name>` in backticks in docs/kpis.md is a measure code, and every measure is there."""
    from django.apps import apps

    labels = "|".join(c.label for c in apps.get_app_configs() if c.name.startswith("aftercare."))
    documented = set(re.findall(rf"`((?:{labels})\.[a-z0-9_]+)`", DOC.read_text(encoding="utf-8")))
    assert documented == {m.code for m in kpis.measures()}


def test_it_compares_with_the_direction_and_marks_the_running_month():
    higher, lower = _measure(), _measure(direction=kpis.Direction.LOWER)
    from aftercare.org.selectors import ResolvedTarget

    t = ResolvedTarget(Decimal(95), "month")
    assert kpi_judge(higher, Decimal("96.0"), t, running=False).state == "met"
    assert kpi_judge(higher, Decimal("90.0"), t, running=False).state == "missed"
    assert kpi_judge(higher, Decimal("90.0"), t, running=True).state == "running"
    assert kpi_judge(lower, Decimal("90.0"), t, running=False).state == "met"
    assert kpi_judge(higher, Decimal("90.0"), t, running=False).gap == Decimal("-5.0")
    assert kpi_judge(higher, None, t, running=False).state == "none"


# ---- targets ------------------------------------------------------------------------------------------------------


def test_it_resolves_month_before_quarter_before_year_before_default(store_a, manager):
    may, june, july = dt.date(2026, 5, 1), dt.date(2026, 6, 1), dt.date(2026, 7, 1)
    assert kpi_target_for(user=manager, store_id=store_a.pk, measure=RVR, day=may).source == "default"
    target(store_a, RVR, "year", dt.date(2026, 1, 1), "90")
    assert kpi_target_for(user=manager, store_id=store_a.pk, measure=RVR, day=may).value == Decimal(90)
    target(store_a, RVR, "quarter", dt.date(2026, 4, 1), "93")
    resolved = kpi_target_for(user=manager, store_id=store_a.pk, measure=RVR, day=dt.date(2026, 5, 17))
    assert (resolved.value, resolved.source, resolved.period_start) == (Decimal(93), "quarter", dt.date(2026, 4, 1))
    target(store_a, RVR, "month", may, "97")
    assert kpi_target_for(user=manager, store_id=store_a.pk, measure=RVR, day=may).value == Decimal(97)
    assert kpi_target_for(user=manager, store_id=store_a.pk, measure=RVR, day=june).value == Decimal(93)
    assert kpi_target_for(user=manager, store_id=store_a.pk, measure=RVR, day=july).value == Decimal(90)
    assert kpi_target_for(user=manager, store_id=store_a.pk, measure=RVR, day=dt.date(2027, 1, 1)).source == "default"
    assert kpi_target_for(user=manager, store_id=store_a.pk, measure="followups.calls_made", day=may) is None


def test_it_splits_a_count_target_of_a_quarter_or_year_over_its_months(store_a, manager):
    """A measure that adds up (renewals sold, a count) takes a third of its quarter's target for a month, a twelfth
    of its year's, and no default: the start page's glance, the API and the measures pages resolve it alike."""
    may, oct_ = dt.date(2026, 5, 1), dt.date(2026, 10, 1)
    count = "renewals.renewal_count"
    assert kpi_target_for(user=manager, store_id=store_a.pk, measure=count, day=may) is None
    target(store_a, count, "year", dt.date(2026, 1, 1), "120")
    target(store_a, count, "quarter", dt.date(2026, 4, 1), "30", note="旺季")
    resolved = kpi_target_for(user=manager, store_id=store_a.pk, measure=count, day=may)
    assert (resolved.value, resolved.source, resolved.period_start) == (Decimal(10), "quarter", dt.date(2026, 4, 1))
    assert kpi_target_for(user=manager, store_id=store_a.pk, measure=count, day=oct_).value == Decimal(10)  # 120 / 12
    target(store_a, count, "month", may, "14", note="五月促销")
    own = kpi_target_for(user=manager, store_id=store_a.pk, measure=count, day=may)
    assert (own.value, own.source, own.note) == (Decimal(14), "month", "五月促销")


def test_it_resolves_many_stores_months_and_measures_in_one_query(store_a, users):
    admin = users[Role.GROUP_ADMIN]
    target(store_a, RVR, "year", dt.date(2026, 1, 1), "90")
    months = [dt.date(2026, m, 1) for m in range(1, 13)]
    with CaptureQueriesContext(connection) as ctx:
        out = kpi_targets_resolved(user=admin, store_ids=[store_a.pk], measures=kpis.measures(), months=months)
    assert len(ctx) <= 3  # the scope (staff, stores) and the targets
    assert out[(store_a.pk, RVR, dt.date(2026, 12, 1))].value == Decimal(90)
    assert out[(store_a.pk, FTF, dt.date(2026, 12, 1))].value == Decimal(98)


def test_it_keeps_another_stores_targets_out_of_reach(store_a, store_b, manager):
    target(store_b, RVR, "month", dt.date(2026, 5, 1), "50", note=CANARY)
    from django.http import Http404

    with pytest.raises(Http404):
        kpi_target_for(user=manager, store_id=store_b.pk, measure=RVR, day=dt.date(2026, 5, 1))
    assert kpi_targets_resolved(user=manager, store_ids=[store_b.pk], measures=kpis.measures(), months=[]) == {}


def test_it_sets_updates_clears_and_audits_a_target(store_a, manager):
    row = kpi_target_set(actor=manager, store=store_a, measure=RVR, period_kind="month",
                         period_start=dt.date(2026, 5, 1), value=Decimal("96.5"), note="厂家考核\x00")
    assert row.value == Decimal("96.5") and row.note == "厂家考核" and row.set_by == manager
    again = kpi_target_set(actor=manager, store=store_a, measure=RVR, period_kind="month",
                           period_start=dt.date(2026, 5, 1), value=Decimal(97))
    assert again.pk == row.pk and KpiTarget.objects.count() == 1
    assert kpi_target_set(actor=manager, store=store_a, measure=RVR, period_kind="month",
                          period_start=dt.date(2026, 5, 1), value=None) is None
    assert not KpiTarget.objects.exists()
    events = AuditEvent.objects.filter(object_type="org.kpitarget").order_by("id")
    actions = list(events.values_list("action", flat=True))
    assert actions == ["create", "update", "delete"]


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"measure": "followups.nothing"}, "measure_code"),
        ({"measure": "followups.calls_made"}, "measure_code"),  # a staff measure takes no store target
        ({"value": Decimal("100.5")}, "value"),  # a percentage
        ({"value": Decimal("-1")}, "value"),
        ({"value": Decimal("1.234")}, "value"),
        ({"period_start": dt.date(2026, 5, 2)}, "period_start"),
        ({"period_kind": "quarter", "period_start": dt.date(2026, 5, 1)}, "period_start"),
        ({"period_kind": "week"}, "period_kind"),
    ],
)
def test_it_refuses_a_bad_target_naming_the_field(store_a, manager, kw, field):
    args = {"measure": RVR, "period_kind": "month", "period_start": dt.date(2026, 5, 1), "value": Decimal(95), **kw}
    with pytest.raises(ValidationError) as exc:
        kpi_target_set(actor=manager, store=store_a, **args)
    assert field in exc.value.message_dict
    assert not KpiTarget.objects.exists()


def test_it_keeps_one_target_per_store_measure_and_period_in_the_database(store_a):
    target(store_a, RVR, "month", dt.date(2026, 5, 1), "95")
    with pytest.raises(IntegrityError), transaction.atomic():
        target(store_a, RVR, "month", dt.date(2026, 5, 1), "96")
    with pytest.raises(IntegrityError), transaction.atomic():
        target(store_a, RVR, "year", dt.date(2026, 1, 1), "-1")


# ---- API ------------------------------------------------------------------------------------------------------------


@time_machine.travel(NOON_MAY, tick=False)
def test_it_lists_the_catalogue_with_the_stores_target(store_a, specialist):
    target(store_a, RVR, "quarter", dt.date(2026, 4, 1), "93")
    body = api(specialist).get("/api/kpis", {"store_id": store_a.pk}).json()
    rvr = next(m for m in body if m["code"] == RVR)
    assert rvr["name"] == "Return-visit rate" and rvr["unit"] == "percent" and rvr["direction"] == "higher"
    assert rvr["target"] == {"month": "2026-05-01", "value": "93.00", "source": "quarter"}
    assert next(m for m in body if m["code"] == "followups.calls_made")["target"] is None
    assert len(api(specialist).get("/api/kpis").json()) == len(kpis.measures())


@time_machine.travel(NOON_MAY, tick=False)
def test_it_sets_and_reads_targets_through_the_api(store_a, manager):
    client = api(manager)
    r = put(client, RVR, {"store_id": store_a.pk, "period_kind": "year", "period_start": "2026-01-01",
                          "value": "92", "note": "集团"})
    assert r.status_code == 200, r.content
    assert r.json()["value"] == "92.00"
    body = client.get(f"/api/kpis/{RVR}/targets", {"store_id": store_a.pk}).json()
    assert [t["period_kind"] for t in body["targets"]] == ["year"]
    assert body["months"][4] == {"month": "2026-05-01", "value": "92.00", "source": "year"}
    cleared = put(client, RVR, {"store_id": store_a.pk, "period_kind": "year", "period_start": "2026-01-01",
                                "value": None})
    assert cleared.status_code == 204 and not KpiTarget.objects.exists()


@pytest.mark.parametrize(
    "code, body, field",
    [
        ("followups.nothing", {}, "code"),
        (RVR, {"value": "101"}, "value"),
        (RVR, {"value": "abc"}, "value"),
        (RVR, {"period_start": "2026-05-07"}, "period_start"),
        (RVR, {"period_kind": "week"}, "period_kind"),
        ("followups.calls_made", {}, "code"),
    ],
)
def test_it_answers_422_naming_the_field(store_a, manager, code, body, field):
    payload = {"store_id": store_a.pk, "period_kind": "month", "period_start": "2026-05-01", "value": "95", **body}
    r = put(api(manager), code, payload)
    assert r.status_code == 422, r.content
    assert any(field in key for key in r.json()["errors"]), r.json()


def test_it_lets_only_managers_set_targets(store_a, users):
    payload = {"store_id": store_a.pk, "period_kind": "month", "period_start": "2026-05-01", "value": "95"}
    for role in (Role.CS_SPECIALIST, Role.SUPERVISOR, Role.DEPARTMENT_DESIGNEE, Role.RENEWAL_SPECIALIST):
        assert put(api(users[role]), RVR, payload).status_code == 403
    for role in (Role.CS_MANAGER, Role.STORE_MANAGER, Role.GROUP_ADMIN):
        assert put(api(users[role]), RVR, payload).status_code == 200


def test_it_answers_404_for_another_stores_targets(store_a, store_b, manager):
    target(store_b, RVR, "month", dt.date(2026, 5, 1), "50", note=CANARY)
    client = api(manager)
    payload = {"store_id": store_b.pk, "period_kind": "month", "period_start": "2026-05-01", "value": "95"}
    assert put(client, RVR, payload).status_code == 404
    assert client.get(f"/api/kpis/{RVR}/targets", {"store_id": store_b.pk}).status_code == 404
    assert client.get("/api/kpis", {"store_id": store_b.pk}).status_code == 404
    mine = client.get(f"/api/kpis/{RVR}/targets", {"year": 2026})
    assert mine.status_code == 200 and mine.json()["targets"] == [] and CANARY not in mine.content.decode()
    assert client.get("/api/kpis/followups.nothing/targets").status_code == 404
    assert KpiTarget.objects.get().value == Decimal(50)


# ---- page -----------------------------------------------------------------------------------------------------------


@time_machine.travel(NOON_MAY, tick=False)
def test_it_shows_the_catalogue_and_the_stores_targets(store_a, store_b, manager, specialist):
    target(store_a, RVR, "quarter", dt.date(2026, 4, 1), "93")
    target(store_b, RVR, "month", dt.date(2026, 5, 1), "50", note=CANARY)
    client = page(manager)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/kpis/")
    assert r.status_code == 200
    html = r.content.decode()
    assert len(ctx) <= 12
    for text in ("KPI catalogue", "Return-visit rate", RVR, FTF, "higher is better", "Targets of A01 in 2026",
                 "93.00", "quarter", 'name="t-followups-return_visit_rate-month_05"'):
        assert text in html, text
    assert CANARY not in html
    read_only = page(specialist).get("/kpis/").content.decode()
    assert "93.00" in read_only and 'name="t-followups-return_visit_rate-month_05"' not in read_only
    assert page(manager).get("/kpis/", {"store": store_b.pk}).status_code == 404
    assert page(manager).get("/kpis/", {"year": "abc"}).status_code == 200


def _row(store, measure_code, year=2026, **cells):
    prefix = "t-" + measure_code.replace(".", "-")
    data = {"store": store.pk, "year": year, "measure": measure_code}
    data.update({f"{prefix}-{k}": v for k, v in cells.items()})
    return data


def test_it_saves_a_years_row_of_targets_from_the_page(store_a, manager):
    r = page(manager).post("/kpis/", _row(store_a, RVR, month_03="96", year_value="94"))
    assert r.status_code == 302
    got = {(t.period_kind, t.period_start): t.value for t in KpiTarget.objects.all()}
    assert got == {("month", dt.date(2026, 3, 1)): Decimal(96), ("year", dt.date(2026, 1, 1)): Decimal(94)}
    page(manager).post("/kpis/", _row(store_a, RVR, year_value="94"))  # March emptied: cleared
    assert list(KpiTarget.objects.values_list("period_kind", flat=True)) == ["year"]


def test_it_shows_a_form_error_naming_the_field(store_a, manager):
    r = page(manager).post("/kpis/", _row(store_a, RVR, month_03="150"))
    html = r.content.decode()
    assert r.status_code == 200 and "is-invalid" in html and "2026-03:" in html and "100" in html
    assert not KpiTarget.objects.exists()
    r = page(manager).post("/kpis/", _row(store_a, RVR, year="20x6", month_03="50"))
    assert r.status_code == 200 and "is-invalid" in r.content.decode() and not KpiTarget.objects.exists()
    r = page(manager).post("/kpis/", _row(store_a, "followups.nothing", month_03="50"))
    assert r.status_code == 200 and 'id="kpi-measure-error"' in r.content.decode()


def test_it_refuses_page_writes_without_the_permission_or_for_another_store(store_a, store_b, users, manager):
    assert page(users[Role.CS_SPECIALIST]).post("/kpis/", _row(store_a, RVR, month_03="96")).status_code == 403
    assert page(manager).post("/kpis/", _row(store_b, RVR, month_03="96")).status_code == 404
    assert not KpiTarget.objects.exists()
