"""The in-app notification inbox: own notifications only, mark one / all read (HTMX), the navbar badge."""

import pytest
from django.test import Client

from aftercare.core.models import Notification
from aftercare.org.choices import Role


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def notes(store_a, users):
    me, other = users[Role.DEPARTMENT_DESIGNEE], users[Role.SUPERVISOR]
    mine = [
        Notification.objects.create(
            store=store_a, recipient=me, title=f"新投诉 #{i}", body="请处理", link=f"/complaints/{i}/"
        )
        for i in range(3)
    ]
    theirs = Notification.objects.create(store=store_a, recipient=other, title="别人的通知")
    return me, mine, theirs


def test_it_lists_only_the_users_own_notifications_with_a_badge(notes):
    me, mine, theirs = notes
    page = client_for(me).get("/inbox/")
    html = page.content.decode()
    assert page.status_code == 200
    assert all(n.title in html for n in mine) and theirs.title not in html
    assert 'id="unread-badge"' in html and ">3</span>" in html


def test_it_marks_one_read_over_htmx(notes):
    me, mine, theirs = notes
    client = client_for(me)
    response = client.post(f"/inbox/{mine[0].pk}/read/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and "2 unread" in body
    assert Notification.objects.filter(recipient=me, read_at__isnull=True).count() == 2
    # another user's notification answers 404 and stays unread
    assert client.post(f"/inbox/{theirs.pk}/read/").status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_it_marks_all_read_and_filters_unread(notes):
    me, mine, theirs = notes
    client = client_for(me)
    assert client.post("/inbox/read-all/").status_code == 302
    assert not Notification.objects.filter(recipient=me, read_at__isnull=True).exists()
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    html = client.get("/inbox/?unread=1").content.decode()
    assert "No notifications." in html and 'id="unread-badge"' not in html


def test_it_needs_a_login_and_post(notes):
    me, mine, _theirs = notes
    assert Client().get("/inbox/").status_code == 302
    assert client_for(me).get(f"/inbox/{mine[0].pk}/read/").status_code == 405


def test_it_loads_the_inbox_in_constant_queries(notes, store_a, django_assert_max_num_queries):
    me, _mine, _theirs = notes
    client = client_for(me)
    with django_assert_max_num_queries(12) as small:
        client.get("/inbox/")
    Notification.objects.bulk_create(Notification(store=store_a, recipient=me, title=f"更多 {i}") for i in range(20))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/inbox/")
