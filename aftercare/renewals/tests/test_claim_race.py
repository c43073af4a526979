"""Two (eight) specialists claiming one renewal case at once: exactly one wins, the others are told the case is
taken (`CaseAlreadyClaimed`, HTTP 409) — never a server error or a "database is locked", on SQLite and PostgreSQL.

On SQLite the racers run against a file copy of the test database, opened as in production
(`aftercare/testing/race.py`)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from aftercare.core.services import api_token_create
from aftercare.followups.choices import TaskStatus
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import Role
from aftercare.renewals.models import RenewalCase
from aftercare.renewals.services.generation import renewals_daily
from aftercare.renewals.services.work import CaseAlreadyClaimed, renewal_case_claim
from aftercare.testing import factories as f
from aftercare.testing.race import in_thread, production_like_database, race

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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_lets_exactly_one_of_eight_threads_claim_a_case(tmp_path):
    case, claimers = _case_and_claimers()

    def claim(user) -> str:
        try:
            renewal_case_claim(actor=user, case=RenewalCase.objects.get(pk=case.pk))
            return "won"
        except CaseAlreadyClaimed:
            return "lost"

    with production_like_database(tmp_path):
        results = race(claim, claimers)
        holder, task = in_thread(
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

    with production_like_database(tmp_path):
        results = race(claim, claimers)
        holder = in_thread(lambda: RenewalCase.objects.get(pk=case.pk).holder_id)
    assert sorted(results) == ["200"] + ["409"] * (THREADS - 1), results
    assert holder in {u.pk for u in claimers}
