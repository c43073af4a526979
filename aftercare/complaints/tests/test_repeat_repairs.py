"""First-time fix: repeat repairs of the same fault within the store's window, and their CS follow-up calls."""

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftercare.complaints.models import ComplaintSettings, RepeatRepair
from aftercare.complaints.services import first_time_fix
from aftercare.complaints.services.first_time_fix import fault_key, repeat_repairs_detect
from aftercare.complaints.tasks import repeat_repairs_detect_daily
from aftercare.core.models import AuditEvent
from aftercare.followups.models import FollowupRule, FollowupTask
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def sh(*a):
    return dt.datetime(*a, tzinfo=SH)


def ro(customer, vehicle, at, fault="发动机异响", kind="mechanical", **kw):
    return f.RepairOrderFactory(
        store=customer.store, customer=customer, vehicle=vehicle, settled_at=at, kind=kind, fault_description=fault,
        **kw,
    )


@pytest.fixture
def car(store_a):
    customer = f.CustomerFactory(store=store_a)
    return customer, f.owned_vehicle(customer)


def pairs(store=None):
    qs = RepeatRepair.objects.all() if store is None else RepeatRepair.objects.filter(store=store)
    return sorted(qs.values_list("original__ro_number", "repeat__ro_number"))


def test_it_normalises_fault_descriptions():
    assert fault_key(" 发动机 异响！") == fault_key("发动机异响") == "发动机异响"
    assert fault_key("ＡＢＳ灯亮。（仪表）") == "abs灯亮仪表"  # full-width → half-width, lower case, no punctuation
    assert fault_key("A/C 不制冷, 出风口【异味】") == "ac不制冷出风口异味"
    assert fault_key("") == fault_key(None) == fault_key(" ，。、 ") == ""
    assert len(fault_key("响" * 500)) == 200


@time_machine.travel(sh(2026, 3, 21, 9, 0), tick=False)
def test_it_pairs_a_comeback_of_the_same_fault_and_plans_a_call(store_a, car):
    customer, vehicle = car
    first = ro(customer, vehicle, sh(2026, 3, 2, 10, 0), "发动机异响", ro_number="R1")
    again = ro(customer, vehicle, sh(2026, 3, 20, 15, 0), "发动机 异响。", kind="warranty_claim", ro_number="R2")

    assert repeat_repairs_detect() == 1

    pair = RepeatRepair.objects.get()
    assert (pair.store, pair.original, pair.repeat, pair.vehicle, pair.customer, pair.fault_key) == (
        store_a, first, again, vehicle, customer, "发动机异响"
    )
    task = pair.followup_task
    assert task is not None
    assert (task.store, task.rule.code, task.kind, task.subject_type, task.subject_id) == (
        store_a, "FTF", "repeat_repair", "repeat_repair", again.pk
    )
    assert (task.customer, task.vehicle, task.event_at, task.status) == (customer, vehicle, again.settled_at, "open")
    # FTF rule: 2 working days after Fri 20 March → Tue 24 March, due before Wed 25 March 00:00 Shanghai
    assert task.due_at == sh(2026, 3, 25)
    assert AuditEvent.objects.filter(object_type="complaints.repeatrepair", store=store_a).count() == 1


def test_it_counts_the_window_in_shanghai_days_as_the_store_configures_it(store_a, car):
    customer, vehicle = car
    ro(customer, vehicle, sh(2026, 3, 2, 23, 30), ro_number="R1")  # 2 March (15:30 UTC)
    ro(customer, vehicle, sh(2026, 4, 1, 23, 59), ro_number="R2")  # 30 days later: inside
    other = f.owned_vehicle(customer)
    ro(customer, other, sh(2026, 3, 2, 8, 0), "刹车异响", ro_number="S1")
    ro(customer, other, sh(2026, 4, 2, 0, 0), "刹车异响", ro_number="S2")  # 31 days later: outside
    with time_machine.travel(sh(2026, 4, 3, 9, 0), tick=False):
        assert repeat_repairs_detect() == 1
    assert pairs() == [("R1", "R2")]

    RepeatRepair.objects.all().delete()
    FollowupTask.objects.all().delete()
    ComplaintSettings.objects.create(store=store_a, repeat_repair_window_days=7)
    ro(customer, vehicle, sh(2026, 4, 8, 10, 0), ro_number="R3")  # 7 days after R2: inside a 7-day window
    with time_machine.travel(sh(2026, 4, 9, 9, 0), tick=False):
        assert repeat_repairs_detect() == 1
    assert pairs() == [("R2", "R3")]


