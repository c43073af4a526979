import pytest

from aftercare.followups.services.rules import followup_rules_seed_defaults


@pytest.fixture
def rules_a(store_a):
    return {r.code: r for r in followup_rules_seed_defaults(store_a)}


@pytest.fixture
def rules_b(store_b):
    return {r.code: r for r in followup_rules_seed_defaults(store_b)}
