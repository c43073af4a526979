import datetime as dt
from decimal import Decimal

import pytest

from aftercare.org.choices import Role
from aftercare.testing import factories as f


@pytest.fixture
def renewal_user(users):
    return users[Role.RENEWAL_SPECIALIST]


@pytest.fixture
def policy_due(store_a):
    """A new-car policy of store A expiring on 2026-12-31, its customer consenting to calls and marketing."""
    customer = f.CustomerFactory(store=store_a, consent_marketing=True)
    vehicle = f.owned_vehicle(customer, delivery_date=dt.date(2025, 12, 28))
    return f.InsurancePolicyFactory(
        store=store_a, customer=customer, vehicle=vehicle, start_date=dt.date(2026, 1, 1),
        expiry_date=dt.date(2026, 12, 31), premium=Decimal("5200.00"), kind="new_car",
    )
