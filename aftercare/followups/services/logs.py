"""Writes for the call log and letter log kept by hand, and their audited XLSX exports."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.exports import staff_name, xlsx_bytes
from aftercare.core.services import audit_event_record
from aftercare.customers.models import Customer
from aftercare.org.calendar import business_tz
from aftercare.org.models import Staff, Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import CallDirection, CallOutcome, CallPurpose, LetterChannel, LetterKind, LetterStatus
from ..models import CallLog, LetterLog
from ..signals import call_feedback_given
from .outbound import letter_deliver


def call_log_inbound_create(
    *,
    actor,
    store: Store,
    purpose: str,
    handler,
    called_at: dt.datetime,
    duration_s: int | None = None,
    customer: Customer | None = None,
    notes: str = "",
    feedback: dict | None = None,
) -> CallLog:
    """Log an inbound call by hand (a consultation or a complaint). A complaint with `feedback` (category,
    department, text) also makes a feedback record, in the same transaction."""
    require_perm(actor, Perm.FOLLOWUP_CALL)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    errors = {}
    if purpose not in (CallPurpose.CONSULTATION, CallPurpose.COMPLAINT):
        errors["purpose"] = [gettext("Choose consultation or complaint.")]
    if customer is not None and customer.store_id != store.pk:
        errors["customer"] = [gettext("The customer belongs to another store.")]
    if not Staff.objects.filter(user=handler, stores=store).exists():
        errors["handler"] = [gettext("The handler does not work in this store.")]
    if timezone.is_naive(called_at):
        errors["called_at"] = [gettext("Give the time with its time zone.")]
    elif called_at > timezone.now() + dt.timedelta(minutes=5):
        errors["called_at"] = [gettext("The call cannot be in the future.")]
    if duration_s is not None and not 0 <= duration_s <= 24 * 3600:
        errors["duration_s"] = [gettext("Duration must be between 0 and 86400 seconds.")]
    if feedback and customer is None:
        errors["customer"] = [gettext("Give the customer to record a complaint.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        call = CallLog(
            store=store,
            customer=customer,
            handler=handler,
            direction=CallDirection.INBOUND,
            purpose=purpose,
            called_at=called_at,
            duration_s=duration_s,
            outcome=CallOutcome.COMPLETED,
            notes=(notes or "").strip(),
        )
        call.full_clean()
        call.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=call, detail={"purpose": purpose})
        if feedback:
            call_feedback_given.send(
                sender=CallLog,
                actor=actor,
                call=call,
                task=None,
                sheet=None,
                inbound=True,
                customer=customer,
                vehicle=None,
                feedback={**feedback, "text": feedback.get("text") or call.notes},
            )
    return call


def letter_log_create(
    *,
    actor,
    store: Store,
    customer: Customer,
    kind: str,
    channel: str,
    handler,
    sent_on: dt.date,
    text: str = "",
) -> LetterLog:
    """Log a notice, invitation or reply letter sent by hand (date and handler)."""
    require_perm(actor, Perm.FOLLOWUP_CALL)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    errors = {}
    if kind not in (LetterKind.NOTICE, LetterKind.INVITATION, LetterKind.REPLY):
        errors["kind"] = [gettext("Choose notice, invitation or reply letter.")]
    if channel not in LetterChannel.values:
        errors["channel"] = [gettext("Unknown channel.")]
    if customer.store_id != store.pk:
        errors["customer"] = [gettext("The customer belongs to another store.")]
    if not Staff.objects.filter(user=handler, stores=store).exists():
        errors["handler"] = [gettext("The handler does not work in this store.")]
    if errors:
        raise ValidationError(errors)
    sent_at = dt.datetime.combine(sent_on, dt.time(12), tzinfo=business_tz())
    with transaction.atomic():
        letter = LetterLog(
            store=store,
            customer=customer,
            kind=kind,
            channel=channel,
            status=LetterStatus.SENT,
            handler=handler,
            sent_at=sent_at,
            text=(text or "").strip(),
        )
        letter.full_clean()
        letter.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=letter, detail={"kind": kind})
    return letter


def letter_sms_send(*, letter_id: int) -> bool:
    """Send one pending SMS of the letter log: the one sending path, `outbound.letter_deliver` (the row locked while
    sending, consent checked again now, sent, failed with the error or cancelled with the reason). Returns whether it
    was sent now."""
    return letter_deliver(letter_id=letter_id)


def call_log_export_xlsx(*, actor, calls, filters: dict | None = None) -> bytes:
    """The (already scoped and filtered) call log as XLSX; phones masked. Audited as an export."""
    from aftercare.customers.validators import mask_mobile

    header = [
        gettext("Time"),
        gettext("Store"),
        gettext("Direction"),
        gettext("Purpose"),
        gettext("Customer number"),
        gettext("Customer"),
        gettext("Mobile"),
        gettext("Handler"),
        gettext("Duration (s)"),
        gettext("Outcome"),
        gettext("Call back at"),
        gettext("Task"),
        gettext("Notes"),
    ]
    rows = (
        [
            c.called_at,
            c.store.code,
            c.get_direction_display(),
            c.get_purpose_display(),
            c.customer.number if c.customer_id else "",
            c.customer.name if c.customer_id else "",
            mask_mobile(c.customer.mobile) if c.customer_id and c.customer.mobile else "",
            staff_name(c.handler),
            c.duration_s,
            c.get_outcome_display(),
            c.call_back_at,
            c.task_id,
            c.notes,
        ]
        for c in calls.select_related("handler__staff").iterator(chunk_size=2000)
    )
    content, n = xlsx_bytes("calls", header, rows)
    audit_event_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=CallLog._meta.label_lower,
        store_id=None,
        detail={"rows": n, **(filters or {})},
    )
    return content


def letter_log_export_xlsx(*, actor, letters, filters: dict | None = None) -> bytes:
    """The (already scoped and filtered) letter log as XLSX. Audited as an export."""
    header = [
        gettext("Recorded"),
        gettext("Store"),
        gettext("Kind"),
        gettext("Channel"),
        gettext("Status"),
        gettext("Sent at"),
        gettext("Customer number"),
        gettext("Customer"),
        gettext("Handler"),
        gettext("Task"),
        gettext("Text"),
    ]
    rows = (
        [
            letter.created_at,
            letter.store.code,
            letter.get_kind_display(),
            letter.get_channel_display(),
            letter.get_status_display(),
            letter.sent_at,
            letter.customer.number,
            letter.customer.name,
            staff_name(letter.handler),
            letter.task_id,
            letter.text,
        ]
        for letter in letters.select_related("handler__staff").iterator(chunk_size=2000)
    )
    content, n = xlsx_bytes("letters", header, rows)
    audit_event_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=LetterLog._meta.label_lower,
        detail={"rows": n, **(filters or {})},
    )
    return content
