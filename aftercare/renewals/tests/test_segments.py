"""The renewal segments of docs/kpis.md ("Renewal segments"), each on hand-built vehicles, where
`test_generation.py` does not already show it."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from aftercare.renewals.choices import SEGMENT_PRIORITY, Segment
from aftercare.renewals.models import RenewalCase
from aftercare.renewals.services.generation import renewal_cases_generate
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 11, 16)  # a visit counts from 2025-11-16 00:00 Shanghai (365 days)


def vehicle_with(store, *, policy_expiry: dt.date | None = None, kind="renewal", visits=(), ro_kind="maintenance"):
    customer = f.CustomerFactory(store=store)
    vehicle = f.owned_vehicle(customer, delivery_date=dt.date(2019, 12, 20))
    if policy_expiry is not None:
        f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, kind=kind,
                                 start_date=policy_expiry.replace(year=policy_expiry.year - 1) + dt.timedelta(days=1),
                                 expiry_date=policy_expiry)
    for at in visits:
        f.RepairOrderFactory(store=store, customer=customer, vehicle=vehicle, settled_at=at, kind=ro_kind)
    return vehicle


def _segments(store) -> dict[int, RenewalCase]:
    renewal_cases_generate(store_id=store.pk, today=TODAY)
    return {c.vehicle_id: c for c in RenewalCase.objects.all()}


def test_it_segments_our_renewal_policy_as_renewed_here(store_a):
    renewed = vehicle_with(store_a, policy_expiry=dt.date(2026, 12, 20), kind="renewal")
    first = vehicle_with(store_a, policy_expiry=dt.date(2026, 12, 21), kind="new_car")
    cases = _segments(store_a)
    assert cases[renewed.pk].segment == Segment.RENEWED_HERE and not cases[renewed.pk].expiry_estimated
    assert cases[renewed.pk].priority == SEGMENT_PRIORITY[Segment.RENEWED_HERE] == 1
    assert cases[first.pk].segment == Segment.NEW_CAR_FIRST


def test_a_policy_lapsed_over_three_years_ago_with_a_visit_is_insured_elsewhere(store_a):
    visit = (dt.datetime(2026, 9, 1, 10, tzinfo=SH),)
    four = vehicle_with(store_a, policy_expiry=dt.date(2022, 12, 9), visits=visit)
    three = vehicle_with(store_a, policy_expiry=dt.date(2023, 12, 9), visits=visit)
    never = vehicle_with(store_a, visits=visit)  # no policy of ours at all
    cases = _segments(store_a)
    assert cases[four.pk].segment == Segment.INSURED_ELSEWHERE and cases[four.pk].expiry_date == dt.date(2026, 12, 9)
    assert cases[three.pk].segment == Segment.LAPSED_RETURNED  # three policy years: still "lapsed, came back"
    assert cases[never.pk].segment == Segment.INSURED_ELSEWHERE and cases[never.pk].expiry_estimated
    assert cases[never.pk].expiry_date == dt.date(2026, 12, 19)  # the delivery's anniversary, less a day


def test_an_old_or_internal_visit_is_no_visit(store_a):
    lapsed = dt.date(2025, 12, 9)
    just_in = vehicle_with(store_a, policy_expiry=lapsed, visits=(dt.datetime(2025, 11, 16, 0, 0, tzinfo=SH),))
    just_out = vehicle_with(store_a, policy_expiry=lapsed, visits=(dt.datetime(2025, 11, 15, 23, 59, tzinfo=SH),))
    internal = vehicle_with(store_a, policy_expiry=lapsed, visits=(dt.datetime(2026, 10, 1, 10, tzinfo=SH),),
                            ro_kind="internal")
    no_policy_old = vehicle_with(store_a, visits=(dt.datetime(2025, 10, 1, 10, tzinfo=SH),))
    no_policy_internal = vehicle_with(store_a, visits=(dt.datetime(2026, 10, 1, 10, tzinfo=SH),), ro_kind="internal")
    cases = _segments(store_a)
    assert cases[just_in.pk].segment == Segment.LAPSED_RETURNED
    assert cases[just_out.pk].segment == Segment.LAPSED_LOST
    assert cases[internal.pk].segment == Segment.LAPSED_LOST
    assert no_policy_old.pk not in cases and no_policy_internal.pk not in cases
