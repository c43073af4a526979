"""Property-based tests of the API against its own OpenAPI document (schemathesis), part of `make test`.

Every operation gets generated requests (at most 25 examples each, positive and negative, derandomized: the same on
every run) as a CS manager with a Bearer token, in a store holding one of every kind of row (the scoping walker's
planted rows: customer, vehicle, orders, policy, import batch with errors, complaint form with a document,
follow-up task, …). Each generated request is sent as generated (mostly unknown ids: 404) and, where the path has
ids, once more with the ids of those rows, so the bodies and queries reach the real handlers.
Checks: no server errors, only declared status codes, declared content types, and bodies matching the schema.
Budget: ≤ 90 s per database (measured ~40–60 s on SQLite and PostgreSQL).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aftercare.core.services import api_token_create
from aftercare.core.tests.test_scoping import ID_PARAMS, plant_rows
from aftercare.testing import factories as f

# Loaded at collection from the live WSGI app (the schema endpoint needs no database).
# (`schemathesis.pytest.from_fixture` would defer this, but it does not work with pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
# At most 25 examples per operation (the bound): the examples and fuzzing phases only; the coverage phase
# would add every boundary case the schema defines (~70 per operation, three times the time).
schema.config.phases.update(phases=["examples", "fuzzing"])
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def keep_db_connection():
    """Like Django's test client: the WSGI app must not close the connection holding the test transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(keep_db_connection, manager, store_a, other_store_rows):
    """A CS manager's token, with a few rows in their store (and the canary store next door)."""
    for i in range(3):
        customer = f.CustomerFactory(store=store_a, mobile2="+8613900000000" if i else "")
        vehicle = f.owned_vehicle(customer)
        f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle)
        f.SalesDeliveryFactory(store=store_a, customer=customer, vehicle=vehicle)
        f.InsurancePolicyFactory(store=store_a, customer=customer, vehicle=vehicle)
    f.CustomerFactory(store=store_a, mobile="", address="")
    return api_token_create(user=manager, name="schemathesis")[1]


@pytest.fixture
def own_ids(token, store_a):
    """Path parameter name -> the id of a row of the manager's own store (one of every kind)."""
    rows = plant_rows(store_a)
    ids = {}
    for name, row in rows.items():
        if hasattr(row, "pk"):
            ids[name] = row.pk
            ids.setdefault(f"{name}_id", row.pk)
    for param, keys in ID_PARAMS.items():
        for key in keys:
            if key in rows:
                ids.setdefault(param, rows[key].pk)
    ids["sent"] = set()  # requests with these ids already sent (by this operation's test)
    return ids


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_it_conforms_to_its_openapi_document(case, token, own_ids):
    headers = {"Authorization": f"Bearer {token}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
    if case.path_parameters and all(name in own_ids for name in case.path_parameters):
        case.path_parameters = {name: own_ids[name] for name in case.path_parameters}
        request = repr((case.path_parameters, case.query, case.body, case.media_type))
        if request not in own_ids["sent"]:  # e.g. the PDF of one form: rendered once, not 25 times
            own_ids["sent"].add(request)
            case.call_and_validate(headers=headers, checks=CHECKS)
