"""Browser test in Debian's Chromium: a specialist claims the top follow-up, fills the SSI with one bad answer,
saves, and finds the feedback record on /complaints/.

    .venv/bin/pytest -m browser tests/browser/test_followup_browser.py
"""

import datetime as dt
import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.utils import timezone  # noqa: E402

from aftercare.complaints.models import Feedback  # noqa: E402
from aftercare.followups.models import AnswerSheet, FollowupTask  # noqa: E402
from aftercare.followups.services.generation import followup_tasks_for_delivery  # noqa: E402
from aftercare.followups.services.rules import followup_rules_seed_defaults  # noqa: E402
from aftercare.org.choices import DepartmentKind, Role  # noqa: E402
from aftercare.testing import factories as f  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def ssi_queue(transactional_db):
    """A store with its default rules, a CS specialist and two new-car deliveries waiting for their SSI call."""
    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    followup_rules_seed_defaults(store)
    f.DepartmentFactory(store=store, kind=DepartmentKind.SALES, name="销售部")
    user = f.UserFactory(username="kefu")
    f.StaffFactory(user=user, group=store.group, role=Role.CS_SPECIALIST, stores=[store], display_name="陈晓婷")
    tasks = []
    for name, hours_ago in (("黄志强", 20), ("林小梅", 2)):
        customer = f.CustomerFactory(store=store, name=name)
        vehicle = f.owned_vehicle(customer, model="昂科威 Plus")
        delivery = f.SalesDeliveryFactory(
            store=store, customer=customer, vehicle=vehicle, delivered_at=timezone.now() - dt.timedelta(hours=hours_ago)
        )
        followup_tasks_for_delivery(delivery=delivery)
        tasks.append(FollowupTask.objects.get(subject_type="delivery", subject_id=delivery.pk))
    return tasks


def test_it_claims_the_top_task_fills_the_ssi_and_finds_the_feedback(ssi_queue, live_server, page):  # noqa: F811
    urgent = ssi_queue[0]
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "kefu")
    page.fill("input[name=password]", "password")
    page.click("main button[type=submit]")
    page.wait_for_load_state()

    page.click("nav a[href='/followups/']")
    page.wait_for_url(f"{live_server.url}/followups/")
    rows = page.locator("#queue-table tbody tr")
    assert "黄志强" in rows.first.inner_text()  # the earliest deadline is on top
    rows.first.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/followups/tasks/{urgent.pk}/")
    assert "****" in page.inner_text("#customer-card")

    questions = page.locator("#questionnaire .question")
    assert questions.count() == 24
    dissatisfied_done = False
    for i in range(questions.count()):
        q = questions.nth(i)
        select = q.locator("select")
        if select.count():
            select.select_option(index=1)  # "clear"
            continue
        labels = q.locator("label.btn")
        if labels.count() == 2:
            labels.first.click()  # yes
        elif not dissatisfied_done and labels.count() == 5:
            labels.first.click()  # 1 of 5: at or below the threshold
            dissatisfied_done = True
        else:
            labels.last.click()  # the top score
    page.fill("#questionnaire textarea[name=notes]", "对交车讲解不满意")
    page.click("#save-sheet")
    page.wait_for_url(f"{live_server.url}/followups/")
    assert page.locator(".alert-success").count() == 1

    sheet = AnswerSheet.objects.get(task=urgent)
    assert sheet.dissatisfied
    feedback = Feedback.objects.get(answer_sheet=sheet)

    page.goto(f"{live_server.url}/complaints/")
    table = page.inner_text("#feedback-table")
    assert "黄志强" in table and "销售部" in table
    page.locator("#feedback-table").get_by_role("link", name=str(feedback.pk), exact=True).click()
    page.wait_for_url(f"{live_server.url}/complaints/{feedback.pk}/")
    assert "对交车讲解不满意" in page.inner_text("#feedback-card")
