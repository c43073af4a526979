"""Writes owned by core: the audit trail, API tokens and notifications."""

from collections.abc import Iterable

from django.db import models, transaction

from .choices import AuditAction, DeliveryStatus
from .models import ApiToken, AuditEvent, Notification


def audit_event_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    store_id: int | None = None,
    changed_fields: Iterable[str] = (),
    detail: dict | None = None,
) -> AuditEvent:
    """Append one audit event. Pass field names in `changed_fields`, never their values."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        if store_id is None:
            store_id = getattr(obj, "store_id", None)
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor_id=actor_id,
        store_id=store_id,
        action=AuditAction(action),
        object_type=object_type,
        object_id=str(object_id or ""),
        changed_fields=sorted(set(changed_fields)),
        detail=detail or {},
    )


def audit_events_record(*, actor, action: str, objs: Iterable[models.Model], detail: dict | None = None
                        ) -> list[AuditEvent]:
    """`audit_event_record` for each of the saved rows `objs` (their type, id and store), in one statement: for
    services that write many rows at once."""
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    events = [
        AuditEvent(actor_id=actor_id, store_id=getattr(obj, "store_id", None), action=AuditAction(action),
                   object_type=obj._meta.label_lower, object_id=str(obj.pk), changed_fields=[], detail=detail or {})
        for obj in objs
    ]
    return AuditEvent.objects.bulk_create(events, batch_size=1000)


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the clear key (shown once). The row and its audit event are
    written in one transaction."""
    key = ApiToken.new_key()
    token = ApiToken(user=user, name=name, key_hash=ApiToken.hash_key(key), prefix=key[3:11])
    token.full_clean()
    with transaction.atomic():
        token.save()
        audit_event_record(actor=user, action=AuditAction.CREATE, obj=token)
    return token, key


# ---- notifications ---------------------------------------------------------------------------------------------


def notification_send(
    *,
    store_id: int,
    recipients: Iterable,
    title: str,
    body: str = "",
    link: str = "",
    email: bool = True,
    sms: bool = False,
) -> list[Notification]:
    """One in-app notification per distinct recipient; e-mail / SMS are queued (`pending`) and delivered after
    the caller's transaction commits. A channel is `skipped` for a recipient without an address / mobile."""
    from .sms import user_mobiles

    users = {u.pk: u for u in recipients if u is not None}
    if not users:
        return []
    mobiles = user_mobiles(users) if sms else {}
    rows = [
        Notification(
            store_id=store_id,
            recipient_id=pk,
            title=str(title)[:200],
            body=str(body),
            link=str(link)[:300],
            email_status=DeliveryStatus.PENDING if email and user.email else DeliveryStatus.SKIPPED,
            sms_status=DeliveryStatus.PENDING if sms and mobiles.get(pk) else DeliveryStatus.SKIPPED,
        )
        for pk, user in users.items()
    ]
    for row in rows:
        row.full_clean(exclude=["store", "recipient"])
    created = Notification.objects.bulk_create(rows)
    ids = [n.pk for n in created if n.pk is not None]
    if ids and any(n.email_status == DeliveryStatus.PENDING or n.sms_status == DeliveryStatus.PENDING for n in rows):
        transaction.on_commit(lambda: notifications_deliver(ids=ids))
    return created


def _claim(pk: int, field: str) -> bool:
    """Mark one channel of a notification sent before sending it: of two deliverers only one wins the row."""
    return Notification.objects.filter(pk=pk, **{field: DeliveryStatus.PENDING}).update(
        **{field: DeliveryStatus.SENT}
    ) == 1


