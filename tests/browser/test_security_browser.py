"""Browser tests in Debian's Chromium: the pages work under the Content-Security-Policy (no inline script or style,
no eval) — the scripts moved to static files still do their jobs — and the error pages are friendly.

The CSP guard (tests/browser/conftest.py) fails any test whose pages caused a violation.

    .venv/bin/pytest -m browser tests/browser/test_security_browser.py
"""

import datetime as dt
import re

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from aftercare.dms.models import ImportBatch
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.generation import followup_tasks_for_delivery
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture
def group(transactional_db):
    """Two stores; a group admin (also Django superuser) of both, a CS specialist of one; SSI calls due (the
    manager's chart has a line), a customer to pick on the feedback form and an import under way."""
    gz = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    fs = f.StoreFactory(code="FS01", name="粤通别克佛山店", group=gz.group)
    for store in (gz, fs):
        followup_rules_seed_defaults(store)
        f.DepartmentFactory(store=store, kind=DepartmentKind.SALES, name="销售部")
    admin = f.UserFactory(username="jituan", is_staff=True, is_superuser=True)
    f.StaffFactory(user=admin, group=gz.group, role=Role.GROUP_ADMIN, stores=[gz, fs], display_name="集团管理员")
    kefu = f.UserFactory(username="kefu")
    f.StaffFactory(user=kefu, group=gz.group, role=Role.CS_SPECIALIST, stores=[gz], display_name="陈晓婷")
    customer = f.CustomerFactory(store=gz, name="黄志强", number="GZ0001024")
    vehicle = f.owned_vehicle(customer, model="昂科威 Plus")
    delivery = f.SalesDeliveryFactory(
        store=gz, customer=customer, vehicle=vehicle, delivered_at=timezone.now() - dt.timedelta(hours=20)
    )
    followup_tasks_for_delivery(delivery=delivery)
    # overdue this month: the return-visit rate has a row, the chart a line
    FollowupTask.objects.filter(store=gz).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    batch = ImportBatch.objects.create(
        store=gz, kind="customers", filename="客户.csv", status="running", total_rows=200, processed_rows=74
    )
    return {"gz": gz, "fs": fs, "batch": batch}


def _log_in(browser, live_server, username, locale="zh-CN"):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    return page


def test_it_runs_every_scripted_page_under_the_csp(group, live_server, browser):
    base = live_server.url
    page = _log_in(browser, live_server, "jituan")

    # the manager's return-visit chart: Chart.js draws it from the page's JSON without eval or inline script
    page.goto(f"{base}/followups/manage/")
    page.locator("#rate-chart canvas").wait_for()

    # the store switcher sends its form on change (was onchange="this.form.submit()")
    with page.expect_navigation():
        page.select_option("#store-select", str(group["fs"].pk))
    expect(page.locator("#store-select")).to_have_value(str(group["fs"].pk))
    with page.expect_navigation():
        page.select_option("#store-select", "")

    # data quality: a kind tab loads its rows with htmx and becomes the active one (was hx-on::after-request)
    page.goto(f"{base}/customers/quality/")
    tabs = page.locator("#dq-kinds .nav-link")
    assert tabs.count() > 1
    with page.expect_response(lambda r: "/customers/quality/" in r.url):
        tabs.nth(1).click()
    expect(tabs.nth(1)).to_have_class(re.compile(r"\bactive\b"))
    expect(tabs.nth(0)).not_to_have_class(re.compile(r"\bactive\b"))

    # complaint settings: the store choice sends its form
    page.goto(f"{base}/complaints/settings/")
    if page.locator("#settings-store").count():
        with page.expect_navigation():
            page.select_option("#settings-store", str(group["fs"].pk))
        assert f"store={group['fs'].pk}" in page.url

    # the feedback form's customer picker fills in the number (was an inline <script>)
    page.goto(f"{base}/complaints/new/")
    page.locator("#customer-q").press_sequentially("GZ0001024", delay=20)
    page.locator("#customer-choices [data-customer-number]").first.click()
    expect(page.locator("#id_customer_number")).to_have_value("GZ0001024")

    # an import's progress bar gets its width from data-width, also after htmx swapped it in again
    page.goto(f"{base}/imports/{group['batch'].pk}/")
    bar = page.locator("#import-progress .progress-bar")
    expect(bar).to_have_attribute("style", "width: 37%;")
    with page.expect_response(lambda r: "/progress/" in r.url):
        pass
    expect(page.locator("#import-progress .progress-bar")).to_have_attribute("style", "width: 37%;")

    # the API's interactive docs: Swagger UI from our own static files
    page.goto(f"{base}/api/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()

    # Django admin
    page.goto(f"{base}/admin/")
    page.locator("#content").wait_for()
    page.goto(f"{base}/admin/org/store/")
    page.locator("#result_list").wait_for()


def test_it_shows_friendly_error_pages_in_both_languages(group, live_server, browser):
    base = live_server.url
    page = _log_in(browser, live_server, "kefu")

    page.goto(f"{base}/followups/manage/")  # a CS specialist may not manage the queues
    assert page.locator("#error-page").get_attribute("data-status") == "403"
    assert page.locator("html").get_attribute("lang") == "zh-hans"  # Chinese by default
    with translation.override("zh-hans"):
        assert gettext("No permission") in page.inner_text("#error-page")
    page.click("#language-switcher button[lang=en]")
    page.wait_for_load_state()
    assert "No permission" in page.inner_text("#error-page")

    response = page.goto(f"{base}/customers/999999/")
    assert response.status == 404
    assert "Page not found" in page.inner_text("#error-page")
    assert "Traceback" not in page.content()
    page.click("#error-page a[href='/']")
    page.wait_for_load_state()
    assert page.locator("#error-page").count() == 0


def test_it_fails_a_page_that_violates_the_csp(browser, csp_guard):
    """The guard itself: an inline script on a page served with the policy is reported."""
    context = browser.new_context()
    page = context.new_page()
    policy = "default-src 'self'; script-src 'self'"
    page.route(
        "http://aftercare.test/",
        lambda route: route.fulfill(
            status=200,
            headers={"Content-Type": "text/html", "Content-Security-Policy": policy},
            body="<!doctype html><title>t</title><p>x</p><script>document.title = 'ran'</script>",
        ),
    )
    page.goto("http://aftercare.test/")
    assert page.title() == "t"  # the inline script was blocked
    with pytest.raises(AssertionError, match="Content-Security-Policy violations"):
        csp_guard.check()
    csp_guard.violations.clear()  # the violation was the point of this test
    context.close()
