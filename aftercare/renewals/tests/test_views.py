"""The renewal pages: the follow-up table and its Today view, the case page (claim, release, assign, contacts,
outcome) and the store's renewal settings — as the specialist and the manager use them."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftercare.core.models import AuditEvent
from aftercare.followups.choices import TaskStatus
from aftercare.followups.models import FollowupTask
from aftercare.org.choices import Role
from aftercare.org.permissions import ROLE_PERMISSIONS, Perm
from aftercare.renewals.choices import SEGMENT_PRIORITY, CaseState, Segment
from aftercare.renewals.models import RenewalCase, RenewalContact, RenewalGift, RenewalSettings
from aftercare.renewals.services import configuration
from aftercare.renewals.services.generation import renewal_contacts_plan
from aftercare.testing import factories as f
from conftest import CANARY

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)  # 45 days before 2026-12-31: the first contact of such a case is due
NOW = dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)  # 10:00 in Shanghai
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_ACCEPT_LANGUAGE": "en"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


def make_case(store, *, expiry=dt.date(2026, 12, 31), segment=Segment.RENEWED_HERE, name="张三", model="GL8",
              plate="", estimated=False, holder=None, premium=Decimal("5200.00"), **kwargs) -> RenewalCase:
    customer = f.CustomerFactory(store=store, name=name, mobile=f.make_mobile())
    vehicle = f.owned_vehicle(customer, model=model, **({"plate": plate} if plate else {}))
    policy = None
    if not estimated:
        policy = f.InsurancePolicyFactory(
            store=store, customer=customer, vehicle=vehicle, insurer="人保财险", premium=premium,
            start_date=expiry - dt.timedelta(days=364), expiry_date=expiry,
        )
    return RenewalCase.objects.create(
        store=store, customer=customer, vehicle=vehicle, policy=policy, expiry_date=expiry, expiry_estimated=estimated,
        segment=segment, priority=SEGMENT_PRIORITY[segment], previous_insurer="人保财险",
        previous_premium=None if estimated else premium, holder=holder, claimed_at=timezone.now() if holder else None,
        **kwargs,
    )


def staff_user(store, role=Role.RENEWAL_SPECIALIST, name="renewal_2"):
    user = f.UserFactory(username=name)
    f.StaffFactory(user=user, group=store.group, role=role, stores=[store], display_name=name)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(response) -> list[int]:
    """The case ids of the list's rows, in order."""
    import re

    return [int(m) for m in re.findall(r'data-case="(\d+)"', response.content.decode())]


# ---- the list --------------------------------------------------------------------------------------------------


def test_it_lists_the_cases_in_calling_order_with_the_seeds_columns(store_a, manager):
    lost = make_case(store_a, segment=Segment.LAPSED_LOST, expiry=dt.date(2026, 12, 1))
    later = make_case(store_a, segment=Segment.RENEWED_HERE, expiry=dt.date(2027, 1, 20), plate="粤A12345")
    first = make_case(store_a, segment=Segment.RENEWED_HERE, expiry=dt.date(2026, 12, 31), name="李四")
    estimated = make_case(store_a, segment=Segment.INSURED_ELSEWHERE, estimated=True, expiry=dt.date(2026, 12, 5))
    renewal_contacts_plan(store_id=store_a.pk, today=TODAY)
    response = client_for(manager).get("/renewals/", **EN)
    assert response.status_code == 200
    assert rows(response) == [first.pk, later.pk, estimated.pk, lost.pk]  # segment priority, then expiry
    html = response.content.decode()
    mobile = first.customer.mobile
    assert mobile not in html and f"{mobile[3:6]}****{mobile[-4:]}" in html  # masked, with the reveal button
    assert f"/customers/{first.customer_id}/reveal-phone/" in html
    assert "粤A12345" in html and "GL8" in html and "2026-12-31" in html
    assert html.count(">estimated<") == 1
    assert "Contact 4" in html and "due 11-16" in html  # the first contact of the case expiring 12-31
    assert "Renewed here last year" in html and "unclaimed" in html


