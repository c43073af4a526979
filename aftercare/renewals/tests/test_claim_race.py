"""Two (eight) specialists claiming one renewal case at once: exactly one wins, the others are told the case is
taken (`CaseAlreadyClaimed`, HTTP 409) — never a server error or a "database is locked", on SQLite and PostgreSQL.

On SQLite the racers run against a file copy of the test database, opened as in production (WAL, `BEGIN
IMMEDIATE`, a busy timeout: `aftercare/settings.py`): the in-memory test database shares one cache between
connections, whose table locks wait for nobody ("database table is locked"), which no deployment uses."""

import contextlib
import datetime as dt
import sqlite3
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, connections

from aftercare.core.services import api_token_create
from aftercare.followups.choices import TaskStatus
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import Role
from aftercare.renewals.models import RenewalCase
from aftercare.renewals.services.generation import renewals_daily
from aftercare.renewals.services.work import CaseAlreadyClaimed, renewal_case_claim
from aftercare.testing import factories as f

THREADS = 8
TODAY = dt.date(2026, 11, 16)


def _case_and_claimers():
    store = f.StoreFactory(code="R01")
    followup_rules_seed_defaults(store)
    customer = f.CustomerFactory(store=store)
    vehicle = f.owned_vehicle(customer, delivery_date=dt.date(2025, 12, 28))
    f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, start_date=dt.date(2026, 1, 1),
                             expiry_date=dt.date(2026, 12, 31), premium=Decimal("5200.00"))
    with time_machine.travel(dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)):
        renewals_daily(store_id=store.pk, today=TODAY)
    claimers = []
    for i in range(THREADS):
        user = f.UserFactory(username=f"renewal-racer{i}")
        f.StaffFactory(user=user, group=store.group, role=Role.RENEWAL_SPECIALIST, stores=[store])
        claimers.append(user)
    return RenewalCase.objects.get(), claimers


@contextlib.contextmanager
def _production_like_database(tmp_path):
    """SQLite: the threads' connections open a file copy of the test database; PostgreSQL: the test database."""
    if connection.vendor != "sqlite":
        yield
        return
    path = tmp_path / "race.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    settings = connections.settings["default"]
    memory = settings["NAME"]
    settings["NAME"] = str(path)  # new connections (each thread's) open the file; this thread's stays in memory
    try:
        yield
    finally:
        settings["NAME"] = memory


def _in_thread(fn):
    """Run `fn` on a connection of its own (the racers' database) and return its result."""
    out = []

    def run():
        try:
            out.append(fn())
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0]


def _race(target, claimers) -> list[str]:
    barrier = threading.Barrier(len(claimers))
    results: list[str] = []

    def run(user):
        try:
            barrier.wait()
            results.append(target(user))
        except Exception as exc:  # anything else is a failure the assertion shows
            results.append(f"error: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(u,)) for u in claimers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_lets_exactly_one_of_eight_threads_claim_a_case(tmp_path):
    case, claimers = _case_and_claimers()

    def claim(user) -> str:
        try:
            renewal_case_claim(actor=user, case=RenewalCase.objects.get(pk=case.pk))
            return "won"
        except CaseAlreadyClaimed:
            return "lost"

    with _production_like_database(tmp_path):
        results = _race(claim, claimers)
        holder, task = _in_thread(
            lambda: (RenewalCase.objects.get(pk=case.pk).holder_id, FollowupTask.objects.get())
        )
    assert sorted(results) == ["lost"] * (THREADS - 1) + ["won"], results
    assert holder in {u.pk for u in claimers}
    assert (task.status, task.claimed_by_id) == (TaskStatus.CLAIMED, holder)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_409_to_all_but_one_of_eight_api_claims(tmp_path):
    from django.test import Client

    case, claimers = _case_and_claimers()
    keys = {u.pk: api_token_create(user=u, name="race")[1] for u in claimers}

    def claim(user) -> str:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {keys[user.pk]}", raise_request_exception=False)
        return str(client.post(f"/api/renewals/cases/{case.pk}/claim").status_code)

    with _production_like_database(tmp_path):
        results = _race(claim, claimers)
        holder = _in_thread(lambda: RenewalCase.objects.get(pk=case.pk).holder_id)
    assert sorted(results) == ["200"] + ["409"] * (THREADS - 1), results
    assert holder in {u.pk for u in claimers}
