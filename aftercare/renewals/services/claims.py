"""Claim assistance (seed 000 p11): after an accident reported on a policy sold here, the store helps the customer
through the claim; the item stays open until the vehicle's insurance repair order settles (matched when repair
orders are imported, `claim_assists_settle`) or someone closes it without a repair."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import RepairKind
from aftercare.customers.models import InsurancePolicy, RepairOrder
from aftercare.org.calendar import business_date, business_tz
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import CaseState, ClaimAssistState
from ..models import ClaimAssist, RenewalCase

DESCRIPTION_MAX = 4000
REASON_MAX = 500


def claim_assist_open(
    *,
    actor,
    policy: InsurancePolicy,
    reported_on: dt.date,
    description: str,
    case: RenewalCase | None = None,
) -> ClaimAssist:
    """Open claim assistance for an accident reported on `reported_on` under `policy`, which must be a policy sold
    here (of a store the actor works in) in force that day. Attached to `case` when given (a case of the same
    vehicle), else to the vehicle's open renewal case if any."""
    require_perm(actor, Perm.RENEWAL_WORK)
    if policy.store_id not in own_store_ids(actor):
        raise PermissionDenied
    description = (description or "").strip()
    errors: dict[str, list] = {}
    if not description:
        errors["description"] = [_("Say what happened.")]
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = [_("At most %(n)d characters.") % {"n": DESCRIPTION_MAX}]
    if reported_on > business_date():
        errors["reported_on"] = [_("The report cannot be in the future.")]
    elif not policy.start_date <= reported_on <= policy.expiry_date:
        errors["reported_on"] = [_("The policy was not in force on that day.")]
    if case is not None and (case.vehicle_id != policy.vehicle_id or case.store_id != policy.store_id):
        errors["policy"] = [_("The policy is not of this case's vehicle.")]
    if errors:
        raise ValidationError(errors)
    if case is None:
        case = (
            RenewalCase.objects.filter(store_id=policy.store_id, vehicle_id=policy.vehicle_id, state=CaseState.OPEN)
            .order_by("expiry_date").first()
        )
    item = ClaimAssist(
        store_id=policy.store_id,
        customer_id=case.customer_id if case is not None else policy.customer_id,
        vehicle_id=policy.vehicle_id,
        policy=policy,
        case=case,
        reported_on=reported_on,
        description=description,
        opened_by=actor,
    )
    with transaction.atomic():
        item.full_clean(exclude=["customer", "vehicle", "policy", "case", "store", "opened_by", "repair_order"])
        item.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=item, detail={"policy": policy.pk})
    return item


def claim_assist_close(*, actor, item: ClaimAssist, reason: str) -> ClaimAssist:
    """Close an open item without a repair here (the customer repaired elsewhere, withdrew the claim, …); the
    reason is kept in the audit trail."""
    require_perm(actor, Perm.RENEWAL_WORK)
    if item.store_id not in own_store_ids(actor):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why it is closed.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(n)d characters.") % {"n": REASON_MAX}]})
    with transaction.atomic():
        now = timezone.now()
        if not ClaimAssist.objects.filter(pk=item.pk, state=ClaimAssistState.OPEN).update(
            state=ClaimAssistState.CLOSED, settled_at=now, updated_at=now
        ):
            raise ValidationError({"state": [_("This claim assistance is not open.")]})
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=item, changed_fields=["state"],
                           detail={"reason": reason})
    item.refresh_from_db()
    return item


def claim_assists_settle(*, store_id: int | None = None) -> int:
    """Settle every open item whose vehicle has an insurance repair order settled on or after the day the accident
    was reported (Asia/Shanghai days; the first such order), in one UPDATE. Returns how many; a rerun settles
    nothing twice."""
    orders = (
        RepairOrder.objects.annotate(settled_on=TruncDate("settled_at", tzinfo=business_tz()))
        .filter(vehicle_id=OuterRef("vehicle_id"), kind=RepairKind.INSURANCE_JOB,
                settled_on__gte=OuterRef("reported_on"))
        .order_by("settled_at", "id")
    )
    items = ClaimAssist.objects.filter(state=ClaimAssistState.OPEN)
    if store_id is not None:
        items = items.filter(store_id=store_id)
    with transaction.atomic():
        settled = items.filter(Exists(orders)).update(
            state=ClaimAssistState.SETTLED,
            repair_order_id=Subquery(orders.values("pk")[:1]),
            settled_at=Subquery(orders.values("settled_at")[:1]),
            updated_at=timezone.now(),
        )
        if settled:
            audit_event_record(actor=None, action=AuditAction.UPDATE, object_type=ClaimAssist._meta.label_lower,
                               store_id=store_id, detail={"settled_by_import": settled})
    return settled
