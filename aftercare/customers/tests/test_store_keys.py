"""The (store, customer) keys: a store's orders, deliveries, policies and ownerships name a customer of that store.

One composite foreign key per table (`customer_of_the_store`) stands for the keys of `store` and `customer`; these
tests hold it to both jobs, on SQLite and PostgreSQL, in the database and in `full_clean()`.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from aftercare.customers.models import InsurancePolicy, Ownership, RepairOrder, SalesDelivery, Vehicle
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db

FACTORIES = {
    RepairOrder: f.RepairOrderFactory,
    SalesDelivery: f.SalesDeliveryFactory,
    InsurancePolicy: f.InsurancePolicyFactory,
    Ownership: f.OwnershipFactory,
}


def _committed(write) -> None:
    """Run `write` and the deferred checks that its commit would run."""
    with transaction.atomic():
        write()
        connection.check_constraints()


@pytest.mark.parametrize("model", FACTORIES, ids=lambda m: m.__name__)
def test_it_refuses_a_customer_of_another_store_in_the_database(model, store_a, store_b):
    row = FACTORIES[model](customer=f.CustomerFactory(store=store_a))
    stranger = f.CustomerFactory(store=store_b)
    with pytest.raises(IntegrityError):
        _committed(lambda: model.objects.filter(pk=row.pk).update(customer=stranger))
    row.refresh_from_db()
    assert row.customer.store_id == store_a.pk  # nothing stored changed


@pytest.mark.parametrize("model", FACTORIES, ids=lambda m: m.__name__)
def test_it_refuses_a_store_that_is_not_the_customers_in_the_database(model, store_a, store_b):
    row = FACTORIES[model](customer=f.CustomerFactory(store=store_a))
    with pytest.raises(IntegrityError):
        _committed(lambda: model.objects.filter(pk=row.pk).update(store=store_b))


@pytest.mark.parametrize("model", FACTORIES, ids=lambda m: m.__name__)
def test_it_refuses_a_store_or_customer_that_does_not_exist(model, store_a):
    row = FACTORIES[model](customer=f.CustomerFactory(store=store_a))
    with pytest.raises(IntegrityError):
        _committed(lambda: model.objects.filter(pk=row.pk).update(customer_id=row.customer_id + 10_000))
    with pytest.raises(IntegrityError):
        _committed(lambda: model.objects.filter(pk=row.pk).update(store_id=row.store_id + 10_000))


def test_it_keeps_a_customer_with_orders_from_being_deleted_in_the_database(store_a):
    order = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a))
    with pytest.raises(IntegrityError):
        _committed(lambda: order.customer._meta.model.objects.filter(pk=order.customer_id)._raw_delete("default"))


def test_it_names_the_customer_field_in_full_clean(store_a, store_b):
    order = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a))
    order.customer = f.CustomerFactory(store=store_b)
    with pytest.raises(ValidationError) as err:
        order.full_clean()
    assert err.value.message_dict == {"customer": ["The customer is not a customer of this store."]}
    order.customer = f.CustomerFactory(store=store_a)
    order.full_clean()  # a customer of the order's store passes


def test_it_does_not_check_in_full_clean_what_is_excluded(store_a, store_b):
    order = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a))
    order.customer = f.CustomerFactory(store=store_b)
    order.full_clean(exclude=["customer"])


def test_it_declares_one_key_for_store_and_customer(store_a):
    with connection.cursor() as cur:
        keys = [
            (c["columns"], c["foreign_key"])
            for c in connection.introspection.get_constraints(cur, RepairOrder._meta.db_table).values()
            if c["foreign_key"]
        ]
    columns = sorted(tuple(cols) for cols, _target in keys)
    # SQLite reports a composite key column by column
    assert columns in (
        [("store_id", "customer_id"), ("vehicle_id",)],
        [("customer_id",), ("store_id",), ("vehicle_id",)],
    )
    if connection.vendor == "postgresql":
        assert ("customer_id",) not in columns and ("store_id",) not in columns


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the LIKE-prefix indexes are PostgreSQL's")
def test_it_writes_no_index_that_no_query_uses_on_vehicles():
    with connection.cursor() as cur:
        indexes = connection.introspection.get_constraints(cur, Vehicle._meta.db_table)
    assert not [name for name in indexes if name.endswith("_like")]
    assert sorted(tuple(c["columns"]) for c in indexes.values() if c["index"] or c["unique"]) == [
        ("id",), ("plate",), ("store_id",), ("vin",)
    ]
