"""Browser test in Debian's Chromium (issue 19, usability): on a phone 390 px wide the follow-up queue shows one card
per call (each value named by its column), nothing scrolls sideways, buttons keep their label on one line, and a
specialist claims a call with a thumb.

    .venv/bin/pytest -m browser tests/browser/test_queue_phone_browser.py
"""

import datetime as dt
import os

import pytest
from playwright.sync_api import expect

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.utils import timezone  # noqa: E402

from aftercare.followups.models import FollowupTask  # noqa: E402
from aftercare.followups.services.generation import followup_tasks_generate  # noqa: E402
from aftercare.followups.services.rules import followup_rules_seed_defaults  # noqa: E402
from aftercare.org.choices import Role  # noqa: E402
from aftercare.testing import factories as f  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def queue(transactional_db):
    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    followup_rules_seed_defaults(store)
    f.StaffFactory(user=f.UserFactory(username="kefu"), group=store.group, role=Role.CS_SPECIALIST, stores=[store],
                   display_name="陈晓婷")
    for i in range(3):
        customer = f.CustomerFactory(store=store, name=f"客户{i}")
        f.RepairOrderFactory(customer=customer, settled_at=timezone.now() - dt.timedelta(hours=30 + i))
    followup_tasks_generate(store_id=store.pk)
    assert FollowupTask.objects.count() >= 3
    return store


def test_the_queue_is_usable_on_a_phone_390px_wide(queue, live_server, browser, login, until):
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    login(page, live_server.url, "kefu")
    page.goto(f"{live_server.url}/followups/")
    rows = page.locator("#queue-table tbody tr[data-task]")
    expect(rows.first).to_be_visible()
    expect(page.locator("#queue-table thead")).to_be_hidden()  # one card per call instead of columns
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing scrolls sideways
    claim = rows.first.locator("button[type=submit]")
    box = claim.bounding_box()
    assert box["height"] < 50 and box["width"] >= 60  # "认领" on one line, big enough for a thumb
    due = rows.first.locator("td").nth(1)
    assert "回访期限" in due.evaluate("td => getComputedStyle(td, '::before').content")  # the column's name shows
    task_id = int(rows.first.get_attribute("data-task"))
    claim.click()
    until(page, lambda: FollowupTask.objects.filter(pk=task_id, claimed_by__username="kefu").exists())
