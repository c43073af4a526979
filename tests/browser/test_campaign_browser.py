"""Browser test in Debian's Chromium (issue 18, "Campaigns"): a CS manager builds a segment on the campaign
builder, sees its live count change, saves and launches an invitation campaign; the calls appear in a CS
specialist's queue, the loyal customers first.

    .venv/bin/pytest -m browser tests/browser/test_campaign_browser.py
"""

import datetime as dt
import os

import pytest
import time_machine
from playwright.sync_api import expect

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from aftercare.care.choices import CampaignState, CustomerClass  # noqa: E402
from aftercare.care.models import Campaign, CampaignTarget, CareProfile  # noqa: E402
from aftercare.followups.services.rules import followup_rules_seed_defaults  # noqa: E402
from aftercare.org.calendar import business_date, business_day_start  # noqa: E402
from aftercare.org.choices import Role  # noqa: E402
from aftercare.testing import factories as f  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def store_with_classes(transactional_db):
    """GZ01 with a CS manager and a CS specialist; two loyal, three regular and one lost customer (marketing consent)
    and a loyal one who refused marketing: {class: [customers]}."""
    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    followup_rules_seed_defaults(store)
    for username, role, name in (("jingli", Role.CS_MANAGER, "王经理"), ("kefu", Role.CS_SPECIALIST, "陈晓婷")):
        f.StaffFactory(user=f.UserFactory(username=username), group=store.group, role=role, stores=[store],
                       display_name=name)
    out: dict[str, list] = {}
    for klass, n in ((CustomerClass.REGULAR, 3), (CustomerClass.LOYAL, 2), (CustomerClass.LOST, 1)):
        for i in range(n):
            c = f.CustomerFactory(store=store, name=f"{klass}-{i}", consent_marketing=True)
            f.owned_vehicle(c)
            CareProfile.objects.create(store=store, customer=c, customer_class=klass)
            out.setdefault(klass, []).append(c)
    refused = f.CustomerFactory(store=store, name="refused", consent_marketing=False)
    f.owned_vehicle(refused)
    CareProfile.objects.create(store=store, customer=refused, customer_class=CustomerClass.LOYAL)
    return out


def test_a_manager_builds_counts_and_launches_and_the_specialist_calls_loyal_first(store_with_classes, live_server,
                                                                                    browser, login, until):
    today = business_date()
    start = today + dt.timedelta(days=5)  # calls start today (14 days before is past), the second wave in 3 days
    manager = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN").new_page()
    manager.set_default_timeout(15_000)
    login(manager, live_server.url, "jingli")
    manager.goto(f"{live_server.url}/care/campaigns/new/")
    count = manager.locator("#segment-count")
    expect(count).to_have_attribute("data-count", "6")  # every customer with marketing consent
    manager.check("#campaign-form input[name=classes][value=loyal]")
    expect(count).to_have_attribute("data-count", "2")  # swapped in by HTMX after the debounce
    manager.check("#campaign-form input[name=classes][value=regular]")
    expect(count).to_have_attribute("data-count", "5")
    manager.fill("#campaign-form input[name=name]", "清洗节气门")
    manager.fill("#campaign-form input[name=event_start]", start.isoformat())
    manager.fill("#campaign-form input[name=event_end]", (start + dt.timedelta(days=6)).isoformat())
    manager.click("#campaign-save")
    until(manager, lambda: Campaign.objects.exists())
    campaign = Campaign.objects.get()
    manager.wait_for_url(f"{live_server.url}/care/campaigns/{campaign.pk}/")
    expect(manager.locator("#draft-count")).to_contain_text("5")
    manager.click("#campaign-launch")
    until(manager, lambda: Campaign.objects.filter(state=CampaignState.LAUNCHED).exists())
    manager.wait_for_url(f"{live_server.url}/care/campaigns/{campaign.pk}/")
    expect(manager.locator("#fig-targeted .h4")).to_have_text("5")
    expect(manager.locator("#campaign-launch")).to_have_count(0)
    manager.context.close()

    loyal = {c.name for c in store_with_classes[CustomerClass.LOYAL]}
    regular = {c.name for c in store_with_classes[CustomerClass.REGULAR]}
    assert {t.customer.name for t in CampaignTarget.objects.select_related("customer")} == loyal | regular

    specialist = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN").new_page()
    specialist.set_default_timeout(15_000)
    login(specialist, live_server.url, "kefu")
    # today: the first wave, the loyal customers only
    specialist.goto(f"{live_server.url}/followups/")
    names = specialist.locator("#queue-table tbody tr td:nth-child(4)")
    expect(names).to_have_count(2)
    assert set(names.all_text_contents()) == loyal
    # three days later the second wave is due too: the loyal customers still first
    with time_machine.travel(business_day_start(today + dt.timedelta(days=3)) + dt.timedelta(hours=10), tick=True):
        specialist.goto(f"{live_server.url}/followups/")
        expect(names).to_have_count(5)
        listed = names.all_text_contents()
        assert set(listed[:2]) == loyal and set(listed[2:]) == regular
    specialist.context.close()
