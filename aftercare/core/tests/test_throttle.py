"""Failed-login throttling (django-axes, `core/throttle.py`): per account, per client address, API tokens, the
group admin's unlock page, and the audit events of lockouts and unlocks."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from aftercare.core import throttle
from aftercare.core.choices import AuditAction
from aftercare.core.models import AuditEvent
from aftercare.core.services import api_token_create
from aftercare.org.choices import Role
from aftercare.testing import factories as f

LOCKED_EN = "Too many failed log-in attempts"
API_LOCKED_EN = "Too many failed authentication attempts"


def _login(client: Client, username: str, password: str = "password", **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def specialist_client(specialist):
    return Client(REMOTE_ADDR="10.0.0.1")


# ---- per account -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_locks_an_account_after_repeated_wrong_passwords_and_refuses_the_right_one(specialist, settings):
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_ACCEPT_LANGUAGE="en")
    statuses = [_login(client, specialist.username, "wrong").status_code for _ in range(30)]
    limit = settings.LOGIN_FAILURES_PER_ACCOUNT
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, "wrong password"
    assert set(statuses[limit - 1 :]) == {429}  # from the limit on: locked
    response = _login(client, specialist.username)  # the right password
    assert response.status_code == 429 and not _logged_in(client)
    page = response.content.decode()
    assert LOCKED_EN in page and f"{settings.LOGIN_LOCKOUT_MINUTES} minutes" in page
    assert 'name="password"' in page  # the login page, not axes' bare text
    # the account is locked from any address
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert _login(other, specialist.username).status_code == 429 and not _logged_in(other)


@pytest.mark.django_db
def test_it_says_so_in_chinese_too(specialist):
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_ACCEPT_LANGUAGE="zh-hans")
    for _ in range(5):
        _login(client, specialist.username, "wrong")
    response = _login(client, specialist.username)
    assert response.status_code == 429
    with translation.override("zh-hans"):
        expected = throttle.login_lockout_message()
    assert expected in response.content.decode()
    assert response.headers["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_it_lets_the_account_in_again_after_the_lockout_time(specialist, settings):
    client = Client(REMOTE_ADDR="10.0.0.1")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
            _login(client, specialist.username, "wrong")
        assert _login(client, specialist.username).status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES - 1), tick=False):
        assert _login(client, specialist.username).status_code == 429  # a refused login restarts the window
    later = start + dt.timedelta(minutes=2 * settings.LOGIN_LOCKOUT_MINUTES)
    with time_machine.travel(later, tick=False):
        assert _login(client, specialist.username).status_code == 302 and _logged_in(client)


@pytest.mark.django_db
def test_it_does_not_lock_below_the_limit_and_a_good_login_works(specialist, settings):
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        assert _login(client, specialist.username, "wrong").status_code == 200
    assert _login(client, specialist.username).status_code == 302 and _logged_in(client)


@pytest.mark.django_db
def test_it_audits_a_lockout_once(specialist, settings):
    client = Client(REMOTE_ADDR="10.0.0.7")
    for _ in range(30):
        _login(client, specialist.username, "wrong")
    # one event when the account reached its limit, one when the address reached its own (not one per failure)
    events = list(AuditEvent.objects.filter(action=AuditAction.LOCKOUT).order_by("id"))
    assert [e.detail["locked"] for e in events] == [["account"], ["address"]]
    event = events[0]
    assert event.actor_id is None and event.object_type == "auth.user" and event.object_id == str(specialist.pk)
    assert event.detail["ip_address"] == "10.0.0.7" and event.detail["via"] == "login"
    assert event.detail["username"] == specialist.username and events[1].detail["username"] == ""
    assert "wrong" not in str([e.detail for e in events])  # never the password


@pytest.mark.django_db
def test_it_locks_unknown_usernames_the_same_way(db, settings):
    """No account enumeration: a guessed name is locked like a real one."""
    client = Client(REMOTE_ADDR="10.0.0.1")
    statuses = [_login(client, "nobody-here", "x").status_code for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT)]
    assert statuses[-1] == 429


# ---- per client address ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_locks_an_address_that_tries_many_accounts(specialist, manager, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    attacker = Client(REMOTE_ADDR="10.6.6.6", HTTP_ACCEPT_LANGUAGE="en")
    for n in range(8):  # one wrong password for each of 8 names: no account reaches its own limit
        _login(attacker, f"guess{n}", "wrong")
    response = _login(attacker, specialist.username)  # a real account, right password, from that address
    assert response.status_code == 429 and LOCKED_EN in response.content.decode() and not _logged_in(attacker)
    colleague = Client(REMOTE_ADDR="10.0.0.2")  # another address is not affected
    assert _login(colleague, manager.username).status_code == 302 and _logged_in(colleague)
    event = AuditEvent.objects.get(action=AuditAction.LOCKOUT)
    assert event.detail["locked"] == ["address"] and event.detail["ip_address"] == "10.6.6.6"


@pytest.mark.django_db
def test_it_keeps_a_shared_office_address_open_for_a_few_typos(users, settings):
    """The address limit is higher than the account limit (a store's staff share one public address)."""
    office = Client(REMOTE_ADDR="10.0.0.3")
    for user in list(users.values())[:4]:
        _login(office, user.username, "typo")
    manager = users[Role.CS_MANAGER]
    assert _login(office, manager.username).status_code == 302


# ---- unlock by the group admin -----------------------------------------------------------------------------------


def _lock(username, address="10.0.0.1", times=5):
    client = Client(REMOTE_ADDR=address)
    for _ in range(times):
        _login(client, username, "wrong")


@pytest.mark.django_db
def test_it_lets_the_group_admin_see_and_unlock_an_account(users, specialist, settings):
    _lock(specialist.username)
    admin = Client()
    admin.force_login(users[Role.GROUP_ADMIN])
    page = admin.get(reverse("lockouts"))
    assert page.status_code == 200 and specialist.username in page.content.decode()
    assert reverse("lockouts") in admin.get(reverse("customers:list")).content.decode()  # linked from the menu
    response = admin.post(reverse("lockout_clear"), {"kind": "account", "value": specialist.username})
    assert response.status_code == 302
    assert 'id="lockouts-account"' not in admin.get(reverse("lockouts")).content.decode()
    client = Client(REMOTE_ADDR="10.0.0.1")
    assert _login(client, specialist.username).status_code == 302 and _logged_in(client)
    event = AuditEvent.objects.get(action=AuditAction.UNLOCK)
    assert event.actor == users[Role.GROUP_ADMIN] and event.detail["username"] == specialist.username
    assert event.detail["cleared"] >= 1


@pytest.mark.django_db
def test_it_lets_the_group_admin_unlock_an_address(users, specialist, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for n in range(3):
        _lock(f"guess{n}", address="10.6.6.6", times=1)
    admin = Client()
    admin.force_login(users[Role.GROUP_ADMIN])
    assert "10.6.6.6" in admin.get(reverse("lockouts")).content.decode()
    assert admin.post(reverse("lockout_clear"), {"kind": "address", "value": "10.6.6.6"}).status_code == 302
    client = Client(REMOTE_ADDR="10.6.6.6")
    assert _login(client, specialist.username).status_code == 302
    assert AuditEvent.objects.get(action=AuditAction.UNLOCK).detail["ip_address"] == "10.6.6.6"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.GROUP_ADMIN])
