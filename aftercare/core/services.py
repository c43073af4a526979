"""Writes owned by core: the audit trail and API tokens."""

from collections.abc import Iterable

from django.db import models

from .choices import AuditAction
from .models import ApiToken, AuditEvent


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


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the clear key (shown once)."""
    key = ApiToken.new_key()
    token = ApiToken(user=user, name=name, key_hash=ApiToken.hash_key(key), prefix=key[3:11])
    token.full_clean()
    token.save()
    audit_event_record(actor=user, action=AuditAction.CREATE, obj=token)
    return token, key
