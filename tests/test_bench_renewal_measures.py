"""`python -m bench renewal-measures` (bench/renewalmeasuresbench.py) on a tiny dataset: the loader (PostgreSQL),
the hand-written aggregate and `renewal_monthly_table` give the same figures, and the report prints the ratio."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from aftercare.org.choices import Role
from aftercare.renewals.models import RenewalCase
from aftercare.testing import factories as f
from bench import renewalmeasuresbench as rm

pytestmark = pytest.mark.django_db


def _tiny_by_hand(store_a, store_b, users):
    """A few policies and cases in two stores (SQLite has no generate_series for the loader)."""
    for store in (store_a, store_b):
        for i in range(6):
            customer = f.CustomerFactory(store=store)
            vehicle = f.owned_vehicle(customer)
            start = dt.date(2026, 1 + i * 2, 3)
            f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, start_date=start,
                                     expiry_date=start.replace(year=2027) - dt.timedelta(days=1),
                                     kind="new_car" if i % 2 else "renewal", premium=Decimal("3000.25") + i)
            RenewalCase.objects.create(store=store, customer=customer, vehicle=vehicle, expiry_date=start,
                                       expiry_estimated=i == 3, segment="renewed_here",
                                       state=["open", "renewed_here", "not_renewed", "lapsed"][i % 4],
                                       contacts_made=i % 2)
    admin = f.StaffFactory(role=Role.GROUP_ADMIN, group=store_a.group).user
    return admin, [store_a.pk, store_b.pk], 2026


def test_it_compares_the_monthly_table_with_the_hand_written_aggregate(store_a, store_b, users, capsys):
    if connection.vendor == "postgresql":
        data = rm.load_data(400, 2, analyze=False)
        admin, ids, year = data["admin"], [s.pk for s in data["stores"]], data["year"]
        assert data["policies"] == 400 and data["cases"] > 0
    else:
        admin, ids, year = _tiny_by_hand(store_a, store_b, users)
    one = rm.compare(admin, ids[:1], year, repeats=2)
    group = rm.compare(admin, ids, year, repeats=1, whole_group=True)
    assert group["cases"] > one["cases"] > 0 and group["policies"] > one["policies"] > 0
    assert rm.time_page(admin, ids, year, repeats=1) > 0
    text, _ok = rm.report([("one store", one), ("whole group", group)])
    assert "one store" in text and "x" in text.splitlines()[1] and "target:" in text


def test_it_aborts_when_the_figures_differ(store_a, store_b, users):
    admin, ids, year = _tiny_by_hand(store_a, store_b, users)
    _secs, hand = rm.run_hand_written(ids, year)
    _secs, ours = rm.run_ours(admin, ids, year)
    assert rm._same(ours, hand) == []
    hand[dt.date(2026, 3, 1)]["renewed_here"] += 1
    assert rm._same(ours, hand) == ["2026-03 renewed_here: ours 2, hand-written 3"]  # both stores