@time_machine.travel(sh(2026, 3, 21, 9, 0), tick=False)
def test_it_never_pairs_another_fault_vehicle_kind_or_an_empty_description(store_a, car):
    customer, vehicle = car
    ro(customer, vehicle, sh(2026, 3, 2, 10), "发动机异响")
    ro(customer, vehicle, sh(2026, 3, 5, 10), "空调不制冷")  # another fault
    ro(customer, f.owned_vehicle(customer), sh(2026, 3, 6, 10), "发动机异响")  # another vehicle
    ro(customer, vehicle, sh(2026, 3, 7, 10), "发动机异响", kind="maintenance")  # maintenance does not count
    ro(customer, vehicle, sh(2026, 3, 8, 10), "发动机异响", kind="insurance_job")
    ro(customer, vehicle, sh(2026, 3, 9, 10), "")
    ro(customer, vehicle, sh(2026, 3, 10, 10), "  。")  # nothing left after normalising
    ro(customer, vehicle, sh(2026, 3, 2, 10), "发动机异响", ro_number="SAME")  # the same instant is the same visit
    assert repeat_repairs_detect() == 0
    assert not RepeatRepair.objects.exists() and not FollowupTask.objects.exists()


@time_machine.travel(sh(2026, 3, 21, 9, 0), tick=False)
def test_it_pairs_each_comeback_with_the_most_recent_earlier_order(store_a, car):
    customer, vehicle = car
    for n, day in enumerate((1, 8, 15), start=1):
        ro(customer, vehicle, sh(2026, 3, day, 10), "异响", kind="body", ro_number=f"R{n}")
    assert repeat_repairs_detect() == 2
    assert pairs() == [("R1", "R2"), ("R2", "R3")]
    # an order imported late, between two known ones: new pairs, but one call per comeback visit
    ro(customer, vehicle, sh(2026, 3, 11, 10), "异响", kind="paint", ro_number="R2b")
    assert repeat_repairs_detect() == 2
    assert pairs() == [("R1", "R2"), ("R2", "R2b"), ("R2", "R3"), ("R2b", "R3")]
    assert FollowupTask.objects.filter(rule__code="FTF").count() == 3  # R2, R2b, R3
    assert not RepeatRepair.objects.filter(followup_task__isnull=True).exists()


@time_machine.travel(sh(2026, 3, 21, 9, 0), tick=False)
def test_it_keeps_stores_apart(store_a, store_b, car, other_store_rows):
    customer, vehicle = car
    ro(customer, vehicle, sh(2026, 3, 2, 10), ro_number="A1")
    # the same vehicle repaired for the same fault in store B: not a comeback to store A
    b_customer = other_store_rows["customer"]
    f.RepairOrderFactory(
        store=store_b, customer=b_customer, vehicle=vehicle, settled_at=sh(2026, 3, 10, 10), kind="mechanical",
        fault_description="发动机异响", ro_number="B0",
    )
    b_vehicle = other_store_rows["vehicle"]
    for n in (1, 2):
        f.RepairOrderFactory(
            store=store_b, customer=b_customer, vehicle=b_vehicle, settled_at=sh(2026, 3, 5 * n, 10),
            kind="mechanical", fault_description="变速箱顿挫", ro_number=f"B{n}",
        )
    assert repeat_repairs_detect(store_id=store_a.pk) == 0
    assert repeat_repairs_detect() == 1
    pair = RepeatRepair.objects.get()
    assert (pair.store, pair.original.ro_number, pair.repeat.ro_number) == (store_b, "B1", "B2")
    assert pair.followup_task.store == store_b and pair.followup_task.rule.store == store_b
    assert not FollowupRule.objects.filter(store=store_a).exists()  # store A had nothing to plan


@time_machine.travel(sh(2026, 3, 21, 9, 0), tick=False)
def test_it_plans_no_call_for_a_customer_who_refused_service_calls(store_a):
    customer = f.CustomerFactory(store=store_a, consent_service_calls=False)
    vehicle = f.owned_vehicle(customer)
    ro(customer, vehicle, sh(2026, 3, 2, 10))
    ro(customer, vehicle, sh(2026, 3, 12, 10))
    assert repeat_repairs_detect() == 1
    task = RepeatRepair.objects.get().followup_task
    assert (task.status, task.status_reason) == ("no_consent", "consent_service_calls")