def test_it_filters_by_month_segment_state_holder_and_store(store_a, store_b, users):
    me = users[Role.CS_MANAGER]
    other = staff_user(store_a)
    dec = make_case(store_a, expiry=dt.date(2026, 12, 20), holder=me)
    jan = make_case(store_a, expiry=dt.date(2027, 1, 10), segment=Segment.NEW_CAR_FIRST, holder=other)
    done = make_case(store_a, expiry=dt.date(2026, 12, 2), state=CaseState.NOT_RENEWED, outcome="not_renewed",
                     outcome_reason="price")
    client = client_for(me)

    def ids(**query):
        return set(rows(client.get("/renewals/", {"due": "all", **query}, **EN)))

    assert ids() == {dec.pk, jan.pk, done.pk}
    assert ids(month="2026-12") == {dec.pk, done.pk}
    assert ids(segment=Segment.NEW_CAR_FIRST) == {jan.pk}
    assert ids(state="open") == {dec.pk, jan.pk}
    assert ids(state=CaseState.NOT_RENEWED) == {done.pk}
    assert ids(holder="me") == {dec.pk}
    assert ids(holder="none") == {done.pk}
    assert ids(holder=str(other.pk)) == {jan.pk}
    assert ids(month="not-a-month", segment=Segment.NEW_CAR_FIRST) == {jan.pk}  # a bad filter is left out
    response = client.get("/renewals/", {"month": "2026-13", "holder": "nobody"}, **EN)
    assert response.status_code == 200 and "Enter a valid date." in response.content.decode()
    # a user of two stores filters by store
    group_admin = users[Role.GROUP_ADMIN]
    b_case = make_case(store_b)
    admin = client_for(group_admin)
    assert set(rows(admin.get("/renewals/", {"due": "all", "store": store_b.pk}))) == {b_case.pk}
    assert set(rows(admin.get("/renewals/", {"due": "all"}))) == {dec.pk, jan.pk, done.pk, b_case.pk}


def test_it_opens_a_specialist_on_what_to_call_today(store_a, renewal_user):
    colleague = staff_user(store_a)
    due = make_case(store_a, expiry=dt.date(2026, 12, 31))  # first contact due today
    overdue = make_case(store_a, expiry=dt.date(2026, 12, 20))  # due 11-05
    not_yet = make_case(store_a, expiry=dt.date(2027, 1, 20))  # due 12-06
    theirs = make_case(store_a, expiry=dt.date(2026, 12, 25), holder=colleague)
    call_back_today = make_case(store_a, expiry=dt.date(2026, 12, 22), holder=renewal_user)
    call_back_later = make_case(store_a, expiry=dt.date(2026, 12, 23), holder=renewal_user)
    renewal_contacts_plan(store_id=store_a.pk, today=TODAY)
    for case, at in ((call_back_today, NOW + dt.timedelta(hours=5)), (call_back_later, NOW + dt.timedelta(days=1))):
        FollowupTask.objects.filter(renewal_contact__case=case).update(next_call_at=at, attempts=1)
    client = client_for(renewal_user)
    response = client.get("/renewals/", **EN)
    assert set(rows(response)) == {due.pk, overdue.pk, call_back_today.pk}
    assert 'id="tab-today"' in response.content.decode()
    everything = set(rows(client.get("/renewals/?due=all", **EN)))
    assert {not_yet.pk, theirs.pk, call_back_later.pk} <= everything
    # the manager's Today shows every due case, whoever holds it
    manager = staff_user(store_a, Role.CS_MANAGER, "mgr")
    assert theirs.pk in rows(client_for(manager).get("/renewals/?due=today"))


def _count_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/renewals/?due=all", **EN)
    assert response.status_code == 200
    return len(ctx)


