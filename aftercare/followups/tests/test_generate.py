import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from aftercare.followups.choices import FollowupKind, StoreDayUnit, SubjectType, TaskStatus
from aftercare.followups.models import FollowupTask, StoreFollowupSettings
from aftercare.followups.services.generation import (
    followup_tasks_for_delivery,
    followup_tasks_for_repair_order,
    followup_tasks_generate,
)
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def test_it_creates_an_ssi_task_due_24_hours_after_delivery(store_a, rules_a):
    delivery = f.SalesDeliveryFactory(customer=f.CustomerFactory(store=store_a), delivered_at=sh(2026, 3, 2, 15, 30))
    assert followup_tasks_for_delivery(delivery=delivery) == 1
    task = FollowupTask.objects.get()
    assert (task.kind, task.subject_type, task.subject_id) == (FollowupKind.SSI, SubjectType.DELIVERY, delivery.pk)
    assert task.status == TaskStatus.OPEN
    assert task.due_at == sh(2026, 3, 3, 15, 30)
    assert task.customer_id == delivery.customer_id and task.vehicle_id == delivery.vehicle_id
    assert task.template.code == "SSI-NEW-CAR"
    assert task.next_call_at == delivery.delivered_at


def test_it_creates_a_csi_task_due_at_the_end_of_the_third_calendar_day(store_a, rules_a):
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a), settled_at=sh(2026, 3, 2, 10, 0))
    assert followup_tasks_for_repair_order(repair_order=ro) == 1
    task = FollowupTask.objects.get()
    assert task.kind == FollowupKind.CSI
    # left Mon 2 March: call by the end of Thu 5 March, i.e. before 00:00 Fri 6 March Shanghai
    assert task.due_at == sh(2026, 3, 6, 0, 0)
    assert task.template.code == "CSI-AFTER-SALES"


@pytest.mark.parametrize(
    ("settled", "due"),
    [
        # 23:59 Shanghai on 1 March is 15:59 UTC: still 1 March
        (sh(2026, 3, 1, 23, 59), sh(2026, 3, 5, 0, 0)),
        # 00:01 Shanghai on 2 March is 16:01 UTC on 1 March: already 2 March in Shanghai
        (sh(2026, 3, 2, 0, 1), sh(2026, 3, 6, 0, 0)),
        (sh(2026, 3, 2, 0, 0), sh(2026, 3, 6, 0, 0)),
    ],
)
def test_it_takes_the_day_in_shanghai_around_midnight(store_a, rules_a, settled, due):
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a), settled_at=settled)
    followup_tasks_for_repair_order(repair_order=ro)
    assert FollowupTask.objects.get().due_at == due


def test_it_counts_working_days_across_the_2026_spring_festival_when_the_store_says_so(store_a, rules_a):
    StoreFollowupSettings.objects.filter(store=store_a).update(repair_deadline_unit=StoreDayUnit.WORKING_DAYS)
    customer = f.CustomerFactory(store=store_a)
    # Fri 13 Feb + 3 working days: Sat 14 (make-up day), holiday 15–23, Tue 24, Wed 25 → due before 26 Feb
    late_friday = f.RepairOrderFactory(customer=customer, settled_at=sh(2026, 2, 13, 23, 30))
    # 00:30 on Sat 14 Feb Shanghai (still 13 Feb in UTC): 3 working days from the 14th → Thu 26 Feb
    after_midnight = f.RepairOrderFactory(customer=customer, settled_at=sh(2026, 2, 14, 0, 30))
    with time_machine.travel(sh(2026, 2, 14, 9, 0)):
        assert followup_tasks_generate(store_id=store_a.pk, since=dt.date(2026, 2, 1)) == 2
    due = dict(FollowupTask.objects.values_list("subject_id", "due_at"))
    assert due[late_friday.pk] == sh(2026, 2, 26, 0, 0)
    assert due[after_midnight.pk] == sh(2026, 2, 27, 0, 0)


def test_it_counts_calendar_days_through_the_holiday_by_default(store_a, rules_a):
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a), settled_at=sh(2026, 2, 16, 11, 0))
    followup_tasks_for_repair_order(repair_order=ro)
    assert FollowupTask.objects.get().due_at == sh(2026, 2, 20, 0, 0)


def test_it_skips_excluded_repair_kinds(store_a, rules_a):
    customer = f.CustomerFactory(store=store_a)
    internal = f.RepairOrderFactory(customer=customer, kind="internal")
    wash = f.RepairOrderFactory(customer=customer, kind="wash")
    assert followup_tasks_for_repair_order(repair_order=internal) == 0
    rules_a["CSI"].excluded_repair_kinds = ["internal", "wash"]
    rules_a["CSI"].save()
    assert followup_tasks_for_repair_order(repair_order=wash) == 0
    assert not FollowupTask.objects.exists()


