"""Every appointments page carries the app's sub-navigation, with only the entries the user may open."""

import re

import pytest
from django.test import Client

from aftercare.org.choices import Role

pytestmark = pytest.mark.django_db


def nav_links(user, url: str) -> set[str]:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    nav = html[html.index('id="appointments-nav"'):]
    nav = nav[:nav.index("</nav>")]
    return set(re.findall(r'href="(/appointments/[^"]*)"', nav))


def test_it_shows_the_advisor_the_board_rescue_and_measures_but_not_the_settings(users):
    advisor = users[Role.SERVICE_ADVISOR]
    links = nav_links(advisor, "/appointments/board/")
    assert {"/appointments/", "/appointments/book/", "/appointments/board/", "/appointments/rescue/",
            "/appointments/measures/", "/appointments/waitlist/", "/appointments/parts/"} <= links
    assert "/appointments/settings/" not in links and "/appointments/import/" not in links
    assert nav_links(advisor, "/appointments/") == links  # the same on every page


def test_it_shows_the_store_manager_the_settings_and_the_import(users):
    links = nav_links(users[Role.STORE_MANAGER], "/appointments/settings/")
    assert {"/appointments/settings/", "/appointments/import/", "/appointments/board/"} <= links


def test_it_links_the_main_menu_to_the_board_for_a_user_who_only_sees_the_board(users, monkeypatch):
    from aftercare.org import permissions

    board_only = permissions.ROLE_PERMISSIONS[Role.STORE_MANAGER] - {permissions.Perm.APPOINTMENT_BOOK}
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, Role.STORE_MANAGER, board_only)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(users[Role.STORE_MANAGER])
    html = client.get("/appointments/board/").content.decode()
    assert 'href="/appointments/board/" id="nav-appointments"' in html
    assert 'href="/appointments/book/"' not in html