def notifications_deliver(*, ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """Send pending e-mail (Django's e-mail backend) and SMS (`aftercare.core.sms`); returns how many were sent.

    Each row's channel is claimed (pending → sent) before sending, so a rerun or a concurrent run never sends
    twice; a failed send marks the channel `failed` for someone to look at.
    """
    import logging

    from django.conf import settings
    from django.core.mail import send_mail
    from django.db.models import Q

    from .sms import sms_send, user_mobiles

    log = logging.getLogger(__name__)
    qs = Notification.objects.filter(
        Q(email_status=DeliveryStatus.PENDING) | Q(sms_status=DeliveryStatus.PENDING)
    ).select_related("recipient")
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    rows = list(qs.order_by("id")[:limit])
    mobiles = user_mobiles({n.recipient_id for n in rows if n.sms_status == DeliveryStatus.PENDING})
    sent = 0
    for n in rows:
        text = "\n\n".join(part for part in (n.body, n.link) if part)
        if n.email_status == DeliveryStatus.PENDING and _claim(n.pk, "email_status"):
            try:
                send_mail(n.title, text or n.title, settings.DEFAULT_FROM_EMAIL, [n.recipient.email])
                sent += 1
            except Exception:
                log.exception("e-mail notification %s failed", n.pk)
                Notification.objects.filter(pk=n.pk).update(email_status=DeliveryStatus.FAILED)
        if n.sms_status == DeliveryStatus.PENDING and _claim(n.pk, "sms_status"):
            mobile = mobiles.get(n.recipient_id)
            try:
                if not mobile:
                    raise ValueError("no mobile")
                sms_send(to=mobile, text=n.title)
                sent += 1
            except Exception:
                log.exception("SMS notification %s failed", n.pk)
                Notification.objects.filter(pk=n.pk).update(sms_status=DeliveryStatus.FAILED)
    return sent


def notification_mark_read(*, actor, ids: Iterable[int] | None = None, all: bool = False) -> int:
    """Mark the actor's own notifications read (`ids`, or `all=True` for every unread one); returns the count.

    Other users' ids are ignored. Personal inbox state, so not audited.
    """
    from django.utils import timezone

    if actor is None or not actor.is_authenticated:
        return 0
    qs = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if not all:
        if not ids:
            return 0
        qs = qs.filter(pk__in=[int(i) for i in ids])
    return qs.update(read_at=timezone.now())


notifications_mark_read = notification_mark_read  # the name the API module uses


# ---- failed-login lockouts (django-axes; core/throttle.py) -------------------------------------------------------


def login_lockout_record(*, username: str | None, ip_address: str | None, address_locked: bool, via: str) -> AuditEvent:
    """Audit that an account (`username`) and/or a client address reached its failed-login limit (`via` = `login`
    or `api`). Nobody is logged in, so there is no actor; an existing account is named by its id."""
    from django.contrib.auth import get_user_model

    from .throttle import lockout_minutes

    user = get_user_model().objects.filter(username=username).only("pk").first() if username else None
    locked = (["account"] if username else []) + (["address"] if address_locked else [])
    return audit_event_record(
        actor=None,
        action=AuditAction.LOCKOUT,
        object_type="auth.user" if user else "login",
        object_id=user.pk if user else "",
        detail={
            "locked": locked,
            "username": (username or "")[:150],
            "ip_address": ip_address or "",
            "via": via,
            "minutes": lockout_minutes(),
        },
    )


def login_lockout_clear(*, actor, username: str | None = None, ip_address: str | None = None) -> int:
    """Unlock one account (`username`: its failures from every address are forgotten) or one client address
    (`ip_address`: every failure from it); returns how many attempt records were cleared. Audited as `unlock`.

    The caller checks the permission (`login.unlock`) and that the account / address is one it may see."""
    from axes.handlers.proxy import AxesProxyHandler
    from django.core.exceptions import ValidationError

    if bool(username) == bool(ip_address):
        raise ValidationError({"__all__": ["Name exactly one account or one address."]})
    with transaction.atomic():
        if username:
            cleared = AxesProxyHandler.reset_attempts(username=username)
        else:
            cleared = AxesProxyHandler.reset_attempts(ip_address=ip_address)
        audit_event_record(
            actor=actor,
            action=AuditAction.UNLOCK,
            object_type="login",
            detail={"username": username or "", "ip_address": ip_address or "", "cleared": cleared},
        )
    return cleared
