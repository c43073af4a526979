"""Browser test in Debian's Chromium: the renewal specialist opens today's list, records an unanswered call and a
contact with a quote, then the renewal; the month's renewal count and amount go up on the measures page.

    .venv/bin/pytest -m browser tests/browser/test_renewal_browser.py
"""

import datetime as dt
import os

import pytest
from playwright.sync_api import expect

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from aftercare.followups.services.rules import followup_rules_seed_defaults  # noqa: E402
from aftercare.org.calendar import business_date  # noqa: E402
from aftercare.org.choices import Role  # noqa: E402
from aftercare.renewals.models import RenewalCase  # noqa: E402
from aftercare.renewals.services.generation import renewals_daily  # noqa: E402
from aftercare.testing import factories as f  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def renewal_due(transactional_db):
    """GZ01 with its renewal specialist, and a policy expiring in 45 days: its first contact is due today."""
    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    followup_rules_seed_defaults(store)
    user = f.UserFactory(username="gz_renewal")
    f.StaffFactory(user=user, group=store.group, role=Role.RENEWAL_SPECIALIST, stores=[store], display_name="陈续保")
    customer = f.CustomerFactory(store=store, name="黄志强")
    vehicle = f.owned_vehicle(customer, model="昂科威 Plus")
    today = business_date()
    expiry = today + dt.timedelta(days=45)
    f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, kind="new_car", insurer="中国人保",
                             start_date=expiry - dt.timedelta(days=364), expiry_date=expiry)
    renewals_daily(store_id=store.pk, today=today)
    return RenewalCase.objects.get()


def _cell(page, row: str, period: str) -> str:
    return page.inner_text(f"#measures-table tr[data-row={row}] td[data-period='{period}']").split("\n")[0].strip()


def test_it_works_todays_renewal_from_the_list_to_the_months_figures(renewal_due, live_server, page, login, until):
    case = renewal_due
    start = case.expiry_date + dt.timedelta(days=1)  # the renewal policy's first day: its month counts it
    period = f"{start:%Y-%m}-month"
    measures = f"{live_server.url}/renewals/measures/?year={start.year}&month={start:%Y-%m}"
    login(page, live_server.url, "gz_renewal")

    page.goto(measures)
    assert _cell(page, "renewal_count", period) == "0"

    page.goto(f"{live_server.url}/renewals/")
    rows = page.locator("tr[data-case]")
    assert rows.count() == 1 and "黄志强" in rows.first.inner_text()  # today's list: the contact due today
    rows.first.locator("a").first.click()
    page.wait_for_url(f"{live_server.url}/renewals/{case.pk}/")
    page.click("#claim-case")
    page.wait_for_selector("#contact-form")

    page.select_option("#contact-form select[name=result]", "no_answer")
    page.click("#contact-form button[type=submit]")
    until(page, lambda: RenewalCase.objects.get(pk=case.pk).attempts == 1)  # the case block is swapped in again
    expect(page.locator("#contact-form select[name=result]")).to_have_value("")
    page.select_option("#contact-form select[name=result]", "interested")
    page.fill("#contact-form input[name=quote_insurer]", "中国人保")
    page.fill("#contact-form input[name=quote_premium]", "4980")
    page.fill("#contact-form input[name=next_step]", "周五确认续保")
    page.click("#contact-form button[type=submit]")
    page.locator("#contacts-table").get_by_text("周五确认续保").wait_for()

    before = page.inner_text("#case-state")
    page.select_option("#outcome-form select[name=outcome]", "renewed_here")
    page.fill("#outcome-form input[name=insurer]", "中国人保")
    page.fill("#outcome-form input[name=premium]", "4980")
    page.fill("#outcome-form input[name=policy_number]", "PDAA2027GZ0001")
    page.click("#outcome-form button[type=submit]")
    expect(page.locator("#case-state")).not_to_have_text(before)
    case.refresh_from_db()
    assert case.state == "renewed_here" and case.contacts_made == 1 and case.attempts == 2

    page.goto(measures)
    assert _cell(page, "renewal_count", period) == "1"
    assert _cell(page, "renewal_premium", period).replace(",", "") == "4980.00"
