"""Browser test in Debian's Chromium: the reveal limit's 429 fragment is swapped in place (htmx `responseHandling`
in base.html), and a locked login shows its message on the login page.

    .venv/bin/pytest -m browser tests/browser/test_throttle_browser.py
"""

import pytest

from aftercare.customers import services
from aftercare.org.choices import Role
from aftercare.org.models import Store
from aftercare.testing import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture
def kefu(transactional_db):
    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    user = f.UserFactory(username="kefu")
    f.StaffFactory(user=user, group=store.group, role=Role.CS_SPECIALIST, stores=[store], display_name="陈晓婷")
    return user, store


def _log_in(page, live_server, password="password"):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "kefu")
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")


def test_it_shows_the_reveal_limit_in_place(kefu, live_server, page):
    user, store = kefu
    Store.objects.filter(pk=store.pk).update(phone_reveals_per_hour=1)
    store.refresh_from_db()
    first = f.CustomerFactory(store=store, mobile="+8613926081234")
    second = f.CustomerFactory(store=store, name="黄志强", mobile="+8613926085678")
    services.customer_phone_reveal(actor=user, customer=first)
    _log_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/today/")  # the start page is the landing page after log-in
    page.goto(f"{live_server.url}/customers/{second.pk}/")
    page.locator("#customer-phones button").click()
    page.locator("[data-testid=reveal-refused]").wait_for()
    text = page.inner_text("#customer-phones")
    assert "上限" in text or "limit" in text
    assert "139 2608 5678" not in page.content()


def test_it_shows_the_lockout_on_the_login_page(kefu, live_server, page, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        _log_in(page, live_server, password="wrong")
    page.locator("#login-locked").wait_for()
    _log_in(page, live_server)  # the right password, still locked
    page.locator("#login-locked").wait_for()
    assert page.url.endswith("/login/")