def test_it_keeps_the_list_query_count_flat_as_rows_grow(store_a, manager):
    holder = staff_user(store_a)
    for i in range(2):
        make_case(store_a, expiry=dt.date(2026, 12, 20 + i), holder=holder)
    renewal_contacts_plan(store_id=store_a.pk, today=TODAY)
    client = client_for(manager)
    client.get("/renewals/")  # session and caches warm
    few = _count_list_queries(client)
    for i in range(12):
        make_case(store_a, expiry=dt.date(2026, 12, 1 + i), holder=holder if i % 2 else None,
                  estimated=bool(i % 3))
    renewal_contacts_plan(store_id=store_a.pk, today=TODAY)
    assert RenewalContact.objects.count() == 14
    assert _count_list_queries(client) == few


def test_it_refuses_the_pages_to_a_role_without_renewal_work(store_a, specialist):
    case = make_case(store_a)
    client = client_for(specialist)  # a CS specialist: follow-up calls, no renewals
    assert client.get("/renewals/").status_code == 403
    assert client.get(f"/renewals/{case.pk}/").status_code == 403
    assert client.post(f"/renewals/{case.pk}/claim/").status_code == 403
    assert client.get("/renewals/settings/").status_code == 403
    assert 'id="nav-renewals"' not in client.get("/today/").content.decode()


def test_it_answers_404_for_a_case_of_another_store(store_a, store_b, renewal_user):
    foreign = make_case(store_b, name=CANARY)
    client = client_for(renewal_user)
    assert 'id="nav-renewals"' in client.get("/today/").content.decode()
    for url in ("", "claim/", "release/", "contact/", "outcome/"):
        method = client.get if not url else client.post
        assert method(f"/renewals/{foreign.pk}/{url}").status_code == 404, url
    assert CANARY not in client.get("/renewals/?due=all").content.decode()
    foreign.refresh_from_db()
    assert foreign.holder_id is None


# ---- the case page ---------------------------------------------------------------------------------------------


def test_it_shows_the_case_with_its_dates_by_the_store_settings(store_a, renewal_user):
    RenewalSettings.objects.create(store=store_a, list_opens_days=60, contact_days=[40, 20], lapse_chase_days=15,
                                   max_contacts=3)
    case = make_case(store_a, segment=Segment.NEW_CAR_FIRST)
    html = client_for(renewal_user).get(f"/renewals/{case.pk}/", **EN).content.decode()
    assert "2026-11-01" in html  # the list opens 60 days before 2026-12-31
    assert "2026-11-21" in html and "2026-12-11" in html  # contacts due 40 and 20 days before
    assert 'Contact 3 due</dt><dd class="col-7">2026-12-31' in html  # beyond the store's days: on the expiry day
    assert "2027-01-15" in html  # chased 15 days
    assert "New car, first renewal" in html and "first policy coming up for renewal" in html
    assert "¥5200.00" in html and "人保财险" in html
    assert 'id="claim-case"' in html and 'id="contact-form"' not in html


