"""A specialist's work on a case: claim, contacts (calls in the one call log), outcome; a manager assigns."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from aftercare.followups.choices import TaskStatus
from aftercare.followups.models import CallLog, FollowupTask
from aftercare.followups.services.claiming import followup_task_claim
from aftercare.org.choices import Role
from aftercare.renewals.choices import CaseState
from aftercare.renewals.models import RenewalCase, RenewalContact, RenewalGift
from aftercare.renewals.services.generation import renewals_daily
from aftercare.renewals.services.work import (
    CaseAlreadyClaimed,
    renewal_case_assign,
    renewal_case_claim,
    renewal_case_release,
    renewal_contact_record,
    renewal_outcome_record,
)
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)  # 10:00 Shanghai, 45 days before 2026-12-31


@pytest.fixture
def case(store_a, policy_due):
    with time_machine.travel(NOW, tick=False):
        renewals_daily(store_id=store_a.pk, today=dt.date(2026, 11, 16))
    return RenewalCase.objects.get()


@pytest.fixture
def second_renewal_user(store_a):
    user = f.UserFactory(username="renewal_a2")
    f.StaffFactory(user=user, group=store_a.group, role=Role.RENEWAL_SPECIALIST, stores=[store_a])
    return user


@time_machine.travel(NOW, tick=False)
def test_it_claims_a_case_with_its_call_and_one_claimer_wins(case, renewal_user, second_renewal_user):
    renewal_case_claim(actor=renewal_user, case=case)
    task = FollowupTask.objects.get()
    assert task.status == TaskStatus.CLAIMED and task.claimed_by == renewal_user
    with pytest.raises(CaseAlreadyClaimed):
        renewal_case_claim(actor=second_renewal_user, case=RenewalCase.objects.get())
    renewal_case_release(actor=renewal_user, case=RenewalCase.objects.get())
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and RenewalCase.objects.get().holder is None


@time_machine.travel(NOW, tick=False)
def test_a_renewal_call_claimed_in_the_queue_gives_the_case_its_holder(case, renewal_user, second_renewal_user):
    task = FollowupTask.objects.get()
    followup_task_claim(actor=renewal_user, task_id=task.pk)
    assert RenewalCase.objects.get().holder == renewal_user
    with pytest.raises(CaseAlreadyClaimed):
        renewal_case_claim(actor=second_renewal_user, case=RenewalCase.objects.get())


@time_machine.travel(NOW, tick=False)
def test_an_unanswered_call_is_an_attempt_and_an_answered_one_an_effective_contact(case, renewal_user, store_a):
    gift = RenewalGift.objects.create(store=store_a, name="洗车券×5", cost=Decimal("100.00"))
    case = renewal_case_claim(actor=renewal_user, case=case)
    contact = renewal_contact_record(actor=renewal_user, case=case, result="no_answer")
    assert not contact.effective and RenewalCase.objects.get().contacts_made == 0
    contact = renewal_contact_record(
        actor=renewal_user, case=case, result="interested", quote_insurer="平安保险",
        quote_premium=Decimal("4800.00"), quote_discount=Decimal("15"), gift=gift, next_step="周五回电确认",
    )
    case = RenewalCase.objects.get()
    assert contact.number == 1 and contact.effective and contact.gift_cost == Decimal("100.00")
    assert case.contacts_made == 1 and case.attempts == 2
    calls = CallLog.objects.filter(task=contact.task).order_by("pk")
    assert [c.outcome for c in calls] == ["no_answer", "completed"]  # every call in the one call log
    assert FollowupTask.objects.get().status == TaskStatus.COMPLETED


@time_machine.travel(NOW, tick=False)
def test_a_contact_needs_the_case_held_and_a_quote_needs_an_answer(case, renewal_user):
    with pytest.raises(ValidationError) as e:
        renewal_contact_record(actor=renewal_user, case=case, result="interested")
    assert "case" in e.value.message_dict
    renewal_case_claim(actor=renewal_user, case=case)
    with pytest.raises(ValidationError) as e:
        renewal_contact_record(actor=renewal_user, case=case, result="no_answer", quote_insurer="平安保险")
    assert "result" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        renewal_contact_record(actor=renewal_user, case=case, result="maybe")
    assert "result" in e.value.message_dict


@time_machine.travel(NOW, tick=False)
def test_it_allows_the_stores_number_of_contacts_then_asks_for_the_outcome(case, renewal_user):
    renewal_case_claim(actor=renewal_user, case=case)
    for _ in range(4):  # contacts ahead of their due days are made on the spot
        renewal_contact_record(actor=renewal_user, case=case, result="thinking")
    assert list(RenewalContact.objects.values_list("number", flat=True)) == [1, 2, 3, 4]
    with pytest.raises(ValidationError) as e:
        renewal_contact_record(actor=renewal_user, case=case, result="thinking")
    assert "case" in e.value.message_dict


@time_machine.travel(NOW, tick=False)
def test_it_records_outcomes_with_what_each_needs(case, renewal_user):
    renewal_case_claim(actor=renewal_user, case=case)
    with pytest.raises(ValidationError) as e:
        renewal_outcome_record(actor=renewal_user, case=case, outcome="renewed_here", insurer="人保")
    assert set(e.value.message_dict) == {"premium", "policy_number"}
    with pytest.raises(ValidationError) as e:
        renewal_outcome_record(actor=renewal_user, case=case, outcome="not_renewed", reason="other")
    assert set(e.value.message_dict) == {"reason_text"}
    renewal_outcome_record(actor=renewal_user, case=case, outcome="not_renewed", reason="price")
    case = RenewalCase.objects.get()
    assert case.state == CaseState.NOT_RENEWED and case.outcome_reason == "price" and case.closed_at
    assert FollowupTask.objects.get().status == TaskStatus.CANCELLED


@time_machine.travel(NOW, tick=False)
def test_a_manager_assigns_a_case_to_a_renewal_worker_only(case, users, renewal_user):
    manager = users[Role.CS_MANAGER]
    with pytest.raises(PermissionDenied):
        renewal_case_assign(actor=renewal_user, case=case, to_user=renewal_user)
    with pytest.raises(ValidationError):
        renewal_case_assign(actor=manager, case=case, to_user=users[Role.DEPARTMENT_DESIGNEE])
    renewal_case_assign(actor=manager, case=case, to_user=renewal_user)
    assert RenewalCase.objects.get().holder == renewal_user
    assert FollowupTask.objects.get().claimed_by == renewal_user


def test_roles_without_renewal_work_may_not_touch_cases(case, users):
    with pytest.raises(PermissionDenied):
        renewal_case_claim(actor=users[Role.CS_SPECIALIST], case=case)


@time_machine.travel(NOW, tick=False)
def test_a_renewal_sold_here_goes_on_file_and_an_import_of_its_number_updates_it(case, renewal_user, store_a):
    from aftercare.customers.models import InsurancePolicy
    from aftercare.renewals.services.generation import renewal_cases_match_renewals

    renewal_case_claim(actor=renewal_user, case=case)
    renewal_outcome_record(actor=renewal_user, case=case, outcome="renewed_here", insurer="平安保险",
                           premium=Decimal("4980.00"), policy_number="PDAA2027000001")
    case = RenewalCase.objects.get()
    policy = InsurancePolicy.objects.get(policy_number="PDAA2027000001")
    assert case.state == CaseState.RENEWED_HERE and case.renewed_policy == policy
    assert (policy.kind, policy.start_date, policy.expiry_date, policy.premium) == (
        "renewal", dt.date(2027, 1, 1), dt.date(2027, 12, 31), Decimal("4980.00"))
    assert renewal_cases_match_renewals(store_id=store_a.pk) == 0  # already linked: nothing twice


@time_machine.travel(NOW, tick=False)
def test_a_policy_number_on_file_for_another_vehicle_is_refused(case, renewal_user, store_a):
    other = f.CustomerFactory(store=store_a)
    f.InsurancePolicyFactory(store=store_a, customer=other, vehicle=f.owned_vehicle(other), policy_number="TAKEN1")
    renewal_case_claim(actor=renewal_user, case=case)
    with pytest.raises(ValidationError) as e:
        renewal_outcome_record(actor=renewal_user, case=case, outcome="renewed_here", insurer="平安保险",
                               premium=Decimal("4980.00"), policy_number="TAKEN1")
    assert "policy_number" in e.value.message_dict
    assert RenewalCase.objects.get().state == CaseState.OPEN


def test_the_import_of_a_renewal_sold_here_updates_its_policy_and_keeps_the_case(tmp_path, case, renewal_user, store_a):
    from aftercare.customers.models import InsurancePolicy
    from aftercare.dms.services import import_file
    from aftercare.dms.tests.helpers import write_csv

    with time_machine.travel(NOW, tick=False):
        renewal_case_claim(actor=renewal_user, case=case)
        renewal_outcome_record(actor=renewal_user, case=case, outcome="renewed_here", insurer="平安保险",
                               premium=Decimal("4980.00"), policy_number="PDAA2027000002")
        header = ["保单号", "VIN", "客户姓名", "联系电话", "保险公司", "起保日期", "到期日期", "保费", "投保类型"]
        customer = case.customer
        rows = [["PDAA2027000002", case.vehicle.vin, customer.name, customer.mobile, "平安保险", "2027-01-01",
                 "2027-12-31", "5,020.00", "续保"]]
        import_file(actor=None, store=store_a, kind="policies", path=write_csv(tmp_path / "p.csv", header, rows))
    policy = InsurancePolicy.objects.get(policy_number="PDAA2027000002")
    case = RenewalCase.objects.get()
    assert policy.premium == Decimal("5020.00") and InsurancePolicy.objects.filter(kind="renewal").count() == 1
    assert case.renewed_policy == policy and case.state == CaseState.RENEWED_HERE
    assert case.outcome_premium == Decimal("4980.00")  # what the specialist recorded stays beside it
