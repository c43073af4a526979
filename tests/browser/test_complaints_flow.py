"""Browser test in Debian's Chromium: the complaint flow end to end, through four roles' screens.

A CS specialist's SSI call records a complaint → it is routed to the sales designee; the designee finds it in the
inbox, uploads a PDF and returns it; the specialist's verification call marks it satisfied; the CS manager archives
it; the form's PDF opens and carries the customer's words.

    .venv/bin/pytest -m browser tests/browser/test_complaints_flow.py
"""

import datetime as dt
import io
import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.utils import timezone  # noqa: E402

from aftercare.complaints.models import Feedback, FeedbackAttachment  # noqa: E402
from aftercare.complaints.services.configuration import department_designee_set  # noqa: E402
from aftercare.followups.models import FollowupTask  # noqa: E402
from aftercare.followups.services.generation import followup_tasks_for_delivery  # noqa: E402
from aftercare.followups.services.rules import followup_rules_seed_defaults  # noqa: E402
from aftercare.org.choices import DepartmentKind, Role  # noqa: E402
from aftercare.testing import factories as f  # noqa: E402

pytestmark = pytest.mark.browser

COMPLAINT = "交车时发现左后门有划痕，销售顾问说会处理但一直没人联系"
REPORT_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def complaint_store(transactional_db, settings, tmp_path):
    """A store with its default rules, a sales department with its designee, a CS specialist and manager, and a
    delivery waiting for its SSI call (prepared through the services; the screens are the point)."""
    settings.MEDIA_ROOT = tmp_path
    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    followup_rules_seed_defaults(store)
    sales = f.DepartmentFactory(store=store, kind=DepartmentKind.SALES, name="销售部")

    def staff(username, role, name, department=None):
        user = f.UserFactory(username=username)
        f.StaffFactory(
            user=user, group=store.group, role=role, stores=[store], display_name=name, department=department
        )
        return user

    staff("kefu", Role.CS_SPECIALIST, "陈晓婷")
    manager = staff("kefujingli", Role.CS_MANAGER, "王丽")
    designee = staff("xiaoshou", Role.DEPARTMENT_DESIGNEE, "李文杰", department=sales)
    department_designee_set(actor=manager, department=sales, user=designee)
    customer = f.CustomerFactory(store=store, name="黄志强")
    vehicle = f.owned_vehicle(customer, model="昂科威 Plus")
    delivery = f.SalesDeliveryFactory(
        store=store, customer=customer, vehicle=vehicle, delivered_at=timezone.now() - dt.timedelta(hours=20)
    )
    followup_tasks_for_delivery(delivery=delivery)
    task = FollowupTask.objects.get(subject_type="delivery", subject_id=delivery.pk)
    return {"store": store, "customer": customer, "task": task, "designee": designee}


def _session(browser, live_server, username):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    return context, page


def _fill_questionnaire_well(page):
    questions = page.locator("#questionnaire .question")
    for i in range(questions.count()):
        q = questions.nth(i)
        select = q.locator("select")
        if select.count():
            select.select_option(index=1)
            continue
        labels = q.locator("label.btn")
        if labels.count() == 2:
            labels.first.click()  # yes
        elif labels.count():
            labels.last.click()  # the top score


def test_it_runs_a_complaint_from_the_call_to_the_archive(complaint_store, live_server, browser):  # noqa: F811
    base = live_server.url
    ssi = complaint_store["task"]

    # 1. the CS specialist's SSI call: the customer complains; the form goes to the sales designee
    ctx, page = _session(browser, live_server, "kefu")
    page.goto(f"{base}/followups/")
    page.locator(f"#queue-table tr[data-task='{ssi.pk}'] button[type=submit]").click()
    page.wait_for_url(f"{base}/followups/tasks/{ssi.pk}/")
    _fill_questionnaire_well(page)
    page.check("#questionnaire input[name=dissatisfied]")
    page.select_option("#questionnaire select[name=feedback_kind]", "complaint")
    page.select_option("#questionnaire select[name=feedback_category]", "sales")
    page.fill("#questionnaire textarea[name=feedback_text]", COMPLAINT)
    page.click("#save-sheet")
    page.wait_for_url(f"{base}/followups/")
    feedback = Feedback.objects.get(customer=complaint_store["customer"])
    assert (feedback.status, feedback.assignee, feedback.text) == ("routed", complaint_store["designee"], COMPLAINT)

    # 2. the designee: inbox → form → upload a document → return with actions, root cause and result
    ctx2, desk = _session(browser, live_server, "xiaoshou")
    assert desk.locator("#unread-badge").count() == 1  # the in-app notification
    desk.click("#nav-complaint-inbox")
    desk.wait_for_url(f"{base}/complaints/inbox/")
    assert "黄志强" in desk.inner_text("#inbox-table")
    desk.locator("#inbox-table").get_by_role("link", name=str(feedback.pk), exact=True).click()
    desk.wait_for_url(f"{base}/complaints/{feedback.pk}/")
    assert COMPLAINT in desk.inner_text("#feedback-card")
    desk.set_input_files(
        "#panel-attachment input[type=file]",
        files=[{"name": "整改说明.pdf", "mimeType": "application/pdf", "buffer": REPORT_PDF}],
    )
    desk.click("#do-attachment")
    desk.wait_for_url(f"{base}/complaints/{feedback.pk}/")
    assert "整改说明.pdf" in desk.inner_text("#attachments")
    desk.fill("#return_actions_taken", "上门致歉，安排钣金喷漆修复划痕")
    desk.fill("#return_root_cause", "交车前检查遗漏")
    desk.fill("#return_result", "已修复，客户确认车辆外观正常")
    desk.click("#do-return")
    desk.wait_for_url(f"{base}/complaints/{feedback.pk}/")
    assert desk.locator(".alert-success").count() == 1
    feedback.refresh_from_db()
    assert feedback.status == "handled" and feedback.verification_task_id
    assert FeedbackAttachment.objects.filter(feedback=feedback).count() == 1
    ctx2.close()

    # 3. the specialist's verification call from the queue: satisfied
    page.goto(f"{base}/followups/")
    verify = feedback.verification_task_id
    page.locator(f"#queue-table tr[data-task='{verify}'] button[type=submit]").click()
    page.wait_for_url(f"{base}/followups/tasks/{verify}/")
    assert COMPLAINT in page.inner_text("#verification-card")
    assert "已修复" in page.inner_text("#verification-card")
    page.fill("#verify-form textarea[name=notes]", "客户表示满意")
    page.click("#verify-satisfied")
    page.wait_for_url(f"{base}/followups/")
    feedback.refresh_from_db()
    assert feedback.status == "verified"
    ctx.close()

    # 4. the CS manager archives it from the board; the PDF opens and carries the customer's words
    ctx3, boss = _session(browser, live_server, "kefujingli")
    boss.click("#nav-complaint-board")
    boss.wait_for_url(f"{base}/complaints/board/")
    boss.locator("#stage-awaiting_archive a", has_text=f"#{feedback.pk}").click()
    boss.wait_for_url(f"{base}/complaints/{feedback.pk}/")
    boss.click("#do-archive")
    boss.wait_for_url(f"{base}/complaints/{feedback.pk}/")
    assert boss.locator("#read-only").count() == 1 and boss.locator(".action-panel").count() == 0
    feedback.refresh_from_db()
    assert feedback.status == "archived"

    pdf_url = boss.get_attribute("#pdf-link", "href")
    response = boss.request.get(f"{base}{pdf_url}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert COMPLAINT in text.replace("\n", "").replace(" ", "")
    ctx3.close()
