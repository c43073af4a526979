"""Standard fixtures: two stores of one group, a user for every role in store A, a canary in store B."""

import pytest

from aftercare.org.choices import Role
from aftercare.testing import factories as f

CANARY = "CANARY-画眉-7731"


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """PBKDF2 makes every test user cost ~0.4 s; tests don't need a slow hash. Session-wide, so that module-scoped
    fixtures (a demo seeded once per module) hash as the tests check."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _service_language():
    """Messages raised by services outside a request are in English in every test, whatever ran before on the
    same worker (a request activates its own language; without this, tests would depend on their order)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded files (handling documents) go to a per-test directory, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _static_without_collectstatic(settings):
    """Production serves the hashed files `collectstatic` wrote (WhiteNoise's manifest storage); tests render pages
    without collecting: plain static URLs, and WhiteNoise looks files up per request instead of scanning var/static."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture
def store_a(db):
    return f.StoreFactory(code="A01", name="广州天河店")


@pytest.fixture
def store_b(db):
    return f.StoreFactory(code="B01", name="深圳南山店")


def _staff(role, stores, username):
    user = f.UserFactory(username=username)
    f.StaffFactory(user=user, group=stores[0].group, role=role, stores=stores, display_name=username)
    return user


@pytest.fixture
def users(store_a):
    """One user per role, all working in store A (group admin sees the whole group)."""
    return {role: _staff(role, [store_a], f"{role}_a") for role in Role.values}


@pytest.fixture
def specialist(users):
    return users[Role.CS_SPECIALIST]


@pytest.fixture
def manager(users):
    return users[Role.CS_MANAGER]


@pytest.fixture
def other_store_rows(store_b):
    """Rows of store B, each carrying the canary string; users of store A must never see them."""
    customer = f.CustomerFactory(store=store_b, name=CANARY, address=CANARY)
    vehicle = f.owned_vehicle(customer, model=CANARY)
    return {
        "customer": customer,
        "vehicle": vehicle,
        "repair_order": f.RepairOrderFactory(
            store=store_b, customer=customer, vehicle=vehicle, fault_description=CANARY
        ),
        "delivery": f.SalesDeliveryFactory(
            store=store_b, customer=customer, vehicle=vehicle, sales_consultant=CANARY
        ),
        "policy": f.InsurancePolicyFactory(store=store_b, customer=customer, vehicle=vehicle, insurer=CANARY),
    }
