"""Scoped reads of the care app: every selector takes the acting user and reads only the stores they may see."""

# ---- campaigns: imports ----
import datetime as dt
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from aftercare.customers.models import RepairOrder
from aftercare.followups.choices import TaskStatus
from aftercare.org.calendar import business_day_start
from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from .choices import RecallVehicleState, TargetState
from .models import Campaign, CampaignTarget, Recall, RecallVehicle
from .visits import counted

# ---- campaigns: campaigns, their results and recalls ----
# the figures of a campaign's results, each a drill-down to its rows (`campaign_target_rows`)
CAMPAIGN_MEASURES = ("targeted", "reached", "invited", "declined", "unreachable", "came")


def _campaign_store_ids(user, store_ids=None) -> frozenset[int]:
    if not (has_perm(user, Perm.CARE_MANAGE) or has_perm(user, Perm.CARE_WORK)):
        return frozenset()
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def campaign_list(*, user, store_ids=None):
    """The campaigns owned by the stores in scope, newest event first, with their number of targets."""
    return (Campaign.objects.filter(store_id__in=_campaign_store_ids(user, store_ids))
            .select_related("store").annotate(targeted=Count("targets")).order_by("-event_start", "-id"))


def campaign_get(*, user, pk) -> Campaign:
    """One campaign in scope; another store's id is a 404."""
    return get_scoped_or_404(Campaign.objects.filter(store_id__in=_campaign_store_ids(user))
                              .select_related("store", "launched_by", "created_by"), pk=pk)


def _came_orders(campaign: Campaign):
    """Counted repair orders of the target's customer in the campaign's window (Shanghai days, end inclusive)."""
    return counted(RepairOrder.objects.filter(
        customer_id=OuterRef("customer_id"),
        settled_at__gte=business_day_start(campaign.event_start),
        settled_at__lt=business_day_start(campaign.event_end + dt.timedelta(days=1)),
    ))


def campaign_targets(*, user, campaign: Campaign):
    """The campaign's targets in scope, each with `came` (a counted repair order in the window), `revenue` (their
    amounts) and `unreachable` (the state, or the call task ended unreachable)."""
    money = DecimalField(max_digits=14, decimal_places=2)
    revenue = _came_orders(campaign).order_by().values("customer_id").annotate(t=Sum("amount")).values("t")
    return (CampaignTarget.objects.filter(campaign=campaign, store_id__in=_campaign_store_ids(user))
            .annotate(came=Exists(_came_orders(campaign)),
                      revenue=Coalesce(Subquery(revenue, output_field=money), Value(Decimal(0)),
                                        output_field=money)))


def _measure_q(measure: str) -> Q:
    return {
        "targeted": Q(),
        "reached": Q(reached=True),
        "invited": Q(state=TargetState.INVITED),
        "declined": Q(state=TargetState.DECLINED),
        "unreachable": Q(state=TargetState.UNREACHABLE) | Q(reached=False, task__status=TaskStatus.UNREACHABLE),
        "came": Q(came=True),
    }[measure]


def campaign_results(*, user, campaign: Campaign) -> dict:
    """targeted, reached (an answered call recorded), invited (accepted), declined, unreachable, came (a counted
    repair order in the window) and revenue (the amounts of those orders); one query."""
    qs = campaign_targets(user=user, campaign=campaign)
    sums = qs.aggregate(**{f"n_{m}": Count("pk", filter=_measure_q(m)) for m in CAMPAIGN_MEASURES},
                        n_revenue=Sum("revenue", filter=Q(came=True)))
    out = {k[2:]: v for k, v in sums.items()}
    out["revenue"] = out["revenue"] or Decimal(0)
    for m in ("reached", "invited", "came"):
        out[f"{m}_rate"] = (out[m] / out["targeted"]) if out["targeted"] else None
    return out


def campaign_results_by_specialist(*, user, campaign: Campaign) -> list[dict]:
    """Per specialist who recorded outcomes: `specialist` (a name), reached, invited, declined, came, revenue;
    one query."""
    qs = campaign_targets(user=user, campaign=campaign).filter(outcome_by__isnull=False)
    rows = (qs.values("outcome_by_id", "outcome_by__username", "outcome_by__staff__display_name")
            .annotate(n_reached=Count("pk", filter=Q(reached=True)),
                      n_invited=Count("pk", filter=_measure_q("invited")),
                      n_declined=Count("pk", filter=_measure_q("declined")),
                      n_came=Count("pk", filter=Q(came=True)),
                      n_revenue=Sum("revenue", filter=Q(came=True)))
            .order_by("outcome_by__staff__display_name", "outcome_by_id"))
    return [{"user_id": r["outcome_by_id"], "username": r["outcome_by__username"],
             "specialist": r["outcome_by__staff__display_name"] or r["outcome_by__username"],
             "reached": r["n_reached"], "invited": r["n_invited"], "declined": r["n_declined"], "came": r["n_came"],
             "revenue": r["n_revenue"] or Decimal(0)} for r in rows]


def campaign_target_rows(*, user, campaign: Campaign, measure: str = "targeted"):
    """The targets behind one figure of the results, loyal first, with customer, vehicle and task."""
    if measure not in CAMPAIGN_MEASURES:
        measure = "targeted"
    return (campaign_targets(user=user, campaign=campaign).filter(_measure_q(measure))
            .select_related("customer", "vehicle", "task", "outcome_by", "outcome_by__staff")
            .order_by("wave", "pk"))


def campaign_target_for_task(*, user, task):
    """The campaign target a call task is about (the call screen's campaign card), or None."""
    return (CampaignTarget.objects.filter(task=task, store_id__in=_campaign_store_ids(user))
            .select_related("campaign", "customer").first())


def campaign_target_get(*, user, pk) -> CampaignTarget:
    return get_scoped_or_404(CampaignTarget.objects.filter(store_id__in=_campaign_store_ids(user))
                              .select_related("campaign", "customer", "task"), pk=pk)


def recall_list(*, user, store_ids=None):
    """The recalls of the stores in scope with their vehicles done, unreachable and open (one query)."""
    return (Recall.objects.filter(store_id__in=_campaign_store_ids(user, store_ids)).select_related("store")
            .annotate(total=Count("vehicles"),
                      done=Count("vehicles", filter=Q(vehicles__state=RecallVehicleState.DONE)),
                      unreachable=Count("vehicles", filter=Q(vehicles__state=RecallVehicleState.UNREACHABLE)))
            .order_by("-started_on", "-id"))


def recall_get(*, user, pk) -> Recall:
    return get_scoped_or_404(recall_list(user=user), pk=pk)


def recall_vehicles(*, user, recall: Recall):
    return (RecallVehicle.objects.filter(recall=recall, store_id__in=_campaign_store_ids(user))
            .select_related("vehicle", "customer", "task").order_by("row_number", "pk"))


def recall_vehicle_for_task(*, user, task):
    """The recall vehicle a call task is about (the call screen's recall card), or None."""
    return (RecallVehicle.objects.filter(task=task, store_id__in=_campaign_store_ids(user))
            .select_related("recall", "vehicle").first())


def recall_vehicle_get(*, user, pk) -> RecallVehicle:
    return get_scoped_or_404(RecallVehicle.objects.filter(store_id__in=_campaign_store_ids(user))
                             .select_related("recall"), pk=pk)
