"""The rules page in the reader's language: a default rule's name as shipped shows translated (it is stored in the
site's language when the store is made), a name the store changed shows as typed; who may call shows role names;
a message's reason for not being sent shows translated (`LetterLog.error_label`)."""

import pytest
from django.test import Client
from django.utils import translation

from aftercare.followups.models import LetterLog
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import Role

pytestmark = pytest.mark.django_db


def test_it_shows_a_shipped_rule_name_in_the_readers_language_and_a_changed_one_as_typed(store_a):
    rules = {r.code: r for r in followup_rules_seed_defaults(store_a)}
    ssi, csi = rules["SSI"], rules["CSI"]
    with translation.override("zh-hans"):
        stored_zh = ssi.name
        assert ssi.display_name == stored_zh
    with translation.override("en"):
        assert ssi.display_name == "New-car SSI follow-up"
        ssi.name = "New-car SSI follow-up"  # a store made while the site spoke English
    with translation.override("zh-hans"):
        assert ssi.display_name == stored_zh
    csi.name = "售后回访（本店）"
    with translation.override("en"):
        assert csi.display_name == "售后回访（本店）"


def test_the_rules_page_names_roles_and_rules_in_english_for_an_english_reader(store_a, users):
    followup_rules_seed_defaults(store_a)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(users[Role.CS_MANAGER])
    page = client.get("/followups/rules/").content.decode()
    html = page[page.index('id="rule-table"') : page.index("</table>", page.index('id="rule-table"'))]
    assert "Insurance renewal contact" in html
    with translation.override("en"):
        assert str(Role.RENEWAL_SPECIALIST.label) in html
    assert "renewal_specialist" not in html
    assert "cs_manager" not in html


def test_it_translates_why_a_message_was_not_sent_and_leaves_a_providers_error_as_it_came():
    with translation.override("zh-hans"):
        assert LetterLog(error="weekly cap reached").error_label == "已达每周营销消息上限"
        assert LetterLog(error="no wechat address").error_label == "未绑定微信"
        assert LetterLog(error="WechatError: 43004 require subscribe").error_label == ""