def test_it_refuses_the_unlock_page_to_other_roles(users, specialist, role):
    _lock(specialist.username)
    client = Client()
    client.force_login(users[role])
    assert client.get(reverse("lockouts")).status_code == 403
    assert client.post(reverse("lockout_clear"), {"kind": "account", "value": specialist.username}).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.UNLOCK).exists()
    assert _login(Client(REMOTE_ADDR="10.0.0.1"), specialist.username).status_code == 429  # still locked


@pytest.mark.django_db
def test_it_answers_404_for_what_is_not_locked_or_not_the_admins(users, specialist):
    other_group_store = f.StoreFactory(code="X01", group=f.DealerGroupFactory(code="G2"))
    foreigner = f.UserFactory(username="foreigner")
    f.StaffFactory(user=foreigner, group=other_group_store.group, role=Role.CS_SPECIALIST, stores=[other_group_store])
    _lock("foreigner")
    admin = Client()
    admin.force_login(users[Role.GROUP_ADMIN])
    assert "foreigner" not in admin.get(reverse("lockouts")).content.decode()
    for kind, value in [("account", "foreigner"), ("account", specialist.username), ("address", "not an ip"),
                        ("nonsense", "x")]:
        assert admin.post(reverse("lockout_clear"), {"kind": kind, "value": value}).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.UNLOCK).exists()


# ---- API bearer tokens -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_locks_an_address_after_repeated_bad_tokens_even_for_a_valid_token(specialist, settings):
    _, key = api_token_create(user=specialist, name="test")
    limit = settings.LOGIN_FAILURES_PER_ADDRESS
    bad = Client(REMOTE_ADDR="10.6.6.6", HTTP_AUTHORIZATION="Bearer ac_not-a-token")
    statuses = [bad.get("/api/customers").status_code for _ in range(limit + 5)]
    assert statuses[: limit - 1] == [401] * (limit - 1) and set(statuses[limit - 1 :]) == {429}
    response = Client(REMOTE_ADDR="10.6.6.6", HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en").get(
        "/api/customers"
    )
    assert response.status_code == 429 and API_LOCKED_EN in response.json()["detail"]
    # the same token from another address works
    assert Client(REMOTE_ADDR="10.0.0.2", HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/customers").status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.LOCKOUT)
    assert event.detail["via"] == "api" and event.detail["locked"] == ["address"]


@pytest.mark.django_db
def test_it_declares_429_on_api_routes():
    from aftercare.api import api

    schema = api.get_openapi_schema()
    operation = schema["paths"]["/api/customers"]["get"]
    assert 429 in operation["responses"]


@pytest.mark.django_db
def test_it_counts_no_failure_for_good_tokens(specialist, settings):
    _, key = api_token_create(user=specialist, name="test")
    client = Client(REMOTE_ADDR="10.0.0.5", HTTP_AUTHORIZATION=f"Bearer {key}")
    for _ in range(settings.LOGIN_FAILURES_PER_ADDRESS + 1):
        assert client.get("/api/customers").status_code == 200