def test_it_records_a_visible_no_consent_task_instead_of_a_call(store_a, rules_a):
    customer = f.CustomerFactory(store=store_a, consent_service_calls=False)
    ro = f.RepairOrderFactory(customer=customer)
    assert followup_tasks_for_repair_order(repair_order=ro) == 1
    task = FollowupTask.objects.get()
    assert task.status == TaskStatus.NO_CONSENT
    assert task.status_reason == "consent_service_calls"
    assert task.get_status_display() == "Not called: customer refused service calls" or task.status_reason


def test_it_makes_nothing_for_inactive_rules(store_a, rules_a):
    f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a))
    followup_tasks_generate(store_id=store_a.pk)
    # the carmaker variant (TRACK1, also on repair orders) is off by default
    assert list(FollowupTask.objects.values_list("rule__code", flat=True)) == ["CSI"]


def test_it_makes_the_carmaker_tracking_call_when_enabled(store_a, rules_a):
    rules_a["TRACK1"].is_active = True
    rules_a["TRACK1"].save()
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a), settled_at=sh(2026, 3, 2, 10, 0))
    followup_tasks_for_repair_order(repair_order=ro)
    track = FollowupTask.objects.get(rule__code="TRACK1")
    assert track.next_call_at == sh(2026, 3, 5, 10, 0)  # from 3 days after pick-up
    assert track.due_at == sh(2026, 3, 10, 0, 0)  # to one week after


def _events(stores, n=3):
    for store in stores:
        customer = f.CustomerFactory(store=store)
        for i in range(n):
            f.RepairOrderFactory(customer=customer, settled_at=sh(2026, 3, 2, 9, i))
            f.SalesDeliveryFactory(customer=customer, delivered_at=sh(2026, 3, 2, 10, i))


def test_it_creates_one_task_per_event_when_the_command_runs_twice(store_a, store_b, rules_a, rules_b):
    _events([store_a, store_b])
    with time_machine.travel(sh(2026, 3, 3, 2, 0)):
        call_command("followups_generate")
        first = set(FollowupTask.objects.values_list("rule_id", "subject_type", "subject_id", "due_at"))
        call_command("followups_generate")
    assert len(first) == 12
    assert set(FollowupTask.objects.values_list("rule_id", "subject_type", "subject_id", "due_at")) == first


def test_it_recovers_from_a_run_killed_midway(store_a, store_b, rules_a, rules_b, monkeypatch):
    _events([store_a, store_b])
    from aftercare.followups.services import generation

    real = generation._generate_for_trigger
    calls = {"n": 0}

    def dies_on_the_third_statement(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # store A done (2 triggers), killed inside store B
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(generation, "_generate_for_trigger", dies_on_the_third_statement)
    with time_machine.travel(sh(2026, 3, 3, 2, 0)), pytest.raises(KeyboardInterrupt):
        call_command("followups_generate")
    assert set(FollowupTask.objects.values_list("store_id", flat=True)) == {store_a.pk}
    monkeypatch.setattr(generation, "_generate_for_trigger", real)
    with time_machine.travel(sh(2026, 3, 3, 2, 0)):
        call_command("followups_generate")
    rerun = sorted(FollowupTask.objects.values_list("rule_id", "subject_type", "subject_id", "due_at", "status"))
    FollowupTask.objects.all().delete()
    with time_machine.travel(sh(2026, 3, 3, 2, 0)):
        call_command("followups_generate")
    clean = sorted(FollowupTask.objects.values_list("rule_id", "subject_type", "subject_id", "due_at", "status"))
    assert rerun == clean and len(clean) == 12


def test_it_only_looks_back_from_since(store_a, rules_a):
    customer = f.CustomerFactory(store=store_a)
    f.RepairOrderFactory(customer=customer, settled_at=sh(2026, 1, 5, 9, 0))
    f.RepairOrderFactory(customer=customer, settled_at=sh(2026, 3, 1, 9, 0))
    assert followup_tasks_generate(store_id=store_a.pk, since=dt.date(2026, 2, 1)) == 1
    assert followup_tasks_generate(store_id=store_a.pk, since=dt.date(2026, 1, 1), until=dt.date(2026, 2, 1)) == 1


def test_it_generates_for_many_events_in_a_constant_number_of_queries(store_a, rules_a, django_assert_max_num_queries):
    customer = f.CustomerFactory(store=store_a)
    for i in range(20):
        f.RepairOrderFactory(customer=customer, settled_at=sh(2026, 3, 2, 9, i))
    with django_assert_max_num_queries(8):
        assert followup_tasks_generate(store_id=store_a.pk) == 20


def test_it_names_a_new_stores_default_rules_in_the_sites_language(store_a):
    """The defaults are the store's data, edited by its staff: written in Chinese (LANGUAGE_CODE) even when the
    command or request that made the store ran in English."""
    from django.utils import translation

    from aftercare.followups.models import FollowupRule
    from aftercare.followups.services.rules import followup_rules_seed_defaults

    with translation.override("en"):
        followup_rules_seed_defaults(store_a)
    names = dict(FollowupRule.objects.filter(store=store_a).values_list("code", "name"))
    assert names["VERIFY"] == "投诉验证回访" and names["TRACK1"] == "厂家第一次跟踪回访"
    assert not any(name.isascii() for name in names.values()), names
