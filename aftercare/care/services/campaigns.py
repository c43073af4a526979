"""Campaigns (issue 18, "Campaigns"; seed 000 p21, seed 004): a segment of the stores' customers, its live count,
the launch that gives each targeted customer one invitation call (loyal customers first), the call's outcome and
the SMS after it. Reads of results live in `aftercare/care/selectors.py` (block "campaigns").

Segment (a dict stored on the campaign, every key optional; see `SEGMENT_KEYS`): the customers currently owning
a vehicle in the campaign's stores, with the consent the campaign's purpose needs (service-call consent for the
invitation call, and marketing consent too for a marketing campaign), narrowed by class and churn risk (`CareProfile`; a
customer without a profile is "new" and has no risk score), vehicle model, vehicle age in whole years, last
counted visit (`aftercare/care/visits.py`; "before" includes customers who never came), mileage (the highest
reading), and counted spend of the last 12 months.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DecimalField, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import MileageReading, Ownership, RepairOrder
from aftercare.followups.choices import LetterChannel, LetterKind, LetterStatus, SubjectType, Trigger
from aftercare.followups.models import LetterLog
from aftercare.followups.services.generation import TaskSubject, followup_task_create
from aftercare.followups.services.rules import followup_rule_get
from aftercare.org.calendar import business_date, business_day_start
from aftercare.org.models import Store
from aftercare.org.scoping import own_store_ids

from ..choices import CALL_OUTCOMES, CampaignChannel, CampaignPurpose, CampaignState, CustomerClass, TargetState
from ..models import Campaign, CampaignTarget, churn_risk_of
from ..visits import counted

SEGMENT_KEYS = (
    "classes", "model", "vehicle_age_min", "vehicle_age_max", "last_visit_after", "last_visit_before",
    "mileage_min", "mileage_max", "spend_min", "churn_risk_min",
)
# loyal customers are the first wave; everyone else the second
FIRST_WAVE = (CustomerClass.LOYAL,)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def segment_clean(segment: dict | None) -> dict:
    """The segment with only known keys and JSON values (dates as ISO text, amounts as text); bad values raise a
    ValidationError naming the field."""
    out: dict = {}
    for key in SEGMENT_KEYS:
        value = (segment or {}).get(key)
        if value in (None, "", []):
            continue
        try:
            if key == "classes":
                values = [value] if isinstance(value, str) else list(value)
                bad = [v for v in values if v not in CustomerClass.values]
                if bad:
                    raise ValueError(bad[0])
                out[key] = values
            elif key == "model":
                out[key] = str(value).strip()[:100]
            elif key in ("last_visit_after", "last_visit_before"):
                out[key] = _date(value).isoformat()
            elif key in ("spend_min", "churn_risk_min"):
                number = Decimal(str(value))
                if number < 0 or (key == "churn_risk_min" and number > 1):
                    raise ValueError(value)
                out[key] = str(number)
            else:
                number = int(value)
                if number < 0:
                    raise ValueError(value)
                out[key] = number
        except (TypeError, ValueError, InvalidOperation):
            raise ValidationError({key: [gettext("Enter a valid value.")]}) from None
    return out


def segment_ownerships(
    *, store_ids, segment: dict, purpose: str = CampaignPurpose.MARKETING, today: dt.date | None = None
) -> QuerySet[Ownership]:
    """The current ownerships (customer × vehicle) of `store_ids` matching `segment` (see the module docstring)."""
    today = today or business_date()
    s = segment_clean(segment)
    qs = Ownership.objects.filter(
        store_id__in=store_ids, valid_to__isnull=True, customer__is_active=True, customer__merged_into__isnull=True
    )
    # invitations are calls: every campaign needs service-call consent, a marketing one marketing consent too
    qs = qs.filter(customer__consent_service_calls=True)
    if purpose == CampaignPurpose.MARKETING:
        qs = qs.filter(customer__consent_marketing=True)
    if "classes" in s:
        cond = Q(customer__care_profile__customer_class__in=s["classes"])
        if CustomerClass.NEW in s["classes"]:
            cond |= Q(customer__care_profile__isnull=True)
        qs = qs.filter(cond)
    if "churn_risk_min" in s:
        qs = qs.alias(churn_risk=churn_risk_of()).filter(churn_risk__gte=float(s["churn_risk_min"]))
    if "model" in s:
        qs = qs.filter(vehicle__model__icontains=s["model"])
    if "vehicle_age_min" in s:
        qs = qs.filter(vehicle__delivery_date__lte=_years_before(today, s["vehicle_age_min"]))
    if "vehicle_age_max" in s:
        qs = qs.filter(vehicle__delivery_date__gt=_years_before(today, s["vehicle_age_max"] + 1))
    if "last_visit_after" in s or "last_visit_before" in s:
        last = counted(RepairOrder.objects.filter(customer_id=OuterRef("customer_id"))).order_by().values(
            "customer_id").annotate(m=Max("settled_at")).values("m")
        qs = qs.annotate(last_visit=Subquery(last))
        if "last_visit_after" in s:
            qs = qs.filter(last_visit__gte=business_day_start(_date(s["last_visit_after"])))
        if "last_visit_before" in s:
            qs = qs.filter(Q(last_visit__lt=business_day_start(_date(s["last_visit_before"])))
                           | Q(last_visit__isnull=True))
    if "mileage_min" in s or "mileage_max" in s:
        km = MileageReading.objects.filter(vehicle_id=OuterRef("vehicle_id")).order_by().values(
            "vehicle_id").annotate(m=Max("km")).values("m")
        qs = qs.annotate(km=Subquery(km, output_field=IntegerField()))
        if "mileage_min" in s:
            qs = qs.filter(km__gte=s["mileage_min"])
        if "mileage_max" in s:
            qs = qs.filter(km__lte=s["mileage_max"])
    if "spend_min" in s:
        money = DecimalField(max_digits=14, decimal_places=2)
        spend = counted(RepairOrder.objects.filter(
            customer_id=OuterRef("customer_id"), settled_at__gte=business_day_start(today - dt.timedelta(days=365))
        )).order_by().values("customer_id").annotate(t=Sum("amount")).values("t")
        qs = qs.annotate(spend=Coalesce(Subquery(spend, output_field=money), Value(Decimal(0)), output_field=money))
        qs = qs.filter(spend__gte=Decimal(s["spend_min"]))
    return qs


def segment_count(*, store_ids, segment: dict, purpose: str = CampaignPurpose.MARKETING,
                  today: dt.date | None = None) -> int:
    """How many customers the segment holds: one COUNT query."""
    return segment_ownerships(store_ids=store_ids, segment=segment, purpose=purpose, today=today).values(
        "customer_id").distinct().count()


def _check_stores(actor, store_ids) -> list[int]:
    store_ids = sorted({int(s) for s in store_ids})
    if not store_ids:
        raise ValidationError({"stores": [gettext("Choose at least one store.")]})
    if not set(store_ids) <= own_store_ids(actor):
        raise ValidationError({"stores": [gettext("You may only choose your own stores.")]})
    return store_ids


def campaign_save(*, actor, campaign: Campaign | None = None, store_ids, **fields) -> Campaign:
    """Create a draft campaign (or change one not yet launched) for `store_ids` (the actor's own stores); the
    first store owns it. Validated and audited, in one transaction."""
    store_ids = _check_stores(actor, store_ids)
    creating = campaign is None
    if not creating and Campaign.objects.filter(pk=campaign.pk).values_list("state", flat=True).first() != (
        CampaignState.DRAFT
    ):
        raise ValidationError(gettext("A launched campaign can no longer be changed."))
    campaign = campaign or Campaign(created_by=actor)
    fields["segment"] = segment_clean(fields.get("segment", campaign.segment))
    channels = list(fields.get("channels", campaign.channels) or [CampaignChannel.CALL])
    if any(c not in CampaignChannel.values for c in channels):
        raise ValidationError({"channels": [gettext("Unknown channel.")]})
    if CampaignChannel.CALL not in channels:
        raise ValidationError({"channels": [gettext("Invitations are made by call; an SMS follows a call.")]})
    fields["channels"] = channels
    changed = [k for k, v in fields.items() if getattr(campaign, k) != v]
    for k, v in fields.items():
        setattr(campaign, k, v)
    campaign.store_id = store_ids[0]
    if campaign.event_start and campaign.event_end and campaign.event_end < campaign.event_start:
        raise ValidationError({"event_end": [gettext("The event cannot end before it starts.")]})
    campaign.full_clean()
    with transaction.atomic():
        campaign.save()
        campaign.stores.set(store_ids)
        audit_event_record(actor=actor, action=AuditAction.CREATE if creating else AuditAction.UPDATE, obj=campaign,
                           changed_fields=changed, detail={"stores": store_ids})
    return campaign


def campaign_update(*, actor, campaign: Campaign, store_ids=None, **fields) -> Campaign:
    """Change a draft campaign (any of `campaign_save`'s fields; `store_ids` None keeps its stores). The row is locked
    first, so a launch at the same moment waits; a launched campaign is refused with a message, and so is a campaign
    of a store that is not the actor's own. Validated and audited (the fields that changed) by `campaign_save`."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.state != CampaignState.DRAFT:
            raise ValidationError(gettext("This campaign has been launched; it can no longer be changed."))
        current = list(locked.stores.values_list("pk", flat=True)) or [locked.store_id]
        if not set(current) <= own_store_ids(actor):
            raise ValidationError({"stores": [gettext("You may only change campaigns of your own stores.")]})
        return campaign_save(actor=actor, campaign=locked, store_ids=current if store_ids is None else store_ids,
                             **fields)


def campaign_calls_start(campaign: Campaign, today: dt.date) -> dt.date:
    """The day the first wave's calls are due from: `calls_days_before` before the event, not before today."""
    return max(today, campaign.event_start - dt.timedelta(days=campaign.calls_days_before))


def campaign_launch(*, actor, campaign: Campaign, today: dt.date | None = None) -> int:
    """Target the segment and give each targeted customer one invitation call of the store's CAMPAIGN rule (trigger
    `CAMPAIGN_INVITATION`): loyal customers are the first wave, due from the calls' start, the others
    `second_wave_days` later. Idempotent: a launched campaign launches nothing more (the campaign row is locked,
    targets are unique per customer, tasks per target). Returns the number of targets made."""
    today = today or business_date()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.state != CampaignState.DRAFT:
            return 0
        if campaign.event_end < today:
            raise ValidationError({"event_end": [gettext("The event is over; it can no longer be launched.")]})
        store_ids = list(campaign.stores.values_list("pk", flat=True))
        if not set(store_ids) <= own_store_ids(actor):
            raise ValidationError({"stores": [gettext("You may only launch campaigns of your own stores.")]})
        rows = segment_ownerships(store_ids=store_ids, segment=campaign.segment, purpose=campaign.purpose,
                                  today=today).order_by("customer_id", "vehicle_id").values_list(
            "store_id", "customer_id", "vehicle_id", "customer__care_profile__customer_class",
            churn_risk_of())
        chosen: dict[int, tuple] = {}
        for store_id, customer_id, vehicle_id, klass, risk in rows:
            chosen.setdefault(customer_id, (store_id, vehicle_id, klass or CustomerClass.NEW, risk))
        # within a wave, the highest churn risk first (unscored last): the targets' and their calls' order
        ranked = sorted(chosen.items(), key=lambda kv: (kv[1][2] not in FIRST_WAVE, kv[1][3] is None,
                                                        -(kv[1][3] or 0), kv[0]))
        CampaignTarget.objects.bulk_create([
            CampaignTarget(store_id=sid, campaign=campaign, customer_id=cid, vehicle_id=vid, class_at_launch=klass,
                           wave=1 if klass in FIRST_WAVE else 2)
            for cid, (sid, vid, klass, _risk) in ranked
        ], ignore_conflicts=True)
        start = campaign_calls_start(campaign, today)
        starts = {1: business_day_start(start),
                  2: business_day_start(start + dt.timedelta(days=campaign.second_wave_days))}
        targets = list(CampaignTarget.objects.filter(campaign=campaign, task__isnull=True).order_by(
            "wave", churn_risk_of().desc(nulls_last=True), "pk"))
        for sid in sorted({t.store_id for t in targets}):
            mine = [t for t in targets if t.store_id == sid]
            rule = followup_rule_get(store=Store.objects.get(pk=sid), trigger=Trigger.CAMPAIGN_INVITATION)
            subjects = [TaskSubject(SubjectType.CAMPAIGN_TARGET, t.pk, t.customer_id, t.vehicle_id, starts[t.wave])
                        for t in mine]
            tasks = followup_task_create(actor=actor, rule=rule, subjects=subjects, detail={"campaign": campaign.pk})
            task_of = {t.subject_id: t.pk for t in tasks}
            for t in mine:
                t.task_id = task_of.get(t.pk)
            CampaignTarget.objects.bulk_update([t for t in mine if t.task_id], ["task"])
        campaign.state = CampaignState.LAUNCHED
        campaign.launched_at = timezone.now()
        campaign.launched_by = actor
        campaign.save(update_fields=["state", "launched_at", "launched_by", "updated_at"])
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=campaign, changed_fields=["state"],
                           detail={"launched": True, "targets": len(targets)})
    return len(targets)


def _send_sms(*, customer, text: str, purpose: str, task=None, actor=None) -> LetterLog | None:
    """The invitation SMS through the one outbound interface (`followups.services.outbound.message_send`: consent
    of the purpose at send time, quiet hours and the weekly cap for marketing, the delivery log). None when it was
    not allowed (the refused message stays in the log, cancelled with its reason)."""
    if not customer.mobile or not text:
        return None
    from aftercare.followups.choices import MessagePurpose
    from aftercare.followups.services.outbound import message_send

    letter = message_send(
        customer=customer, channel=LetterChannel.SMS, text=text, actor=actor, kind=LetterKind.INVITATION,
        purpose=MessagePurpose.MARKETING if purpose == CampaignPurpose.MARKETING else MessagePurpose.SERVICE,
        task=task,
    )
    return None if letter.status == LetterStatus.CANCELLED else letter


def campaign_target_outcome_record(
    *, actor, target: CampaignTarget, outcome: str, decline_reason: str = "", letter_needed: bool = False
) -> CampaignTarget:
    """What the call achieved: the customer was reached and accepted the invitation, declined (with a reason), or
    was reached without a decision. With `letter_needed` and the campaign's SMS channel, the invitation SMS goes
    out now (within the two days seed 004 allows), once per target. Validated, audited, one transaction."""
    if outcome not in CALL_OUTCOMES:
        raise ValidationError({"outcome": [gettext("Choose what the call achieved.")]})
    if outcome == TargetState.DECLINED and not decline_reason:
        raise ValidationError({"decline_reason": [gettext("Say why the customer declined.")]})
    campaign = target.campaign
    with transaction.atomic():
        target.reached = True
        target.state = TargetState(outcome)
        target.decline_reason = decline_reason if outcome == TargetState.DECLINED else ""
        target.letter_needed = bool(letter_needed)
        target.outcome_at = timezone.now()
        target.outcome_by = actor
        target.full_clean(exclude=["store", "campaign", "customer", "vehicle", "task", "letter", "outcome_by"],
                          validate_constraints=False)
        if letter_needed and target.letter_id is None and CampaignChannel.SMS in campaign.channels:
            target.letter = _send_sms(customer=target.customer, text=campaign.sms_text or campaign.name,
                                      purpose=campaign.purpose, task=target.task, actor=actor)
        target.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=target,
                           changed_fields=["state", "reached", "decline_reason", "letter_needed"],
                           detail={"campaign": campaign.pk, "outcome": outcome})
    return target
