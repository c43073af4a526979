"""Standard fixtures: two stores of one group, a user for every role in store A, a canary in store B."""

import pytest

from aftercare.org.choices import Role
from aftercare.testing import factories as f

CANARY = "CANARY-画眉-7731"

# Test directories run by one xdist worker, in one go: their package fixture (the seeded demo) is built once.
ONE_WORKER_DIRS = ("aftercare/demo/tests/seeded/",)


def pytest_xdist_make_scheduler(config, log):
    """xdist's `load` scheduling, except that each of `ONE_WORKER_DIRS` goes to a single worker as one unit (what
    `--dist loadgroup` would do, which pytest 9.2 no longer honours: it ignores xdist's renamed node ids)."""
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def add_node_collection(self, node, collection) -> None:
            # LoadScope keys the work by node id, and a few items share one (schemathesis' cases of one test): give
            # repeats a suffix, or all but the first would silently not run. Work is sent by index in this list.
            seen: dict[str, int] = {}
            unique = []
            for nodeid in collection:
                seen[nodeid] = seen.get(nodeid, 0) + 1
                unique.append(nodeid if seen[nodeid] == 1 else f"{nodeid}#{seen[nodeid]}")
            super().add_node_collection(node, unique)

        def _split_scope(self, nodeid: str) -> str:
            return next((d for d in ONE_WORKER_DIRS if nodeid.startswith(d)), nodeid)

    return Scheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Tests marked `once` do not use the test database (their own SQLite, subprocesses): they run in the SQLite
    pass of `make test` and are skipped in the PostgreSQL one, which would repeat them unchanged."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return
    skip = pytest.mark.skip(reason="`once`: independent of the test database, run in the SQLite pass")
    for item in items:
        if item.get_closest_marker("once"):
            item.add_marker(skip)


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
