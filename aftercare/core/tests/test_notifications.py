"""Notifications: the in-app inbox row, e-mail and SMS delivered once after commit, the user's own list."""

from unittest import mock

import pytest
from django.core import mail

from aftercare.core import services as core_services
from aftercare.core.models import Notification
from aftercare.core.selectors import notification_list, notification_unread_count
from aftercare.core.services import notification_mark_read, notification_send, notifications_deliver
from aftercare.core.sms import LocmemBackend
from aftercare.org.choices import Role
from aftercare.org.models import Staff
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms(settings):
    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    LocmemBackend.outbox.clear()
    yield LocmemBackend.outbox
    LocmemBackend.outbox.clear()


def test_it_queues_and_delivers_after_commit_exactly_once(store_a, users, sms, django_capture_on_commit_callbacks):
    designee, supervisor = users[Role.DEPARTMENT_DESIGNEE], users[Role.SUPERVISOR]
    Staff.objects.filter(user=designee).update(mobile="+8613800138000")
    no_mail = f.UserFactory(username="nomail", email="")
    f.StaffFactory(user=no_mail, group=store_a.group, role=Role.SUPERVISOR, stores=[store_a])
    with django_capture_on_commit_callbacks(execute=True):
        rows = notification_send(
            store_id=store_a.pk,
            recipients=[designee, supervisor, designee, no_mail, None],
            title="投诉单 #7 待处理",
            body="客户说：异响",
            link="/complaints/7/",
            sms=True,
        )
        assert len(rows) == 3 and not mail.outbox  # nothing leaves before the commit
    by_user = {n.recipient_id: n for n in Notification.objects.all()}
    assert (by_user[designee.pk].email_status, by_user[designee.pk].sms_status) == ("sent", "sent")
    assert (by_user[supervisor.pk].email_status, by_user[supervisor.pk].sms_status) == ("sent", "skipped")  # no mobile
    assert (by_user[no_mail.pk].email_status, by_user[no_mail.pk].sms_status) == ("skipped", "skipped")
    assert sorted(m.to[0] for m in mail.outbox) == sorted([designee.email, supervisor.email])
    assert mail.outbox[0].subject == "投诉单 #7 待处理" and "/complaints/7/" in mail.outbox[0].body
    assert sms == [{"to": "+8613800138000", "text": "投诉单 #7 待处理"}]
    assert notifications_deliver() == 0  # a rerun sends nothing twice
    assert len(mail.outbox) == 2 and len(sms) == 1


def test_it_marks_a_failed_send_and_does_not_retry_it_blindly(store_a, users):
    notification_send(store_id=store_a.pk, recipients=[users[Role.SUPERVISOR]], title="t")
    with mock.patch("django.core.mail.send_mail", side_effect=OSError("smtp down")):
        assert notifications_deliver() == 0
    assert Notification.objects.get().email_status == "failed"
    assert notifications_deliver() == 0 and not mail.outbox


def test_it_sends_only_pending_rows_of_the_given_ids(store_a, users):
    first = notification_send(store_id=store_a.pk, recipients=[users[Role.SUPERVISOR]], title="one")
    notification_send(store_id=store_a.pk, recipients=[users[Role.STORE_MANAGER]], title="two")
    assert notifications_deliver(ids=[n.pk for n in first]) == 1
    assert [m.subject for m in mail.outbox] == ["one"]
    assert notifications_deliver() == 1 and notifications_deliver() == 0


def test_it_lists_and_marks_read_only_the_users_own_notifications(store_a, users):
    me, other = users[Role.SUPERVISOR], users[Role.STORE_MANAGER]
    mine = notification_send(store_id=store_a.pk, recipients=[me], title="a", email=False)
    notification_send(store_id=store_a.pk, recipients=[me], title="b", email=False)
    theirs = notification_send(store_id=store_a.pk, recipients=[other], title="c", email=False)
    assert [n.title for n in notification_list(user=me)] == ["b", "a"]
    assert notification_unread_count(user=me) == 2
    assert notification_mark_read(actor=me, ids=[theirs[0].pk]) == 0  # not mine: ignored
    assert notification_mark_read(actor=me, ids=[mine[0].pk]) == 1
    assert [n.title for n in notification_list(user=me, unread=True)] == ["b"]
    assert notification_mark_read(actor=me, all=True) == 1
    assert notification_unread_count(user=me) == 0 and notification_unread_count(user=other) == 1
    assert core_services.notifications_mark_read is notification_mark_read
