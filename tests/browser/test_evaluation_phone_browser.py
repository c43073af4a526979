"""Browser test in Debian's Chromium (issue 20, dealer evaluation): on a phone 390 px wide the itinerant service
engineer starts a visit, scores every item, submits it, and records a corrective action; nothing scrolls sideways.

    .venv/bin/pytest -m browser tests/browser/test_evaluation_phone_browser.py
"""

import os

import pytest
from playwright.sync_api import expect

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from aftercare.org.choices import Role  # noqa: E402
from aftercare.quality.choices import ActionStatus, VisitStatus  # noqa: E402
from aftercare.quality.evaluation_models import CorrectiveAction, StoreVisit  # noqa: E402
from aftercare.quality.services.evaluations import evaluation_form_activate, evaluation_form_create  # noqa: E402
from aftercare.testing import factories as f  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db):
    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    engineer = f.UserFactory(username="zhiliang")
    f.StaffFactory(user=engineer, group=store.group, role=Role.QUALITY_ENGINEER, stores=[store])
    f.StaffFactory(user=f.UserFactory(username="xunhui"), group=store.group, role=Role.ITINERANT_SERVICE,
                   stores=[store], display_name="巡回服务员")
    f.StaffFactory(user=f.UserFactory(username="guwen"), group=store.group, role=Role.SERVICE_ADVISOR, stores=[store],
                   display_name="罗建华")
    items = [{"section_zh": "接待", "text_zh": "预约客户到店有专人接待", "max_score": 10},
             {"section_zh": "维修", "text_zh": "工单填写完整，客户签字确认", "max_score": 20}]
    evaluation_form_activate(actor=engineer, form=evaluation_form_create(
        actor=engineer, code="SVC", name_zh="经销商售后服务评估", items=items))
    return store


def test_the_evaluator_visits_a_store_on_a_phone_390px_wide(world, live_server, browser, login, until):
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    login(page, live_server.url, "xunhui")
    page.goto(f"{live_server.url}/quality/visits/")
    page.locator("#visit-start button[type=submit]").click()
    until(page, lambda: StoreVisit.objects.exists())
    expect(page.locator("#visit-status")).to_have_text("草稿")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing scrolls sideways
    scores = page.locator("#visit-scores input[type=number]")
    expect(scores).to_have_count(2)
    scores.nth(0).fill("9")
    scores.nth(1).fill("15")
    page.locator("#visit-submit").click()
    until(page, lambda: StoreVisit.objects.filter(status=VisitStatus.SUBMITTED).exists())
    expect(page.locator("#visit-score")).to_contain_text("80.0 %")  # (9 + 15) / 30
    form = page.locator("#visit-action")
    form.locator("textarea[name=finding]").fill("工单缺客户签字")
    form.locator("textarea[name=action]").fill("培训签字流程，每周抽查")
    form.locator("select[name=owner]").select_option(label="罗建华 · 服务顾问")
    form.locator("input[name=due_on]").fill("2030-01-31")
    form.locator("button[type=submit]").click()
    until(page, lambda: CorrectiveAction.objects.filter(status=ActionStatus.OPEN, owner__username="guwen").exists())
    expect(page.locator("#visit-actions")).to_contain_text("工单缺客户签字")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
