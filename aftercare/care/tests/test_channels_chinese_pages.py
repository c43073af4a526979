"""No English left on a Chinese page of the channels part: the delivery log with a message of every status and
channel, the template pages and the customer's opt-out page (ask, done, refused). Runs once the part's
translations are in the catalogue (the lead merges them at the merge; until then it skips, saying so)."""



from aftercare.followups.choices import LetterStatus
from aftercare.followups.models import LetterLog, MessageTemplate
from aftercare.followups.services.outbound import optout_token
from aftercare.testing import factories as f
from aftercare.testing.i18n import english_words

ALLOWED = {"English", "aftercare", "openid"}  # variables in <code> are typed as they are (e.g. {date})






def test_it_shows_the_channel_pages_in_chinese_only(client, manager, store_a):
    customer = f.CustomerFactory(store=store_a, name="王芳", mobile="+8613800000001")
    for i, status in enumerate(LetterStatus.values):
        LetterLog.objects.create(
            store=store_a, customer=customer, kind="message", channel=("sms", "email", "wechat")[i % 3],
            purpose=("service", "marketing")[i % 2], status=status, text="您好", error="网关错误",
        )
    template = MessageTemplate.objects.create(group=store_a.group, code="a1", name="保养提醒", purpose="service",
                                              channel="sms", body_zh="{customer_name}您好")
    client.force_login(manager)
    for url in ("/care/messages/", "/care/templates/", "/care/templates/new/", f"/care/templates/{template.pk}/",
                "/care/channels/settings/"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page.status_code == 200, url
        assert english_words(page.content.decode(), ALLOWED) == set(), url
    bad = client.post("/care/templates/new/", {"code": "a2", "name": "促销", "purpose": "marketing", "channel": "sms",
                                               "body_zh": "{coupon}"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "未知变量 {coupon}" in bad.content.decode()
    bad = client.post("/care/channels/settings/", {"quiet_start": "22:00", "quiet_end": "07:00",
                                                   "marketing_weekly_cap": "1", "calls_weekly_cap": "0"},
                      HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert bad.status_code == 400 and english_words(bad.content.decode(), ALLOWED) == set()


def test_it_shows_the_opt_out_page_in_chinese_only(client, store_a):
    customer = f.CustomerFactory(store=store_a, consent_marketing=True)
    url = f"/care/optout/{optout_token(customer.pk)}/"
    for response in (client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans"), client.post(url, HTTP_ACCEPT_LANGUAGE="zh-hans"),
                     client.get("/care/optout/x/", HTTP_ACCEPT_LANGUAGE="zh-hans")):
        assert english_words(response.content.decode(), ALLOWED) == set()
