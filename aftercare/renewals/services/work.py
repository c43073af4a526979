"""A specialist's writes on a renewal case: claim (one holder among concurrent claimers), release, a manager's
assignment, a contact (each call in the follow-up call log) and the outcome."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import LossReason, PolicyKind
from aftercare.customers.services import policy_record
from aftercare.followups.choices import ACTIVE_STATUSES, CallOutcome, SubjectType, TaskStatus, Trigger
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.attempts import followup_attempt_record
from aftercare.followups.services.claiming import TaskAlreadyClaimed
from aftercare.followups.services.generation import TaskSubject, followup_task_create
from aftercare.followups.services.rules import followup_rule_get
from aftercare.org.calendar import business_date
from aftercare.org.models import Staff
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import EFFECTIVE_RESULTS, CaseState, ContactChannel, ContactResult, Outcome
from ..models import RenewalCase, RenewalContact, RenewalGift
from ..selectors import renewal_settings_get


class CaseAlreadyClaimed(TaskAlreadyClaimed):
    """Another specialist holds the case (the API answers 409)."""


def _case_for_write(actor, case: RenewalCase) -> RenewalCase:
    require_perm(actor, Perm.RENEWAL_WORK)
    if case.store_id not in own_store_ids(actor):
        raise PermissionDenied
    return case


def _check_open(case: RenewalCase) -> None:
    if case.state != CaseState.OPEN:
        raise ValidationError({"state": _("This renewal case is closed.")})


def _active_contact(case_id: int) -> RenewalContact | None:
    return (
        RenewalContact.objects.select_related("task")
        .filter(case_id=case_id, task__status__in=ACTIVE_STATUSES)
        .order_by("-number")
        .first()
    )


def renewal_case_claim(*, actor, case: RenewalCase) -> RenewalCase:
    """Hold `case` (and its contact in progress). Exactly one of many concurrent claimers wins; the others get
    `CaseAlreadyClaimed`. PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`; SQLite: a conditional UPDATE."""
    _case_for_write(actor, case)
    _check_open(case)
    if case.holder_id == actor.pk:
        return case
    free = RenewalCase.objects.filter(pk=case.pk, state=CaseState.OPEN, holder__isnull=True)
    now = timezone.now()
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked and free.select_for_update(
            skip_locked=True
        ).first() is None:
            raise CaseAlreadyClaimed
        if free.update(holder=actor, claimed_at=now, updated_at=now) != 1:
            raise CaseAlreadyClaimed
        contact = _active_contact(case.pk)
        if contact is not None:
            won = FollowupTask.objects.filter(
                pk=contact.task_id, status=TaskStatus.OPEN, claimed_by__isnull=True
            ).update(status=TaskStatus.CLAIMED, claimed_by=actor, claimed_at=now, updated_at=now)
            if not won and contact.task.claimed_by_id != actor.pk:
                raise CaseAlreadyClaimed  # its call is held by someone through the queue: nothing changes
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=case, changed_fields=["holder"])
    case.refresh_from_db()
    return case


def renewal_case_release(*, actor, case: RenewalCase) -> RenewalCase:
    """Give a held case (and its call in progress) back to the pool: its holder, or a manager."""
    _case_for_write(actor, case)
    if case.holder_id != actor.pk:
        require_perm(actor, Perm.RENEWAL_MANAGE)
    if case.holder_id is None:
        raise ValidationError({"holder": _("Nobody holds this case.")})
    now = timezone.now()
    with transaction.atomic():
        RenewalCase.objects.filter(pk=case.pk).update(holder=None, claimed_at=None, updated_at=now)
        FollowupTask.objects.filter(
            renewal_contact__case_id=case.pk, status=TaskStatus.CLAIMED
        ).update(status=TaskStatus.OPEN, claimed_by=None, claimed_at=None, updated_at=now)
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=case, changed_fields=["holder"])
    case.refresh_from_db()
    return case


def renewal_case_assign(*, actor, case: RenewalCase, to_user) -> RenewalCase:
    """A manager hands a case (and its call in progress) to a renewal worker of the case's store."""
    require_perm(actor, Perm.RENEWAL_MANAGE)
    _case_for_write(actor, case)
    _check_open(case)
    if to_user is None or not Staff.objects.filter(user=to_user, stores=case.store_id).exists() or not has_perm(
        to_user, Perm.RENEWAL_WORK
    ):
        raise ValidationError({"to_user": _("This person does not work renewals in the case's store.")})
    now = timezone.now()
    with transaction.atomic():
        RenewalCase.objects.filter(pk=case.pk).update(holder=to_user, claimed_at=now, assigned_by=actor,
                                                      updated_at=now)
        FollowupTask.objects.filter(
            renewal_contact__case_id=case.pk, status__in=ACTIVE_STATUSES
        ).update(status=TaskStatus.CLAIMED, claimed_by=to_user, claimed_at=now, assigned_to=to_user, updated_at=now)
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=case, changed_fields=["holder"],
                           detail={"assigned_to": to_user.pk})
    case.refresh_from_db()
    return case


def renewal_task_claimed(*, task: FollowupTask, holder) -> None:
    """A renewal call claimed in the follow-up queue makes its claimer the case's holder (refused when the case
    is held by someone else)."""
    contact = RenewalContact.objects.filter(task_id=task.pk).select_related("case").first()
    if contact is None:
        return
    updated = RenewalCase.objects.filter(pk=contact.case_id, holder__isnull=True).update(
        holder=holder, claimed_at=timezone.now(), updated_at=timezone.now()
    )
    if not updated and contact.case.holder_id not in (None, holder.pk):
        raise CaseAlreadyClaimed


def renewal_case_counters_add(case: RenewalCase, *, attempts: int, contacted_at: dt.datetime | None) -> None:
    """After contacts were recorded (or imported) on `case`: its attempts, effective contacts and last contact, in the
    caller's transaction."""
    case.attempts += attempts
    case.contacts_made = RenewalContact.objects.filter(case_id=case.pk, effective=True).count()
    if contacted_at and (case.last_contact_at is None or contacted_at > case.last_contact_at):
        case.last_contact_at = contacted_at
    case.save(update_fields=["attempts", "contacts_made", "last_contact_at", "updated_at"])


_RESULT_TO_OUTCOME = {
    ContactResult.INTERESTED: CallOutcome.COMPLETED,
    ContactResult.THINKING: CallOutcome.COMPLETED,
    ContactResult.DECLINED: CallOutcome.COMPLETED,
    ContactResult.CALL_BACK: CallOutcome.CALL_BACK,
    ContactResult.NO_ANSWER: CallOutcome.NO_ANSWER,
    ContactResult.BUSY: CallOutcome.BUSY,
    ContactResult.WRONG_NUMBER: CallOutcome.WRONG_NUMBER,
}


def _contact_to_work(actor, case: RenewalCase) -> RenewalContact:
    """The contact in progress, or the next one made now (a specialist calling ahead of its due day)."""
    contact = _active_contact(case.pk)
    if contact is not None:
        return contact
    settings = renewal_settings_get(store_id=case.store_id)
    used = RenewalContact.objects.filter(case_id=case.pk).count()
    if used >= settings.max_contacts:
        raise ValidationError(
            {
                "case": ngettext(
                    "The %(n)d contact of this case is used; record its outcome.",
                    "All %(n)d contacts of this case are used; record its outcome.",
                    settings.max_contacts,
                ) % {"n": settings.max_contacts}
            }
        )
    now = timezone.now()
    contact = RenewalContact(store_id=case.store_id, case=case, number=used + 1, due_on=business_date(now))
    contact.full_clean(exclude=["case", "task"])
    contact.save()
    rule = followup_rule_get(store=case.store, trigger=Trigger.RENEWAL_DUE)
    tasks = followup_task_create(
        actor=actor, rule=rule,
        subjects=[TaskSubject(SubjectType.RENEWAL_CONTACT, contact.pk, case.customer_id, case.vehicle_id, now)],
    )
    if not tasks or tasks[0].status != TaskStatus.OPEN:
        raise ValidationError({"case": _("The customer refused service calls.")})
    task = tasks[0]
    FollowupTask.objects.filter(pk=task.pk).update(status=TaskStatus.CLAIMED, claimed_by=actor, claimed_at=now)
    contact.task = task
    contact.save(update_fields=["task", "updated_at"])
    contact.task.refresh_from_db()
    return contact


def renewal_contact_record(
    *,
    actor,
    case: RenewalCase,
    result: str,
    channel: str = ContactChannel.PHONE,
    notes: str = "",
    call_back_at: dt.datetime | None = None,
    quote_insurer: str = "",
    quote_premium: Decimal | None = None,
    quote_discount: Decimal | None = None,
    gift: RenewalGift | None = None,
    next_step: str = "",
) -> RenewalContact:
    """Record one contact attempt on a case the actor holds: the call goes to the follow-up call log (through
    the case's renewal task), and the contact keeps its channel, result, quote, gift and next step. An answered
    contact is effective; no answer / busy / wrong number are attempts (the store's maximum of attempts makes
    the contact unreachable, as for every call)."""
    _case_for_write(actor, case)
    _check_open(case)
    if result not in ContactResult.values:
        raise ValidationError({"result": _("Unknown result.")})
    if channel not in ContactChannel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    effective = result in EFFECTIVE_RESULTS
    if not effective and (quote_insurer or quote_premium is not None or quote_discount is not None or gift):
        raise ValidationError({"result": _("A quote or gift needs a contact that reached the customer.")})
    if gift is not None and (gift.store_id != case.store_id or not gift.is_active):
        raise ValidationError({"gift": _("Choose one of the store's active gifts and offers.")})
    with transaction.atomic():
        case = RenewalCase.objects.select_for_update().select_related("store").get(pk=case.pk)
        _check_open(case)
        if case.holder_id != actor.pk:
            raise ValidationError({"case": _("Claim the case before recording a contact.")})
        contact = _contact_to_work(actor, case)
        if contact.task.status == TaskStatus.OPEN:  # made before the case had its holder
            FollowupTask.objects.filter(pk=contact.task_id, status=TaskStatus.OPEN).update(
                status=TaskStatus.CLAIMED, claimed_by=actor, claimed_at=timezone.now()
            )
            contact.task.refresh_from_db()
        label = ContactChannel(channel).label
        call = followup_attempt_record(
            actor=actor, task=contact.task, outcome=_RESULT_TO_OUTCOME[ContactResult(result)],
            notes=f"[{label}] {notes}".strip() if channel != ContactChannel.PHONE else notes,
            call_back_at=call_back_at,
        )
        now = timezone.now()
        contact.channel, contact.result, contact.handler, contact.call = channel, result, actor, call
        contact.notes = notes
        if effective:
            contact.effective = True
            contact.contacted_at = now
            contact.quote_insurer, contact.quote_premium, contact.quote_discount = (
                quote_insurer, quote_premium, quote_discount,
            )
            contact.gift, contact.gift_cost = gift, gift.cost if gift else None
            contact.next_step = next_step
        contact.full_clean(exclude=["case", "task", "gift", "call"])
        contact.save()
        renewal_case_counters_add(case, attempts=1, contacted_at=now if effective else None)
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=contact,
                           detail={"result": result, "channel": channel})
    return contact


def _one_year_on(start: dt.date) -> dt.date:
    """The last day of a one-year policy starting on `start` (29 February starts end on 28 February)."""
    try:
        return start.replace(year=start.year + 1) - dt.timedelta(days=1)
    except ValueError:
        return dt.date(start.year + 1, 2, 28)


def renewal_outcome_record(
    *,
    actor,
    case: RenewalCase,
    outcome: str,
    insurer: str = "",
    premium: Decimal | None = None,
    policy_number: str = "",
    reason: str = "",
    reason_text: str = "",
) -> RenewalCase:
    """Record how the renewal ended: renewed here (insurer, premium, policy number), renewed elsewhere (insurer,
    reason), not renewed (reason; `other` with text). Closes the case and cancels its call in progress. A case an
    imported renewal already closed keeps `renewed here` as its state; the recorded outcome stands beside it."""
    _case_for_write(actor, case)
    errors: dict[str, list] = {}
    if outcome not in Outcome.values:
        errors["outcome"] = [_("Choose an outcome.")]
    if outcome in (Outcome.RENEWED_HERE, Outcome.RENEWED_ELSEWHERE) and not insurer:
        errors["insurer"] = [_("Give the insurer.")]
    if outcome == Outcome.RENEWED_HERE:
        if premium is None:
            errors["premium"] = [_("Give the premium.")]
        if not policy_number:
            errors["policy_number"] = [_("Give the new policy number.")]
    if outcome in (Outcome.RENEWED_ELSEWHERE, Outcome.NOT_RENEWED):
        if reason not in LossReason.values:
            errors["reason"] = [_("Choose the reason.")]
        elif reason == LossReason.OTHER and not reason_text:
            errors["reason_text"] = [_("Say what the other reason is.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = RenewalCase.objects.select_for_update(of=("self",)).select_related("vehicle", "customer").get(pk=case.pk)
        if case.state not in (CaseState.OPEN, CaseState.LAPSED) and case.outcome_by_id not in (None, actor.pk):
            require_perm(actor, Perm.RENEWAL_MANAGE)
        if case.holder_id not in (None, actor.pk):
            require_perm(actor, Perm.RENEWAL_MANAGE)
        now = timezone.now()
        case.outcome = outcome
        case.outcome_insurer = insurer
        case.outcome_premium = premium if outcome == Outcome.RENEWED_HERE else None
        case.outcome_policy_number = policy_number if outcome == Outcome.RENEWED_HERE else ""
        case.outcome_reason = reason if outcome != Outcome.RENEWED_HERE else ""
        case.outcome_reason_text = reason_text if reason == LossReason.OTHER else ""
        case.outcome_by, case.outcome_at = actor, now
        if outcome == Outcome.RENEWED_HERE and case.renewed_policy_id is None:
            # the renewal sold here goes on file at once: it counts in the month's policies (单数 / 金额), and the
            # DMS's or the insurer's import of the same number later updates it
            start = max(case.expiry_date + dt.timedelta(days=1), business_date(now))
            case.renewed_policy = policy_record(
                actor=actor, vehicle=case.vehicle, customer=case.customer, policy_number=policy_number,
                insurer=insurer, start_date=start, expiry_date=_one_year_on(start), premium=premium,
                kind=PolicyKind.RENEWAL,
            )
        case.state = CaseState.RENEWED_HERE if case.renewed_policy_id else outcome
        case.closed_at = case.closed_at or now
        case.full_clean(exclude=["customer", "vehicle", "policy", "store", "renewed_policy", "holder"])
        case.save()
        FollowupTask.objects.filter(renewal_contact__case_id=case.pk, status__in=ACTIVE_STATUSES).update(
            status=TaskStatus.CANCELLED, status_reason="renewal_outcome", completed_at=now, updated_at=now
        )
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=case,
                           changed_fields=["outcome", "state"], detail={"outcome": outcome})
    return case