@time_machine.travel(sh(2026, 3, 21, 9, 0), tick=False)
def test_it_creates_nothing_twice_and_a_crash_leaves_nothing_behind(store_a, car):
    customer, vehicle = car
    ro(customer, vehicle, sh(2026, 3, 2, 10))
    ro(customer, vehicle, sh(2026, 3, 12, 10))
    with mock.patch.object(first_time_fix, "_repeat_repair_tasks_create", side_effect=RuntimeError("killed")):
        with pytest.raises(RuntimeError):
            repeat_repairs_detect()
    assert not RepeatRepair.objects.exists() and not FollowupTask.objects.exists()
    assert repeat_repairs_detect() == 1
    snapshot = (pairs(), list(FollowupTask.objects.values_list("pk", "subject_id", "due_at")))
    assert repeat_repairs_detect() == 0
    call_command("repeat_repairs_detect", "--store", store_a.code)
    assert repeat_repairs_detect_daily.call() == 0
    assert (pairs(), list(FollowupTask.objects.values_list("pk", "subject_id", "due_at"))) == snapshot


def test_it_dates_the_call_across_the_2026_spring_festival(store_a, car):
    customer, vehicle = car
    ro(customer, vehicle, sh(2026, 2, 2, 10))
    ro(customer, vehicle, sh(2026, 2, 13, 16, 30))  # Friday before the holiday
    with time_machine.travel(sh(2026, 2, 14, 9, 0), tick=False):
        assert repeat_repairs_detect() == 1
    # Sat 14 Feb is a make-up workday (1), 15–23 Feb holiday, Tue 24 Feb (2) → due before 25 Feb 00:00 Shanghai
    assert RepeatRepair.objects.get().followup_task.due_at == sh(2026, 2, 25)


def test_it_looks_back_the_window_plus_14_days_by_default(store_a, car):
    customer, vehicle = car
    ro(customer, vehicle, sh(2026, 1, 2, 10), ro_number="OLD1")
    ro(customer, vehicle, sh(2026, 1, 20, 10), ro_number="OLD2")  # repeat settled 45 days before "now"
    with time_machine.travel(sh(2026, 3, 6, 9, 0), tick=False):
        assert repeat_repairs_detect() == 0
        assert repeat_repairs_detect(since=dt.date(2026, 1, 1)) == 1
    assert pairs() == [("OLD1", "OLD2")]


def test_it_reads_a_constant_number_of_queries_per_store(store_a):
    def cars(n, start):
        for i in range(n):
            customer = f.CustomerFactory(store=store_a)
            vehicle = f.owned_vehicle(customer)
            ro(customer, vehicle, sh(2026, 3, 2, 10), f"故障{start + i}")
            ro(customer, vehicle, sh(2026, 3, 12, 10), f"故障{start + i}")

    followup_rules_seed_defaults(store_a)  # the first run would seed the rules: compare like with like
    counts = []
    for n, start in ((2, 0), (12, 100)):
        cars(n, start)
        with time_machine.travel(sh(2026, 3, 21, 9, 0), tick=False), CaptureQueriesContext(connection) as ctx:
            assert repeat_repairs_detect() == n
        counts.append(len(ctx))
    assert counts[0] == counts[1] <= 20, [q["sql"][:120] for q in ctx.captured_queries]


@time_machine.travel(dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC), tick=False)
def test_it_finds_comebacks_in_a_dms_import(tmp_path, store_a, users):
    from aftercare.dms.services import import_file
    from aftercare.dms.tests.helpers import RO_HEADER, ro_row, write_csv

    header = [*RO_HEADER, "故障描述"]
    rows = [
        [*ro_row(3, settled="2026-03-02 10:00:00", kind="机修"), "仪表灯亮"],
        [*ro_row(6, settled="2026-03-18 10:00:00", kind="索赔"), "仪表灯亮！"],  # same VIN (n % 3)
        [*ro_row(9, settled="2026-03-18 11:00:00", kind="保养"), "仪表灯亮"],
    ]
    path = write_csv(tmp_path / "ro.csv", header, rows)
    import_file(actor=users["cs_manager"], store=store_a, kind="repair_orders", path=path)
    assert pairs() == [("RO00003", "RO00006")]
    assert FollowupTask.objects.filter(rule__code="FTF").count() == 1
    import_file(actor=users["cs_manager"], store=store_a, kind="repair_orders", path=path)
    assert RepeatRepair.objects.count() == 1
