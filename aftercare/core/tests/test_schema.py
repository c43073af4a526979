"""Property-based tests of the API against its own OpenAPI document (schemathesis).

Every operation gets generated requests (bounded: ~25 examples each) as a CS manager with a Bearer token.
Checks: no server errors, only declared status codes, declared content types, and bodies matching the schema.
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
from aftercare.testing import factories as f

# Loaded at collection from the live WSGI app (the schema endpoint needs no database).
# (`schemathesis.pytest.from_fixture` would defer this, but it does not work with pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
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


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_it_conforms_to_its_openapi_document(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
