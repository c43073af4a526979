"""The daily run: cases per policy and per estimated expiry, segments, matching imported renewals, lapses and
contacts due — each idempotent."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from aftercare.followups.choices import TaskStatus
from aftercare.followups.models import FollowupTask
from aftercare.renewals.choices import CaseState, Segment
from aftercare.renewals.models import RenewalCase, RenewalContact
from aftercare.renewals.services.generation import (
    renewal_cases_generate,
    renewal_cases_lapse,
    renewal_cases_match_renewals,
    renewal_contacts_plan,
    renewals_daily,
)
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)  # 45 days before 2026-12-31


def test_it_makes_one_case_per_policy_in_the_window_and_nothing_twice(store_a, policy_due):
    other = f.CustomerFactory(store=store_a)
    later = f.InsurancePolicyFactory(store=store_a, customer=other, vehicle=f.owned_vehicle(other),
                                     expiry_date=dt.date(2027, 6, 30), start_date=dt.date(2026, 7, 1))
    assert renewal_cases_generate(store_id=store_a.pk, today=TODAY, estimated=False) == 1
    assert renewal_cases_generate(store_id=store_a.pk, today=TODAY, estimated=False) == 0
    case = RenewalCase.objects.get()
    assert case.policy == policy_due and case.expiry_date == dt.date(2026, 12, 31)
    assert case.segment == Segment.NEW_CAR_FIRST and not case.expiry_estimated
    assert case.customer_id == policy_due.customer_id and case.previous_premium == Decimal("5200.00")
    assert not RenewalCase.objects.filter(policy=later).exists()


def test_it_estimates_the_expiry_of_a_vehicle_serviced_here_without_a_policy(store_a):
    customer = f.CustomerFactory(store=store_a)
    vehicle = f.owned_vehicle(customer, delivery_date=dt.date(2023, 12, 20))
    f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle,
                         settled_at=timezone.make_aware(dt.datetime(2026, 5, 1, 10)))
    renewal_cases_generate(store_id=store_a.pk, today=TODAY)
    case = RenewalCase.objects.get()
    assert case.expiry_estimated and case.expiry_date == dt.date(2026, 12, 19)
    assert case.segment == Segment.INSURED_ELSEWHERE


def test_it_segments_lapsed_vehicles_by_whether_they_came_back(store_a):
    returned = f.CustomerFactory(store=store_a)
    v1 = f.owned_vehicle(returned)
    f.InsurancePolicyFactory(store=store_a, customer=returned, vehicle=v1, start_date=dt.date(2024, 12, 10),
                             expiry_date=dt.date(2025, 12, 9), kind="renewal")
    f.RepairOrderFactory(store=store_a, customer=returned, vehicle=v1,
                         settled_at=timezone.make_aware(dt.datetime(2026, 9, 1, 10)))
    lost = f.CustomerFactory(store=store_a)
    v2 = f.owned_vehicle(lost)
    f.InsurancePolicyFactory(store=store_a, customer=lost, vehicle=v2, start_date=dt.date(2023, 12, 10),
                             expiry_date=dt.date(2024, 12, 9), kind="renewal")
    gone = f.CustomerFactory(store=store_a)  # lapsed four years, never back: no case
    v3 = f.owned_vehicle(gone)
    f.InsurancePolicyFactory(store=store_a, customer=gone, vehicle=v3, start_date=dt.date(2021, 12, 10),
                             expiry_date=dt.date(2022, 12, 9), kind="renewal")
    renewal_cases_generate(store_id=store_a.pk, today=TODAY)
    cases = {c.vehicle_id: c for c in RenewalCase.objects.all()}
    assert cases[v1.pk].segment == Segment.LAPSED_RETURNED and cases[v1.pk].expiry_date == dt.date(2026, 12, 9)
    assert cases[v2.pk].segment == Segment.LAPSED_LOST and cases[v2.pk].expiry_date == dt.date(2026, 12, 9)
    assert v3.pk not in cases


def test_an_imported_renewal_closes_the_case_and_keeps_the_recorded_outcome(store_a, policy_due):
    renewal_cases_generate(store_id=store_a.pk, today=TODAY, estimated=False)
    RenewalCase.objects.update(outcome="not_renewed", outcome_reason="price", state=CaseState.NOT_RENEWED)
    new = f.InsurancePolicyFactory(store=store_a, customer=policy_due.customer, vehicle=policy_due.vehicle,
                                   start_date=dt.date(2027, 1, 1), expiry_date=dt.date(2027, 12, 31), kind="renewal")
    assert renewal_cases_match_renewals(store_id=store_a.pk) == 1
    assert renewal_cases_match_renewals(store_id=store_a.pk) == 0
    case = RenewalCase.objects.get(policy=policy_due)
    assert case.state == CaseState.RENEWED_HERE and case.renewed_policy == new
    assert case.outcome == "not_renewed" and case.outcome_reason == "price"


def test_open_cases_lapse_after_the_chase_and_their_calls_are_cancelled(store_a, policy_due):
    with time_machine.travel(dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)):
        renewals_daily(store_id=store_a.pk, today=TODAY)
    task = FollowupTask.objects.get()
    assert renewal_cases_lapse(store_id=store_a.pk, today=dt.date(2027, 1, 30)) == 0
    assert renewal_cases_lapse(store_id=store_a.pk, today=dt.date(2027, 1, 31)) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED


@time_machine.travel(dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC))
def test_the_first_contact_is_due_45_days_before_expiry_as_a_renewal_task(store_a, policy_due):
    renewal_cases_generate(store_id=store_a.pk, today=TODAY - dt.timedelta(days=1))
    assert renewal_contacts_plan(store_id=store_a.pk, today=TODAY - dt.timedelta(days=1)) == 0
    assert renewal_contacts_plan(store_id=store_a.pk, today=TODAY) == 1
    assert renewal_contacts_plan(store_id=store_a.pk, today=TODAY) == 0
    contact = RenewalContact.objects.get()
    assert contact.number == 1 and contact.due_on == TODAY
    assert contact.task.kind == "renewal" and contact.task.status == TaskStatus.OPEN
    assert contact.task.subject_type == "renewal_contact" and contact.task.subject_id == contact.pk


def test_a_policy_import_makes_cases_and_its_renewals_close_them(tmp_path, store_a, policy_due):
    from aftercare.dms.services import import_file
    from aftercare.dms.tests.helpers import write_csv

    header = ["保单号", "VIN", "客户姓名", "联系电话", "保险公司", "起保日期", "到期日期", "保费", "投保类型"]
    vin = policy_due.vehicle.vin
    customer = policy_due.customer
    with time_machine.travel(dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC), tick=False):
        renewal_cases_generate(store_id=store_a.pk, estimated=False)
        case = RenewalCase.objects.get()
        rows = [["PDAA2027001", vin, customer.name, customer.mobile, "平安保险", "2027-01-01", "2027-12-31",
                 "4,980.00", "续保"]]
        import_file(actor=None, store=store_a, kind="policies", path=write_csv(tmp_path / "p.csv", header, rows))
    case.refresh_from_db()
    assert case.state == CaseState.RENEWED_HERE
    assert case.renewed_policy.policy_number == "PDAA2027001" and case.renewed_policy.premium == Decimal("4980.00")
