"""No English left on a Chinese page: every page of the classes part, rendered in zh-Hans with lost, loyal and new
customers, a flow, a churn reason and a call of a lost customer on it, shows no English word but the language
switcher's and the product's name.

The Chinese of this part's strings is in its translations fragment until the lead merges it into
`aftercare/locale` (no edits there on a part's branch): until then the test is skipped, naming why."""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from aftercare.care.services.classes import churn_reason_record, customers_classify
from aftercare.org.choices import Role
from aftercare.testing.i18n import english_words

from .classes_helpers import care_task, customer, delivered, visit

pytestmark = pytest.mark.django_db




@time_machine.travel(dt.datetime(2026, 7, 20, 2, tzinfo=dt.UTC), tick=False)
def test_the_class_pages_speak_chinese(store_a, users):
    manager = users[Role.CS_MANAGER]
    lost, loyal, new = customer(store_a), customer(store_a), customer(store_a)
    visit(lost, "2025-06-01")
    visit(lost, "2026-01-03")
    visit(loyal, "2025-09-01")
    visit(loyal, "2026-03-01")
    delivered(new, "2026-05-01")
    customers_classify(today=dt.date(2026, 6, 30))
    customers_classify(today=dt.date(2026, 7, 20))
    churn_reason_record(actor=manager, customer=lost, reason="moved", note="搬家")
    task = care_task(lost, "2026-07-19")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(manager)
    pages = ["/care/classes/", "/care/classes/?month=2026-06", "/care/classes/flow/?month=2026-07&from=regular&to=lost",
             "/care/classes/settings/", "/care/winback/", f"/customers/{lost.pk}/", f"/customers/{loyal.pk}/",
             f"/followups/tasks/{task.pk}/", "/today/"]
    found = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        if words := english_words(response.content.decode()):
            found[url] = sorted(words)
    assert not found, found
