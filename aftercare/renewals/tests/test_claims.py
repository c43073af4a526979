"""Claim assistance: opened on a policy sold here (attached to the vehicle's open case), closed by hand, or settled
when an insurance repair order of the vehicle settled on or after the report is imported."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from aftercare.customers.signals import records_imported
from aftercare.org.choices import Role
from aftercare.renewals.choices import ClaimAssistState
from aftercare.renewals.models import ClaimAssist, RenewalCase
from aftercare.renewals.services.claims import claim_assist_close, claim_assist_open, claim_assists_settle
from aftercare.renewals.services.generation import renewal_cases_generate
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db

SH = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC), tick=False):
        yield


def test_it_opens_on_a_policy_sold_here_and_attaches_the_open_case(store_a, policy_due, renewal_user):
    renewal_cases_generate(store_id=store_a.pk, today=dt.date(2026, 11, 16), estimated=False)
    case = RenewalCase.objects.get()
    item = claim_assist_open(actor=renewal_user, policy=policy_due, reported_on=dt.date(2026, 11, 10),
                             description="  追尾  ")
    assert (item.case, item.state, item.description, item.opened_by) == (case, ClaimAssistState.OPEN, "追尾",
                                                                          renewal_user)
    assert item.customer_id == policy_due.customer_id and item.vehicle_id == policy_due.vehicle_id


def test_it_refuses_a_policy_of_another_store_and_bad_days(store_a, store_b, policy_due, renewal_user, users):
    foreign = f.InsurancePolicyFactory(store=store_b, customer=f.CustomerFactory(store=store_b))
    with pytest.raises(PermissionDenied):
        claim_assist_open(actor=renewal_user, policy=foreign, reported_on=dt.date(2026, 1, 5), description="x")
    with pytest.raises(PermissionDenied):
        claim_assist_open(actor=users[Role.CS_SPECIALIST], policy=policy_due, reported_on=dt.date(2026, 11, 1),
                          description="x")
    with pytest.raises(ValidationError) as exc:
        claim_assist_open(actor=renewal_user, policy=policy_due, reported_on=dt.date(2025, 12, 31), description="")
    assert {"reported_on", "description"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        claim_assist_open(actor=renewal_user, policy=policy_due, reported_on=dt.date(2026, 11, 17), description="x")
    assert "reported_on" in exc.value.message_dict
    assert not ClaimAssist.objects.exists()


def test_it_settles_on_the_import_of_an_insurance_repair_order_after_the_report(store_a, policy_due, renewal_user):
    item = claim_assist_open(actor=renewal_user, policy=policy_due, reported_on=dt.date(2026, 11, 10),
                             description="侧面刮擦")
    assert item.case is None  # no case yet: still tracked
    vehicle, customer = policy_due.vehicle, policy_due.customer
    # before the report (Shanghai day 9 November, 23:30) and a maintenance order after it: not the repair
    f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle, kind="insurance_job",
                         settled_at=dt.datetime(2026, 11, 9, 23, 30, tzinfo=SH))
    f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle, kind="maintenance",
                         settled_at=dt.datetime(2026, 11, 11, 10, tzinfo=SH))
    records_imported.send(sender=None, store_id=store_a.pk, kind="repair_orders")
    item.refresh_from_db()
    assert item.state == ClaimAssistState.OPEN
    # 00:10 Shanghai on the report day is still 9 November in UTC: it counts
    repair = f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle, kind="insurance_job",
                                  settled_at=dt.datetime(2026, 11, 10, 0, 10, tzinfo=SH))
    f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle, kind="insurance_job",
                         settled_at=dt.datetime(2026, 11, 14, 10, tzinfo=SH))
    records_imported.send(sender=None, store_id=store_a.pk, kind="repair_orders")
    item.refresh_from_db()
    assert (item.state, item.repair_order) == (ClaimAssistState.SETTLED, repair)
    assert item.settled_at == repair.settled_at
    assert claim_assists_settle(store_id=store_a.pk) == 0  # nothing twice


def test_it_settles_many_items_in_one_statement(store_a, renewal_user, django_assert_max_num_queries):
    items = []
    for _ in range(5):
        customer = f.CustomerFactory(store=store_a)
        vehicle = f.owned_vehicle(customer)
        policy = f.InsurancePolicyFactory(store=store_a, customer=customer, vehicle=vehicle,
                                          start_date=dt.date(2026, 1, 1), expiry_date=dt.date(2026, 12, 31))
        items.append(claim_assist_open(actor=renewal_user, policy=policy, reported_on=dt.date(2026, 11, 1),
                                       description="x"))
        f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle, kind="insurance_job",
                             settled_at=timezone.now())
    with django_assert_max_num_queries(4):  # the savepoint, the UPDATE, the audit event
        assert claim_assists_settle(store_id=store_a.pk) == 5


def test_it_closes_an_open_item_with_a_reason(store_a, policy_due, renewal_user):
    item = claim_assist_open(actor=renewal_user, policy=policy_due, reported_on=dt.date(2026, 11, 10),
                             description="x")
    with pytest.raises(ValidationError):
        claim_assist_close(actor=renewal_user, item=item, reason=" ")
    claim_assist_close(actor=renewal_user, item=item, reason="客户在外修理")
    assert item.state == ClaimAssistState.CLOSED
    with pytest.raises(ValidationError):
        claim_assist_close(actor=renewal_user, item=item, reason="again")
    records_imported.send(sender=None, store_id=store_a.pk, kind="repair_orders")
    item.refresh_from_db()
    assert item.state == ClaimAssistState.CLOSED


def test_a_repair_order_import_settles_the_claim_assistance(tmp_path, store_a, policy_due, renewal_user):
    from aftercare.dms.services import import_file
    from aftercare.dms.tests.helpers import RO_HEADER, write_csv

    item = claim_assist_open(actor=renewal_user, policy=policy_due, reported_on=dt.date(2026, 11, 10),
                             description="追尾")
    vehicle, customer = policy_due.vehicle, policy_due.customer
    rows = [["RO-INS-1", vehicle.vin, vehicle.plate, vehicle.model, customer.name, customer.mobile,
             "2026-11-14 16:00:00", "保险", "6,800.00", "23000", "李顾问"]]
    import_file(actor=None, store=store_a, kind="repair_orders", path=write_csv(tmp_path / "ro.csv", RO_HEADER, rows))
    item.refresh_from_db()
    assert item.state == ClaimAssistState.SETTLED and item.repair_order.ro_number == "RO-INS-1"
