"""The daily classification against hand-computed customers (docs/care.md, "Classes and churn")."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command

from aftercare.care.choices import CustomerClass, LostRule
from aftercare.care.models import CareProfile, ClassChange, ClassSettings
from aftercare.care.services import classes as svc
from aftercare.care.services.classes import customers_classify
from aftercare.org.calendar import add_months

from .classes_helpers import care_task, customer, delivered, visit

TODAY = dt.date(2026, 7, 15)


def profile(cust):
    return CareProfile.objects.get(customer=cust)


@pytest.fixture
def people(store_a):
    """One customer per rule, with the class each must get on 15 Jul 2026 (hand-computed)."""
    p = {}
    p["new"] = c = customer(store_a)
    delivered(c, "2026-03-01")
    p["no_visit"] = c = customer(store_a)
    visit(c, "2024-06-01")
    visit(c, "2025-12-01")
    p["once"] = c = customer(store_a)
    visit(c, "2024-03-01")
    visit(c, "2026-04-01")
    p["inspections"] = c = customer(store_a)
    visit(c, "2024-03-01")
    visit(c, "2025-10-01", amount="0")
    visit(c, "2026-05-01", amount="0")
    p["reminded"] = c = customer(store_a)
    visit(c, "2024-03-01")
    visit(c, "2025-09-01")
    visit(c, "2026-03-01")
    for day in ("2026-04-01", "2026-05-01", "2026-06-01"):
        care_task(c, day)
    p["loyal"] = c = customer(store_a)
    visit(c, "2024-03-01")
    visit(c, "2025-09-01")
    visit(c, "2026-03-01", amount="700.50")
    care_task(c, "2026-02-01")  # before the last visit: does not count
    p["regular"] = c = customer(store_a)
    visit(c, "2024-03-01")
    visit(c, "2026-02-01")
    visit(c, "2026-05-01")
    p["excluded"] = c = customer(store_a)  # warranty, insurance, free first maintenance are no visit
    visit(c, "2024-03-01")
    visit(c, "2026-02-01")
    visit(c, "2026-05-01", kind="warranty_claim")
    visit(c, "2026-06-01", kind="insurance_job")
    visit(c, "2025-09-01", kind="first_free_maintenance")
    p["young_one_visit"] = c = customer(store_a)  # known < 12 months: one visit is regular, not once a year
    delivered(c, "2025-12-01")
    visit(c, "2026-05-01", amount="0")
    p["future"] = c = customer(store_a)  # orders after the day do not count
    visit(c, "2025-03-01")
    visit(c, "2026-07-15", time="08:00")
    return p


EXPECTED = {
    "new": (CustomerClass.NEW, ""),
    "no_visit": (CustomerClass.LOST, LostRule.NO_VISIT),
    "once": (CustomerClass.LOST, LostRule.ONCE_A_YEAR),
    "inspections": (CustomerClass.LOST, LostRule.ONLY_INSPECTIONS),
    "reminded": (CustomerClass.LOST, LostRule.REMINDED_NEVER_CAME),
    "loyal": (CustomerClass.LOYAL, ""),
    "regular": (CustomerClass.REGULAR, ""),
    "excluded": (CustomerClass.LOST, LostRule.ONCE_A_YEAR),
    "young_one_visit": (CustomerClass.REGULAR, ""),
    "future": (CustomerClass.LOST, LostRule.NO_VISIT),
}


def test_it_classifies_each_rule_as_hand_computed(people, store_a):
    customers_classify(today=TODAY)
    got = {k: (profile(c).customer_class, profile(c).lost_rule) for k, c in people.items()}
    assert got == EXPECTED
    loyal = profile(people["loyal"])
    assert loyal.visits_12m == 2 and loyal.spend_12m == Decimal("1380.50")
    assert loyal.class_since == TODAY and loyal.classified_on == TODAY
    assert loyal.last_visit_at.date() == dt.date(2026, 3, 1)
    excluded = profile(people["excluded"])
    assert excluded.visits_12m == 1 and excluded.last_visit_at.date() == dt.date(2026, 2, 1)
    # the first classification is a change from nothing, one a customer
    changes = ClassChange.objects.filter(store=store_a)
    assert changes.count() == len(people)
    assert set(changes.values_list("from_class", flat=True)) == {""}


def test_it_is_lost_on_the_day_six_months_after_the_last_visit_in_shanghai(store_a):
    late = customer(store_a)
    visit(late, "2026-01-15", time="23:30")
    early = customer(store_a)  # 00:30 Shanghai on the 15th is still the 14th in UTC
    visit(early, "2026-01-15", time="00:30")
    customers_classify(today=dt.date(2026, 7, 14))
    assert profile(late).customer_class == profile(early).customer_class == CustomerClass.REGULAR
    customers_classify(today=dt.date(2026, 7, 15))
    assert profile(late).customer_class == profile(early).customer_class == CustomerClass.LOST
    assert profile(late).lost_rule == LostRule.NO_VISIT
    assert profile(late).class_since == dt.date(2026, 7, 15)


def test_it_keeps_new_for_six_months_after_delivery(store_a):
    c = customer(store_a)
    delivered(c, "2026-01-15", time="00:30")
    customers_classify(today=dt.date(2026, 7, 14))
    assert profile(c).customer_class == CustomerClass.NEW
    customers_classify(today=dt.date(2026, 7, 15))
    assert (profile(c).customer_class, profile(c).lost_rule) == (CustomerClass.LOST, LostRule.NO_VISIT)
    assert list(ClassChange.objects.filter(customer=c).order_by("on_date").values_list("from_class", "to_class")) == [
        ("", "new"), ("new", "lost")]


def test_it_writes_no_change_when_run_twice_the_same_day(people):
    first = customers_classify(today=TODAY)
    rows = list(ClassChange.objects.order_by("pk").values_list("customer_id", "to_class", "on_date"))
    second = customers_classify(today=TODAY)
    assert sum(first.values()) == len(people) and sum(second.values()) == 0
    assert list(ClassChange.objects.order_by("pk").values_list("customer_id", "to_class", "on_date")) == rows
    call_command("care_classify", "--today", TODAY.isoformat(), stdout=mock.MagicMock())
    assert ClassChange.objects.count() == len(people)


def test_it_writes_one_clean_result_after_a_run_killed_midway(people, store_a, store_b):
    other = customer(store_b)
    visit(other, "2026-06-01")
    real = svc._store_classify
    calls = []

    def killed(cursor, **kw):
        calls.append(kw["store_id"])
        if kw["store_id"] == store_b.pk:
            real(cursor, **kw)
            raise KeyboardInterrupt  # killed after its writes, before the commit
        return real(cursor, **kw)

    with mock.patch.object(svc, "_store_classify", killed), pytest.raises(KeyboardInterrupt):
        customers_classify(today=TODAY)
    assert CareProfile.objects.filter(store=store_a).count() == len(people)
    assert not CareProfile.objects.filter(store=store_b).exists()
    assert not ClassChange.objects.filter(store=store_b).exists()
    again = customers_classify(today=TODAY)
    assert again == {store_a.pk: 0, store_b.pk: 1}
    assert ClassChange.objects.count() == len(people) + 1
    assert profile(other).customer_class == CustomerClass.REGULAR


def test_it_records_a_change_only_when_the_class_changes(people):
    customers_classify(today=TODAY)
    customers_classify(today=dt.date(2026, 9, 2))  # loyal's last visit 1 Mar: lost on 1 Sep
    loyal = profile(people["loyal"])
    assert (loyal.customer_class, loyal.lost_rule, loyal.class_since) == (
        CustomerClass.LOST, LostRule.NO_VISIT, dt.date(2026, 9, 2))
    changes = ClassChange.objects.filter(customer=people["loyal"]).order_by("on_date")
    assert [(c.from_class, c.to_class, c.rule) for c in changes] == [("", "loyal", ""), ("loyal", "lost", "no_visit")]
    # lost stays lost (its class_since is kept)
    assert profile(people["no_visit"]).class_since == TODAY
    assert ClassChange.objects.filter(customer=people["no_visit"]).count() == 1


def test_it_leaves_alone_a_profile_classified_later(people):
    customers_classify(today=TODAY)
    assert sum(customers_classify(today=dt.date(2026, 1, 31)).values()) == 0
    assert profile(people["loyal"]).classified_on == TODAY


def test_it_follows_the_store_settings(people, store_a):
    ClassSettings.objects.create(store=store_a, reminded_min=0, lost_when_only_inspections=False,
                                 once_a_year_max_visits=0)
    customers_classify(today=TODAY)
    assert profile(people["reminded"]).customer_class == CustomerClass.LOYAL
    assert profile(people["inspections"]).customer_class == CustomerClass.LOYAL  # a visit in each half
    assert profile(people["once"]).customer_class == CustomerClass.REGULAR


def test_it_classifies_in_a_fixed_number_of_queries(people, store_a, django_assert_max_num_queries):
    # 12, and the month summary of each store: its last month, then (first run) the history's first and last day,
    # and a delete and an insert a month written
    with django_assert_max_num_queries(16):
        customers_classify(today=TODAY)
    with django_assert_max_num_queries(14):  # a later day of the month: the summary's last month, delete, insert
        customers_classify(today=TODAY + dt.timedelta(days=1))


def test_it_counts_months_back_to_the_last_day_of_a_short_month():
    assert add_months(dt.date(2026, 8, 31), -6) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 7, 15), -12) == dt.date(2025, 7, 15)


def test_it_rewrites_a_profile_only_when_its_class_fields_differ(people):
    customers_classify(today=TODAY)
    stamps = dict(CareProfile.objects.values_list("customer_id", "updated_at"))
    regular = people["regular"]
    visit(regular, "2026-06-01", amount="300")  # imported late: still regular, one more visit in 12 months
    assert sum(customers_classify(today=TODAY).values()) == 0
    after = dict(CareProfile.objects.values_list("customer_id", "updated_at"))
    assert {cid for cid in stamps if after[cid] != stamps[cid]} == {regular.pk}
    got = profile(regular)
    assert (got.customer_class, got.visits_12m, got.class_since) == (CustomerClass.REGULAR, 3, TODAY)
    assert ClassChange.objects.filter(customer=regular).count() == 1
    # the next day every profile is classified again (its day), without a change of class
    customers_classify(today=TODAY + dt.timedelta(days=1))
    assert set(CareProfile.objects.values_list("classified_on", flat=True)) == {TODAY + dt.timedelta(days=1)}
    assert profile(regular).class_since == TODAY