def test_it_claims_and_releases_a_case_over_htmx(store_a, renewal_user):
    case = make_case(store_a)
    renewal_contacts_plan(store_id=store_a.pk, today=TODAY)
    client = client_for(renewal_user)
    response = client.post(f"/renewals/{case.pk}/claim/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and html.startswith('<div id="case">')
    assert "You hold this case now." in html and 'id="release-case"' in html and 'id="contact-form"' in html
    case.refresh_from_db()
    assert case.holder == renewal_user
    assert case.contacts.get().task.claimed_by == renewal_user
    response = client.post(f"/renewals/{case.pk}/release/", **HTMX)
    assert "Case released." in response.content.decode() and 'id="claim-case"' in response.content.decode()
    case.refresh_from_db()
    assert case.holder_id is None and case.contacts.get().task.status == TaskStatus.OPEN


def test_it_tells_the_second_specialist_that_the_case_was_taken(store_a, renewal_user):
    rival = staff_user(store_a)
    case = make_case(store_a)
    first, second = client_for(renewal_user), client_for(rival)
    first_page = first.get(f"/renewals/{case.pk}/")
    second_page = second.get(f"/renewals/{case.pk}/")
    assert 'id="claim-case"' in first_page.content.decode() and 'id="claim-case"' in second_page.content.decode()
    assert first.post(f"/renewals/{case.pk}/claim/", **HTMX).status_code == 200
    response = second.post(f"/renewals/{case.pk}/claim/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Another specialist claimed this case first." in html and 'id="contact-form"' not in html
    # without HTMX: back to the case page with the message
    response = second.post(f"/renewals/{case.pk}/claim/", **EN, follow=True)
    assert "Another specialist claimed this case first." in response.content.decode()
    case.refresh_from_db()
    assert case.holder == renewal_user


def test_it_lets_a_manager_assign_a_case_to_a_renewal_worker(store_a, manager, renewal_user, specialist):
    case = make_case(store_a)
    client = client_for(manager)
    html = client.get(f"/renewals/{case.pk}/").content.decode()
    assert f'value="{renewal_user.pk}"' in html and f'value="{specialist.pk}"' not in html  # renewal workers only
    response = client.post(f"/renewals/{case.pk}/assign/", {"to_user": renewal_user.pk}, **HTMX)
    assert "Case assigned to" in response.content.decode()
    case.refresh_from_db()
    assert case.holder == renewal_user and case.assigned_by == manager
    response = client.post(f"/renewals/{case.pk}/assign/", {"to_user": specialist.pk}, **HTMX)
    assert "Choose whom to assign the case to." in response.content.decode()
    refused = client_for(renewal_user).post(f"/renewals/{case.pk}/assign/", {"to_user": renewal_user.pk})
    assert refused.status_code == 403


def test_it_records_a_contact_and_the_outcome_through_the_forms(store_a, renewal_user):
    gift = RenewalGift.objects.create(store=store_a, name="机油保养一次", cost=Decimal("300.00"))
    RenewalGift.objects.create(store=store_a, name="停用的礼品", cost=Decimal("1.00"), is_active=False)
    case = make_case(store_a)
    renewal_contacts_plan(store_id=store_a.pk, today=TODAY)
    client = client_for(renewal_user)
    client.post(f"/renewals/{case.pk}/claim/", **HTMX)
    page = client.get(f"/renewals/{case.pk}/", **EN).content.decode()
    assert "机油保养一次 (¥300.00)" in page and "停用的礼品" not in page
    response = client.post(f"/renewals/{case.pk}/contact/", {
        "result": "interested", "channel": "phone", "quote_insurer": "平安产险", "quote_premium": "4800",
        "quote_discount": "12.5", "gift": gift.pk, "next_step": "周五来店签单", "notes": "比较价格",
    }, **HTMX)
    assert response.status_code == 200, response.content.decode()
    assert "Contact recorded." in response.content.decode()
    contact = case.contacts.get()
    assert contact.effective and contact.result == "interested" and contact.handler == renewal_user
    assert contact.quote_premium == Decimal("4800") and contact.gift == gift and contact.gift_cost == Decimal("300.00")
    assert contact.call is not None  # in the one call log
    assert "平安产险 ¥4800.00 −12.50%" in response.content.decode() and "周五来店签单" in response.content.decode()
    case.refresh_from_db()
    assert case.contacts_made == 1 and case.attempts == 1
    response = client.post(f"/renewals/{case.pk}/outcome/", {
        "outcome": "renewed_here", "insurer": "平安产险", "premium": "4800", "policy_number": "PA-2027-001",
    }, **EN)
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.RENEWED_HERE and case.outcome_premium == Decimal("4800")
    assert case.outcome_policy_number == "PA-2027-001" and case.closed_at is not None
    html = client.get(f"/renewals/{case.pk}/", **EN).content.decode()
    assert "Outcome recorded." in html and "PA-2027-001" in html and 'id="contact-form"' not in html


def test_it_records_an_unanswered_call_as_an_attempt_and_a_call_back(store_a, renewal_user):
    case = make_case(store_a, holder=renewal_user)
    renewal_contacts_plan(store_id=store_a.pk, today=TODAY)
    client = client_for(renewal_user)
    client.post(f"/renewals/{case.pk}/contact/", {"result": "no_answer", "channel": "phone"}, **HTMX)
    contact = case.contacts.get()
    assert not contact.effective and contact.task.attempts == 1
    response = client.post(f"/renewals/{case.pk}/contact/", {
        "result": "call_back", "channel": "phone", "call_back_at": "2026-11-17T15:00",
    }, **HTMX)
    assert "Contact recorded." in response.content.decode()
    contact.refresh_from_db()
    contact.task.refresh_from_db()
    assert contact.effective and contact.task.next_call_at == dt.datetime(2026, 11, 17, 7, tzinfo=dt.UTC)
    assert "call back 11-17 15:00" in client.get(f"/renewals/{case.pk}/", **EN).content.decode()


def test_it_shows_service_errors_next_to_the_fields(store_a, renewal_user):
    case = make_case(store_a, holder=renewal_user)
    renewal_contacts_plan(store_id=store_a.pk, today=TODAY)
    client = client_for(renewal_user)
    response = client.post(f"/renewals/{case.pk}/contact/", {"result": "call_back", "channel": "phone"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'name="call_back_at"' in html
    assert 'class="form-control is-invalid"' in html and "Give the time to call back." in html
    response = client.post(f"/renewals/{case.pk}/contact/", {"result": "no_answer", "quote_insurer": "平安"}, **EN)
    assert response.status_code == 400  # without HTMX: the page again, the form's errors on it
    assert "A quote or gift needs a contact that reached the customer." in response.content.decode()
    response = client.post(f"/renewals/{case.pk}/outcome/", {"outcome": "renewed_here"}, **HTMX)
    html = response.content.decode()
    assert "Give the insurer." in html and "Give the premium." in html and "Give the new policy number." in html
    response = client.post(f"/renewals/{case.pk}/outcome/", {"outcome": "not_renewed", "reason": "other"}, **HTMX)
    assert "Say what the other reason is." in response.content.decode()
    response = client.post(f"/renewals/{case.pk}/outcome/", {"outcome": "nonsense", "premium": "-3"}, **HTMX)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.OPEN and case.outcome == "" and case.contacts.get().result == ""


def test_it_records_a_loss_with_its_reason(store_a, renewal_user):
    case = make_case(store_a, holder=renewal_user)
    client = client_for(renewal_user)
    client.post(f"/renewals/{case.pk}/outcome/", {"outcome": "not_renewed", "reason": "other",
                                                  "reason_text": "车辆已报废"}, **HTMX)
    case.refresh_from_db()
    assert case.state == CaseState.NOT_RENEWED and case.outcome_reason == "other"
    assert case.outcome_reason_text == "车辆已报废"
    html = client.get("/renewals/?due=all", **EN).content.decode()
    assert "Not renewed" in html and "车辆已报废" in html


def test_it_shows_the_imported_renewal_beside_the_recorded_outcome(store_a, renewal_user):
    case = make_case(store_a, holder=renewal_user)
    renewal = f.InsurancePolicyFactory(
        store=store_a, customer=case.customer, vehicle=case.vehicle, insurer="太平洋产险", policy_number="CPIC-9",
        start_date=dt.date(2027, 1, 1), expiry_date=dt.date(2027, 12, 31), premium=Decimal("4999.00"),
    )
    RenewalCase.objects.filter(pk=case.pk).update(
        renewed_policy=renewal, state=CaseState.RENEWED_HERE, outcome="renewed_elsewhere", outcome_insurer="平安产险",
        outcome_reason="price",
    )
    html = client_for(renewal_user).get(f"/renewals/{case.pk}/", **EN).content.decode()
    assert 'id="imported-renewal"' in html and "CPIC-9" in html and "太平洋产险" in html and "¥4999.00" in html
    assert "Recorded by the specialist" in html and "Renewed elsewhere" in html and "平安产险" in html


def test_it_hides_premiums_from_a_role_without_renewal_premium(monkeypatch, store_a, renewal_user, manager):
    gift = RenewalGift.objects.create(store=store_a, name="玻璃险", cost=Decimal("321.00"))
    case = make_case(store_a, holder=renewal_user, premium=Decimal("6543.21"))
    renewal_contacts_plan(store_id=store_a.pk, today=TODAY)
    client = client_for(renewal_user)
    client.post(f"/renewals/{case.pk}/contact/", {"result": "interested", "quote_insurer": "平安",
                                                  "quote_premium": "5987.65", "gift": gift.pk}, **HTMX)
    manager_html = client_for(manager).get(f"/renewals/{case.pk}/", **EN).content.decode()
    assert "6543.21" in manager_html and "5987.65" in manager_html and "321.00" in manager_html
    monkeypatch.setitem(
        ROLE_PERMISSIONS, Role.RENEWAL_SPECIALIST, ROLE_PERMISSIONS[Role.RENEWAL_SPECIALIST] - {Perm.RENEWAL_PREMIUM}
    )
    html = client.get(f"/renewals/{case.pk}/", **EN).content.decode()
    assert "平安" in html and "玻璃险" in html  # the contact is there …
    assert "6543.21" not in html and "5987.65" not in html and "321.00" not in html  # … without amounts
    assert 'name="quote_premium"' not in html
    assert "6543.21" not in client.get("/renewals/?due=all").content.decode()


# ---- settings --------------------------------------------------------------------------------------------------


def test_it_saves_the_store_renewal_settings(store_a, manager):
    client = client_for(manager)
    page = client.get("/renewals/settings/", **EN).content.decode()
    assert 'value="45, 33, 30"' in page
    data = {"section": "settings", "store": store_a.pk, "s-list_opens_days": "75", "s-contact_days": "40，30, 15",
            "s-lapse_chase_days": "20", "s-max_contacts": "4"}
    assert client.post("/renewals/settings/", data).status_code == 302
    row = RenewalSettings.objects.get(store=store_a)
    assert (row.list_opens_days, row.contact_days, row.lapse_chase_days, row.max_contacts) == (75, [40, 30, 15], 20, 4)
    assert AuditEvent.objects.filter(object_type="renewals.renewalsettings", action="update").exists()
    for bad, message in (("30, 40", "largest first"), ("45, x", "Give whole numbers"), ("90", "before the list opens")):
        response = client.post("/renewals/settings/", {**data, "s-contact_days": bad}, **EN)
        assert response.status_code == 400 and message in response.content.decode(), bad
    assert RenewalSettings.objects.get(store=store_a).contact_days == [40, 30, 15]


def test_it_adds_changes_and_deactivates_gifts(store_a, manager):
    client = client_for(manager)
    assert client.post("/renewals/settings/", {"section": "gift", "store": store_a.pk, "g-name": "免费洗车",
                                               "g-cost": "50"}).status_code == 302
    gift = RenewalGift.objects.get(store=store_a)
    response = client.post("/renewals/settings/", {"section": "gift", "store": store_a.pk, "g-name": "免费洗车",
                                                   "g-cost": "60"}, **EN)
    assert response.status_code == 400 and "already has a gift or offer of this name" in response.content.decode()
    assert client.post(f"/renewals/settings/gifts/{gift.pk}/", {f"gift{gift.pk}-cost": "80"}).status_code == 302
    gift.refresh_from_db()
    assert gift.cost == Decimal("80") and not gift.is_active  # unticked: deactivated
    assert AuditEvent.objects.filter(object_type="renewals.renewalgift").count() == 2


def test_the_settings_services_check_the_store_and_the_permission(store_a, store_b, manager, renewal_user):
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.http import Http404

    with pytest.raises(Http404):
        configuration.renewal_settings_update(actor=manager, store=store_b, max_contacts=3)
    with pytest.raises(PermissionDenied):
        configuration.renewal_gift_create(actor=renewal_user, store=store_a, name="x", cost=Decimal("1"))
    with pytest.raises(ValidationError) as exc:
        configuration.renewal_settings_update(actor=manager, store=store_a, max_contacts=2)  # three contact days
    assert "contact_days" in exc.value.message_dict
    gift = configuration.renewal_gift_create(actor=manager, store=store_a, name="贴膜", cost=Decimal("99"))
    with pytest.raises(ValidationError):
        configuration.renewal_gift_update(actor=manager, gift=gift, cost=Decimal("-1"))
    b_gift = RenewalGift.objects.create(store=store_b, name=CANARY, cost=Decimal("1"))
    with pytest.raises(Http404):
        configuration.renewal_gift_update(actor=manager, gift=b_gift, is_active=False)
    client = client_for(manager)
    assert client.post(f"/renewals/settings/gifts/{b_gift.pk}/", {f"gift{b_gift.pk}-cost": "2"}).status_code == 404
    assert client.get(f"/renewals/settings/?store={store_b.pk}").status_code == 404
    assert client_for(renewal_user).get("/renewals/settings/").status_code == 403


def test_it_keeps_the_case_page_query_count_flat_as_contacts_grow(store_a, renewal_user):
    gift = RenewalGift.objects.create(store=store_a, name="贴膜", cost=Decimal("99"))
    case = make_case(store_a, holder=renewal_user)
    client = client_for(renewal_user)

    def contact(number):
        RenewalContact.objects.create(
            store=store_a, case=case, number=number, due_on=TODAY, channel="phone", result="thinking", effective=True,
            contacted_at=timezone.now(), handler=staff_user(store_a, name=f"h{number}"), gift=gift, gift_cost=gift.cost,
        )

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/renewals/{case.pk}/").status_code == 200
        return len(ctx)

    contact(1)
    client.get(f"/renewals/{case.pk}/")
    one = count()
    for n in (2, 3, 4):
        contact(n)
    assert count() == one


def test_it_lets_the_specialist_add_an_outcome_to_a_case_an_import_closed(store_a, renewal_user):
    case = make_case(store_a)
    renewal = f.InsurancePolicyFactory(store=store_a, customer=case.customer, vehicle=case.vehicle,
                                       start_date=dt.date(2027, 1, 1), expiry_date=dt.date(2027, 12, 31))
    RenewalCase.objects.filter(pk=case.pk).update(renewed_policy=renewal, state=CaseState.RENEWED_HERE,
                                                  closed_at=timezone.now())
    client = client_for(renewal_user)
    page = client.get(f"/renewals/{case.pk}/", **EN).content.decode()
    assert 'id="outcome-form"' in page and 'id="claim-case"' not in page and 'id="contact-form"' not in page
    client.post(f"/renewals/{case.pk}/outcome/", {"outcome": "renewed_here", "insurer": "人保财险", "premium": "5100",
                                                  "policy_number": "PICC-1"}, **HTMX)
    case.refresh_from_db()
    assert case.state == CaseState.RENEWED_HERE and case.renewed_policy == renewal  # the import's, kept
    assert case.outcome == "renewed_here" and case.outcome_policy_number == "PICC-1"
    rival = staff_user(store_a)
    assert 'id="outcome-form"' not in client_for(rival).get(f"/renewals/{case.pk}/").content.decode()
    assert client_for(rival).post(f"/renewals/{case.pk}/outcome/", {"outcome": "not_renewed",
                                                                    "reason": "price"}).status_code == 403


def test_it_answers_a_month_at_the_end_of_time_with_an_error_not_a_500(client, renewal_user):
    client.force_login(renewal_user)
    response = client.get("/renewals/?month=9999-12&due=all", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "Give a month between 1900 and 2999." in response.content.decode()


def test_a_link_with_filters_lists_every_case_it_names_even_for_a_specialist(client, renewal_user, store_a):
    from aftercare.renewals.models import RenewalCase
    from aftercare.testing import factories as f

    customer = f.CustomerFactory(store=store_a)
    RenewalCase.objects.create(store=store_a, customer=customer, vehicle=f.owned_vehicle(customer),
                               expiry_date=dt.date(2026, 10, 10), segment="renewed_here", state="renewed_here")
    client.force_login(renewal_user)
    html = client.get("/renewals/?month=2026-10&state=renewed_here").content.decode()
    assert html.count("<tr data-case=") == 1  # not only the cases to call today
    assert client.get("/renewals/").content.decode().count("<tr data-case=") == 0
