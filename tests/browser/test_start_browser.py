"""Browser test in Debian's Chromium, one per role: the user signs in, lands on the start page (`/today/`), sees the
cards of the role's work (planted: calls, forms, a renewal contact due today), clicks a number and lands on the list
of its rows.

    .venv/bin/pytest -m browser tests/browser/test_start_browser.py
"""

import os

import pytest
from django.utils import timezone

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from aftercare.org.choices import Role  # noqa: E402
from aftercare.org.tests.start_world import plant  # noqa: E402
from aftercare.testing import factories as f  # noqa: E402

pytestmark = pytest.mark.browser

# the card whose first non-zero number the role clicks, and the page it must land on
CLICK = {
    Role.CS_SPECIALIST: ("followups.my_calls", "/followups/"),
    Role.CS_MANAGER: ("followups.store_calls", "/followups/manage/"),
    Role.RENEWAL_SPECIALIST: ("renewals.my_renewals", "/renewals/"),
    Role.DEPARTMENT_DESIGNEE: ("complaints.my_forms", "/complaints/inbox/"),
    Role.SUPERVISOR: ("complaints.my_forms", "/complaints/inbox/"),
    Role.SERVICE_ADVISOR: ("appointments.today", "/appointments/"),
    Role.STORE_MANAGER: ("complaints.store_forms", "/complaints/"),
    Role.GROUP_ADMIN: ("followups.store_calls", "/followups/manage/"),
    Role.QUALITY_ENGINEER: ("quality.alarms", "/quality/alarms/"),
    Role.ITINERANT_SERVICE: ("quality.reports", "/quality/reports/"),
}
assert set(CLICK) == set(Role.values), "every role needs its click (a new role must be added here)"


@pytest.fixture
def world(transactional_db):
    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    users = {}
    for role in Role.values:
        user = f.UserFactory(username=f"start_{role}")
        f.StaffFactory(user=user, group=store.group, role=role, stores=[store], display_name=role)
        users[role] = user
    plant(store, users, timezone.now())
    return users


@pytest.mark.parametrize("role", Role.values)
def test_it_lands_on_the_roles_cards_and_a_number_opens_its_rows(world, role, live_server, page, login):
    login(page, live_server.url, f"start_{role}")
    assert page.url == f"{live_server.url}/today/"
    key, landing = CLICK[role]
    card = page.locator(f'[data-card="{key}"]')
    card.wait_for()
    if role in (Role.CS_MANAGER, Role.STORE_MANAGER, Role.GROUP_ADMIN):
        assert page.locator('[data-card="org.kpi_glance"] .kpi-gap').count() >= 1  # KPIs against target
    rows = card.locator("li")
    numbers = [rows.nth(i).locator("[data-count]").get_attribute("data-count") for i in range(rows.count())]
    pick = next((i for i, n in enumerate(numbers) if n != "0"), 0)
    href = rows.nth(pick).locator("a").get_attribute("href")
    assert href.startswith(landing), href
    rows.nth(pick).locator("a").click()
    page.wait_for_url(lambda url: url == f"{live_server.url}{href}")
    assert page.locator("main").count() == 1 and "Server Error" not in page.content()
