"""The demo's dealer evaluation (`aftercare/demo/evaluations.py`): the active form, last month's submitted visit of
every store, and this month's visit of the first store with an overdue, an open, a done and a verified corrective
action — so the scorecard's evaluation column has figures and the store's start card has work. The demo is seeded
once for the package (`conftest.py`, rolled back afterwards)."""

import datetime as dt

import pytest
import time_machine

from aftercare.org.models import Store
from aftercare.org.start import start_cards
from aftercare.quality.choices import ActionStatus, EvaluationFormStatus, VisitStatus
from aftercare.quality.evaluation_models import CorrectiveAction, EvaluationForm, StoreVisit
from aftercare.quality.selectors_scorecard import scorecard_month

from .conftest import NOW, TODAY


@pytest.fixture
def demo(seeded_demo, db):
    with time_machine.travel(NOW, tick=False):
        yield


def _user(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def test_it_has_an_active_form_and_a_submitted_visit_of_every_store_last_month(demo):
    assert EvaluationForm.objects.filter(status=EvaluationFormStatus.ACTIVE).count() == 1
    last_month = (TODAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    visits = StoreVisit.objects.filter(visited_on__gte=last_month, visited_on__lt=TODAY.replace(day=1))
    assert visits.filter(status=VisitStatus.SUBMITTED).values("store").distinct().count() == Store.objects.count()
    assert all(50 <= v.score <= 100 for v in visits)


def test_the_first_store_has_open_and_overdue_actions_on_its_start_page(demo):
    first = Store.objects.order_by("code").first()
    states = list(CorrectiveAction.objects.filter(store=first).values_list("status", flat=True))
    assert sorted(states) == sorted([ActionStatus.OPEN, ActionStatus.OPEN, ActionStatus.DONE, ActionStatus.VERIFIED])
    managers = [s.user for s in first.staff.filter(role="store_manager").select_related("user")]
    rows = {r.url.split("?")[1]: r.count for c, d in start_cards(user=managers[0], store_ids={first.pk},
                                                                  now=NOW.astimezone(dt.UTC))
            if c.key == "quality.actions" for r in d.rows}
    assert rows == {"status=overdue": 1, "status=open": 2}
    evaluator = _user("itinerant")
    rows = {r.url.split("?")[1]: r.count for c, d in start_cards(user=evaluator, store_ids={first.pk},
                                                                  now=NOW.astimezone(dt.UTC))
            if c.key == "quality.actions" for r in d.rows}
    assert rows["status=done"] == 1


def test_the_scorecard_shows_last_months_evaluation_scores(demo):
    last_month = (TODAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    card = scorecard_month(user=_user("admin"), month=last_month, today=TODAY)
    assert card.measures[0].code == "quality.evaluation_score"
    assert all(row.cells[0].value is not None for row in card.rows)
