"""No English left on a Chinese page: every renewal page, rendered in zh-Hans with a case, a contact, an outcome and
claim assistance on it, shows no English word but the language switcher's and the product's name."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from aftercare.org.choices import Role
from aftercare.renewals.models import RenewalCase, RenewalGift
from aftercare.renewals.services.claims import claim_assist_open
from aftercare.renewals.services.generation import renewals_daily
from aftercare.renewals.services.work import renewal_case_claim, renewal_contact_record, renewal_outcome_record
from aftercare.testing.i18n import english_words

pytestmark = pytest.mark.django_db




@time_machine.travel(dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC), tick=False)
def test_the_renewal_pages_speak_chinese(store_a, users, policy_due):
    manager = users[Role.CS_MANAGER]
    renewals_daily(store_id=store_a.pk, today=dt.date(2026, 11, 16))
    case = RenewalCase.objects.get()
    gift = RenewalGift.objects.create(store=store_a, name="洗车券", cost=Decimal("100"))
    renewal_case_claim(actor=manager, case=case)
    renewal_contact_record(actor=manager, case=case, result="no_answer")
    renewal_contact_record(actor=manager, case=case, result="interested", quote_insurer="人保",
                           quote_premium=Decimal("4800"), gift=gift)
    claim_assist_open(actor=manager, policy=policy_due, reported_on=dt.date(2026, 11, 10), description="追尾")
    renewal_outcome_record(actor=manager, case=case, outcome="not_renewed", reason="price")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(manager)
    pages = ["/renewals/?due=all", "/renewals/?due=today", f"/renewals/{case.pk}/", "/renewals/settings/",
             "/renewals/measures/?year=2026&month=2026-12", "/renewals/import/", "/today/",
             f"/customers/{case.customer_id}/"]
    found = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        if words := english_words(response.content.decode()):
            found[url] = sorted(words)
    assert not found, found
