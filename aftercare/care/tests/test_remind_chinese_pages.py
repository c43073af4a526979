"""No English left on a Chinese reminder page: the list with reminders of every kind and state, the rules page, a
rule's edit page (with an error), the customer 360's projected dates and the start page's card, rendered in
zh-Hans for the CS manager, show no English word but the language switcher's and the product's name.

The translations come from the project catalog (`aftercare/locale`); until the reminder part's strings are merged
into it (fragment `remind.po`), the test skips, saying so."""

import datetime as dt
import re

import pytest
from django.test import Client

from aftercare.care.choices import ReminderAction, ReminderKind, ReminderState
from aftercare.care.models import Reminder
from aftercare.care.services.remind import reminder_rules_map, reminders_generate
from aftercare.org.calendar import business_date, business_day_start
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from aftercare.testing.i18n import english_words

pytestmark = pytest.mark.django_db




@pytest.fixture
def world(store_a, users):
    today = business_date()
    customer = f.CustomerFactory(store=store_a, name="王小明")
    vehicle = f.owned_vehicle(customer, plate="粤A12345", model="凯美瑞", delivery_date=dt.date(2024, 3, 1),
                              warranty_end=today + dt.timedelta(days=10))
    f.RepairOrderFactory(customer=customer, vehicle=vehicle, kind="maintenance", mileage=20000,
                         settled_at=business_day_start(today - dt.timedelta(days=100)))
    f.RepairOrderFactory(customer=customer, vehicle=vehicle, kind="mechanical", mileage=25000,
                         settled_at=business_day_start(today))
    for i, (kind, state) in enumerate(zip(ReminderKind.values, ReminderState.values * 2, strict=False)):
        c = f.CustomerFactory(store=store_a, name=f"李{i}")
        v = f.owned_vehicle(c, plate=f"粤B1000{i}", model="英朗") if kind != ReminderKind.BIRTHDAY else None
        Reminder.objects.create(store=store_a, customer=c, vehicle=v, kind=kind, due_on=today - dt.timedelta(i),
                                made_on=today - dt.timedelta(days=10), action=ReminderAction.CALL, state=state,
                                came_until=today + dt.timedelta(days=20))
    reminders_generate(store_id=store_a.pk, today=today)
    return {"customer": customer}


def test_it_leaves_no_english_on_the_reminder_pages(world, users, store_a):
    manager = users[Role.CS_MANAGER]
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(manager)
    rule = reminder_rules_map([store_a.pk])[store_a.pk][ReminderKind.MAINTENANCE]
    pages = {
        "/care/reminders/": "王小明",
        "/care/reminders/?due=overdue": "",
        "/care/reminders/settings/": "提醒规则",
        f"/care/reminders/rules/{rule.pk}/": "提醒规则",
    }
    for url, expected in pages.items():
        resp = client.get(url)
        html = resp.content.decode()
        assert resp.status_code == 200, url
        assert expected in html, url
        assert not english_words(html), (url, english_words(html))
    resp = client.post(f"/care/reminders/rules/{rule.pk}/", {"lead_days": "x", "came_days": "0", "action": "call"})
    assert resp.status_code == 400 and not english_words(resp.content.decode())
    html = client.get(f"/customers/{world['customer'].pk}/").content.decode()
    panel = re.search(r'<table class="table table-sm mb-0" id="customer-care-dues">.*?</table>', html, re.S).group(0)
    assert "粤A12345" in panel and not english_words(panel), english_words(panel)
    specialist = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    specialist.force_login(users[Role.CS_SPECIALIST])
    html = specialist.get("/today/").content.decode()
    card = re.search(r'<[^<>]*data-card="care.reminders_due".*?</ul>', html, re.S).group(0)
    assert "今日到期的提醒" in card and not english_words(card), english_words(card)
