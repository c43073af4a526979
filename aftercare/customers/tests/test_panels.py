"""Customer-360 panels (customers/panels.py): the follow-up and feedback panels the apps register, shown by
permission, bounded, scoped, in a number of queries that does not grow with the rows."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftercare.complaints.models import Feedback
from aftercare.customers import panels
from aftercare.followups.choices import TaskStatus
from aftercare.followups.models import AnswerSheet, FollowupTask, QuestionnaireTemplate
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f
from conftest import CANARY

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def add_task(store, rule, customer, n: int, *, status=TaskStatus.OPEN, outcome="", note="") -> FollowupTask:
    now = timezone.now()
    return FollowupTask.objects.create(
        store=store,
        rule=rule,
        kind=rule.kind,
        subject_type="repair_order",
        subject_id=10_000 + n,
        customer=customer,
        event_at=now - dt.timedelta(days=30 - n),
        due_at=now + dt.timedelta(days=1),
        status=status,
        outcome=outcome,
        attempts=n % 3,
        status_reason=note,
    )


def add_sheet(task, score, *, kind="csi") -> AnswerSheet:
    template = QuestionnaireTemplate.objects.filter(kind=kind).first() or QuestionnaireTemplate.objects.create(
        code=f"T-{kind}", kind=kind, name_zh=kind, status="active"
    )
    return AnswerSheet.objects.create(
        store=task.store,
        task=task,
        template=template,
        answered_by=task.customer.store.staff.first().user,
        answered_at=task.event_at + dt.timedelta(days=1),
        score_total=score,
    )


def add_form(store, customer, n: int, *, text="发动机异响") -> Feedback:
    return Feedback.objects.create(
        store=store,
        kind="complaint",
        source="walk_in",
        category="mechanical",
        department=f.DepartmentFactory(store=store, kind=DepartmentKind.SERVICE_MECHANICAL),
        customer=customer,
        text=f"{text} {n}",
        status="routed",
        routed_at=timezone.now(),
        deadline_at=timezone.now() + dt.timedelta(days=2),
        created_by=store.staff.first().user,
    )


@pytest.fixture
def customer_with_history(store_a, users):
    rules = {r.code: r for r in followup_rules_seed_defaults(store_a)}
    customer = f.CustomerFactory(store=store_a, name="黄志强")
    done = add_task(store_a, rules["CSI"], customer, 20, status=TaskStatus.COMPLETED, outcome="completed")
    add_sheet(done, "912.50")
    add_task(store_a, rules["CSI"], customer, 19)
    add_form(store_a, customer, 1)
    return customer, rules


def panel_rows(html: str, table_id: str) -> int:
    table = re.search(rf'id="{table_id}">(.*?)</table>', html, re.S).group(1)
    return len(re.findall(r"<tr data-", table))


def test_it_shows_the_customers_calls_scores_and_feedback_forms(customer_with_history, specialist):
    customer, _rules = customer_with_history
    html = client_for(specialist).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert html.index('data-panel="followups.calls"') < html.index('data-panel="complaints.feedback"')
    assert panel_rows(html, "customer-calls") == 2 and panel_rows(html, "customer-feedback") == 1
    assert "912.5" in html and "Latest After-sales CSI" in html
    assert "Completed" in html and "发动机异响 1" in html
    assert f'href="/followups/calls/?customer={customer.pk}"' in html
    assert f'href="/complaints/?customer={customer.pk}"' in html


def test_it_bounds_the_panels_and_links_to_all_rows(customer_with_history, store_a, specialist):
    customer, rules = customer_with_history
    for n in range(15):
        add_task(store_a, rules["CSI"], customer, n)
        add_form(store_a, customer, n + 2)
    html = client_for(specialist).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert panel_rows(html, "customer-calls") == panels.PANEL_ROWS
    assert panel_rows(html, "customer-feedback") == panels.PANEL_ROWS
    assert html.count("Showing the latest 10 rows.") == 2
    listed = client_for(specialist).get(f"/complaints/?customer={customer.pk}").content.decode()
    assert len(re.findall(r'<td><a href="/complaints/\d+/">', listed)) == 16  # "All": every form of the customer


def test_it_hides_panels_from_roles_without_their_permission(customer_with_history, users):
    customer, _rules = customer_with_history
    url = reverse("customers:detail", args=[customer.pk])
    html = client_for(users[Role.RENEWAL_SPECIALIST]).get(url).content.decode()  # calls, no feedback.view
    assert 'data-panel="complaints.feedback"' not in html and "发动机异响" not in html
    html = client_for(users[Role.DEPARTMENT_DESIGNEE]).get(url).content.decode()  # feedback.view, no calls
    assert 'data-panel="complaints.feedback"' in html and 'data-panel="followups.calls"' not in html
    html = client_for(users[Role.STORE_MANAGER]).get(url).content.decode()  # followup.manage, no call screen
    assert 'data-panel="followups.calls"' in html and "/followups/tasks/" not in html


def test_it_keeps_another_stores_customer_a_404(other_store_rows, specialist):
    url = reverse("customers:detail", args=[other_store_rows["customer"].pk])
    assert client_for(specialist).get(url).status_code == 404


def test_it_never_shows_another_stores_rows_in_a_panel(customer_with_history, store_b, specialist):
    """Rows of store B that name store A's customer (which no service writes) still never show."""
    customer, _rules = customer_with_history
    rules_b = {r.code: r for r in followup_rules_seed_defaults(store_b)}
    f.StaffFactory(user=f.UserFactory(), group=store_b.group, role=Role.CS_SPECIALIST, stores=[store_b])
    add_task(store_b, rules_b["CSI"], customer, 99, note=CANARY)
    add_form(store_b, customer, 99, text=CANARY)
    html = client_for(specialist).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert CANARY not in html
    assert panel_rows(html, "customer-calls") == 2 and panel_rows(html, "customer-feedback") == 1


def test_it_loads_the_panels_in_queries_that_do_not_grow_with_the_rows(
    customer_with_history, store_a, specialist, django_assert_max_num_queries
):
    customer, rules = customer_with_history
    client = client_for(specialist)
    url = reverse("customers:detail", args=[customer.pk])
    client.get(url)  # warm the session
    # 31: the appointments panel reads in one query; care's class, churn-risk and projected-dues panels in 12
    with django_assert_max_num_queries(31) as few:
        client.get(url)
    for n in range(25):
        task = add_task(store_a, rules["CSI"], customer, 100 + n, status=TaskStatus.COMPLETED, outcome="completed")
        add_sheet(task, "800.00", kind="ssi" if n % 2 else "csi")
        add_form(store_a, customer, n + 2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert 'data-score="ssi"' in response.content.decode()


def test_it_renders_a_registered_panel_and_skips_one_answering_none(customer_with_history, specialist):
    customer, _rules = customer_with_history
    panels.register_panel(
        panels.CustomerPanel(
            key="later.app", title="Later app", template="customers/_test_panel.html", context=lambda **kw: None
        )
    )
    try:
        html = client_for(specialist).get(reverse("customers:detail", args=[customer.pk])).content.decode()
        assert 'data-panel="later.app"' not in html
        shown = panels.customer_panels(user=specialist, customer=customer)
        keys = [p["key"] for p in shown]
        assert [k for k in keys if not k.startswith("care.")] == [
            "followups.calls", "complaints.feedback", "appointments.bookings"]
        assert {"care.class", "care.vehicle_dues"} <= set(keys)  # the care panels (class, projected dues)
    finally:
        panels.unregister_panel("later.app")
