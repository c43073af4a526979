"""Campaign and recall pages (server-rendered, HTMX for the live count). Thin: parse, check the permission, call one
selector or service, render. Services: `aftercare/care/services/campaigns.py`, `…/recalls.py`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from aftercare.core.choices import AuditAction
from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header, xlsx_workbook_bytes
from aftercare.core.forms import apply_errors
from aftercare.core.services import audit_event_record
from aftercare.org.drill import drill_list_page
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids

from .. import selectors
from ..choices import CampaignState, CustomerClass
from ..forms import CampaignForm, CampaignMeasureRowsForm, CampaignOutcomeForm, RecallImportForm, SegmentForm
from ..services import campaigns as svc
from ..services import recalls as recall_svc


def _own_stores(user):
    return list(Store.objects.filter(pk__in=own_store_ids(user)).order_by("code"))


@login_required
@require_GET
def campaign_list(request):
    require_perm(request.user, Perm.CARE_MANAGE)
    campaigns = list(selectors.campaign_list(user=request.user, store_ids=current_store_ids(request.user, request)))
    return render(request, "care/campaigns/list.html", {"campaigns": campaigns})


@login_required
def campaign_new(request):
    require_perm(request.user, Perm.CARE_MANAGE)
    stores = _own_stores(request.user)
    if request.method == "POST":
        form = CampaignForm(request.POST, stores=stores)
        if form.is_valid():
            try:
                campaign = svc.campaign_save(actor=request.user, store_ids=form.cleaned_data["stores"],
                                             **form.campaign_fields())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Campaign saved as a draft."))
                return redirect("care:campaign_detail", campaign_id=campaign.pk)
    else:
        initial = {"stores": [str(s.pk) for s in stores]}
        if request.GET.get("segment") in CustomerClass.values:  # the win-back list links here with ?segment=lost
            initial["classes"] = [request.GET["segment"]]
        form = CampaignForm(initial=initial, stores=stores)
    count = None
    if form.is_bound and form.is_valid():
        count = _count(form)
    elif not form.is_bound:
        count = svc.segment_count(store_ids=[s.pk for s in stores], segment={"classes": form.initial.get("classes")},
                                  purpose=form.fields["purpose"].initial)
    return render(request, "care/campaigns/new.html", {"form": form, "count": count},
                  status=400 if form.is_bound else 200)


@login_required
def campaign_edit(request, campaign_id: int):
    """The builder for a draft campaign of the user's stores (another store's is a 404); a launched campaign cannot
    be changed: its page says so."""
    require_perm(request.user, Perm.CARE_MANAGE)
    campaign = selectors.campaign_get(user=request.user, pk=campaign_id)
    if campaign.state != CampaignState.DRAFT:
        messages.error(request, _("This campaign has been launched; it can no longer be changed."))
        return redirect("care:campaign_detail", campaign_id=campaign.pk)
    stores = _own_stores(request.user)
    if request.method == "POST":
        form = CampaignForm(request.POST, stores=stores)
        if form.is_valid():
            try:
                svc.campaign_update(actor=request.user, campaign=campaign, store_ids=form.cleaned_data["stores"],
                                    **form.campaign_fields())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Draft campaign saved."))
                return redirect("care:campaign_detail", campaign_id=campaign.pk)
    else:
        initial = CampaignForm.initial_for(campaign)
        form = CampaignForm(initial=initial, stores=stores)
    count = _count(form) if form.is_bound and form.is_valid() else None
    if not form.is_bound:
        try:
            count = svc.segment_count(store_ids=[int(s) for s in initial["stores"]], segment=campaign.segment,
                                      purpose=campaign.purpose)
        except ValidationError:
            count = None
    return render(request, "care/campaigns/new.html", {"form": form, "count": count, "campaign": campaign},
                  status=400 if form.is_bound else 200)


def _count(form) -> int | None:
    """The live count of a valid builder form (its stores are choices of the user's own, and required)."""
    try:
        return svc.segment_count(store_ids=[int(s) for s in form.cleaned_data["stores"]], segment=form.segment(),
                                 purpose=form.cleaned_data["purpose"])
    except ValidationError:
        return None


@login_required
@require_GET
def segment_count(request):
    """The live count of the builder (an HTMX partial): the customers matching the filters as they stand."""
    require_perm(request.user, Perm.CARE_MANAGE)
    form = SegmentForm(request.GET)
    count = None
    if form.is_valid():
        own = own_store_ids(request.user)
        wanted = {int(s) for s in request.GET.getlist("stores") if s.isdigit()} & own
        try:
            count = svc.segment_count(store_ids=wanted or own, segment=form.segment(),
                                      purpose=form.cleaned_data["purpose"])
        except ValidationError:
            count = None
    return render(request, "care/campaigns/_count.html", {"count": count, "form": form})


@login_required
@require_GET
def campaign_detail(request, campaign_id: int):
    require_perm(request.user, Perm.CARE_MANAGE)
    campaign = selectors.campaign_get(user=request.user, pk=campaign_id)
    measure = request.GET.get("measure", "targeted")
    if measure not in selectors.CAMPAIGN_MEASURES:
        measure = "targeted"
    count = None
    if campaign.state == "draft":
        count = svc.segment_count(store_ids=list(campaign.stores.values_list("pk", flat=True)),
                                  segment=campaign.segment, purpose=campaign.purpose)
    rows = list(selectors.campaign_target_rows(user=request.user, campaign=campaign, measure=measure)[:500])
    return render(request, "care/campaigns/detail.html", {
        "campaign": campaign, "results": selectors.campaign_results(user=request.user, campaign=campaign),
        "specialists": selectors.campaign_results_by_specialist(user=request.user, campaign=campaign),
        "rows": rows, "measure": measure, "measures": selectors.CAMPAIGN_MEASURES, "count": count,
        "stores": list(campaign.stores.order_by("code")),
    })


@login_required
@require_POST
def campaign_launch(request, campaign_id: int):
    require_perm(request.user, Perm.CARE_MANAGE)
    campaign = selectors.campaign_get(user=request.user, pk=campaign_id)
    try:
        made = svc.campaign_launch(actor=request.user, campaign=campaign)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        launched = ngettext(
            "Campaign launched: %(n)s customer to invite.", "Campaign launched: %(n)s customers to invite.", made
        )
        messages.success(request, launched % {"n": made})
    return redirect("care:campaign_detail", campaign_id=campaign.pk)


@login_required
@require_GET
def campaign_export(request, campaign_id: int):
    require_perm(request.user, Perm.CARE_MANAGE)
    campaign = selectors.campaign_get(user=request.user, pk=campaign_id)
    results = selectors.campaign_results(user=request.user, campaign=campaign)
    labels = _measure_labels()
    summary = [[labels[m], results[m]] for m in selectors.CAMPAIGN_MEASURES] + [[_("Revenue"), results["revenue"]]]
    rows = [[t.customer.number, t.customer.name, t.vehicle.plate if t.vehicle else "", t.get_class_at_launch_display(),
             t.wave, t.get_state_display(), t.get_decline_reason_display(), _("yes") if t.came else _("no"), t.revenue]
            for t in selectors.campaign_target_rows(user=request.user, campaign=campaign)]
    header = [_("Customer number"), _("Customer"), _("Plate"), _("Class at launch"), _("Wave"), _("State"),
              _("Why declined"), _("Came"), _("Revenue")]
    people = [[p["specialist"], p["reached"], p["invited"], p["declined"], p["came"], p["revenue"]]
              for p in selectors.campaign_results_by_specialist(user=request.user, campaign=campaign)]
    data, _rows = xlsx_workbook_bytes([
        (_("Results"), [[_("Measure"), _("Value")], *summary]),
        (_("Targets"), [header, *rows]),
        (_("Specialists"), [[_("Specialist"), _("Reached"), _("Invited"), _("Declined"), _("Came"), _("Revenue")],
                            *people]),
    ])
    audit_event_record(actor=request.user, action=AuditAction.EXPORT, obj=campaign, detail={"rows": len(rows)})
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(f"campaign-{campaign.pk}.xlsx")
    return response


def _measure_labels() -> dict:
    return {"targeted": _("Targeted"), "reached": _("Reached"), "invited": _("Invited"), "declined": _("Declined"),
            "unreachable": _("Unreachable"), "came": _("Came")}


@login_required
@require_POST
def target_outcome(request, campaign_target_id: int):
    """The call screen's campaign card posts here; back to the call screen."""
    require_perm(request.user, Perm.CARE_WORK)
    target = selectors.campaign_target_get(user=request.user, pk=campaign_target_id)
    form = CampaignOutcomeForm(request.POST)
    if form.is_valid():
        try:
            svc.campaign_target_outcome_record(actor=request.user, target=target, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Campaign outcome recorded."))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    if target.task_id:
        return redirect("followups:call", pk=target.task_id)
    return redirect(reverse("care:campaign_detail", kwargs={"campaign_id": target.campaign_id}))


# ---- recalls ----

@login_required
def recall_list(request):
    require_perm(request.user, Perm.CARE_MANAGE)
    stores = _own_stores(request.user)
    form = RecallImportForm(stores=stores)
    report = None
    status = 200
    if request.method == "POST":
        form = RecallImportForm(request.POST, request.FILES, stores=stores)
        if form.is_valid():
            try:
                report = recall_svc.recall_import(
                    actor=request.user, store_id=int(form.cleaned_data["store"]), code=form.cleaned_data["code"],
                    title=form.cleaned_data["title"], started_on=form.cleaned_data["started_on"],
                    upload=form.cleaned_data["file"])
            except ValidationError as exc:
                apply_errors(form, exc)
                status = 400
            else:
                n = report.matched
                imported = ngettext(
                    "Recall imported: %(n)s vehicle to call.", "Recall imported: %(n)s vehicles to call.", n
                )
                messages.success(request, imported % {"n": n})
        else:
            status = 400
    recalls = list(selectors.recall_list(user=request.user, store_ids=current_store_ids(request.user, request)))
    return render(request, "care/campaigns/recalls.html", {"recalls": recalls, "form": form, "report": report},
                  status=status)


@login_required
@require_GET
def recall_detail(request, recall_id: int):
    require_perm(request.user, Perm.CARE_MANAGE)
    recall = selectors.recall_get(user=request.user, pk=recall_id)
    recall_svc.recall_progress_update(recall=recall)
    recall = selectors.recall_get(user=request.user, pk=recall_id)
    vehicles = list(selectors.recall_vehicles(user=request.user, recall=recall)[:1000])
    return render(request, "care/campaigns/recall_detail.html", {"recall": recall, "vehicles": vehicles})


@login_required
@require_POST
def recall_vehicle_done(request, recall_vehicle_id: int):
    """The call screen's recall card: the call says the work is done (e.g. at another dealer)."""
    require_perm(request.user, Perm.CARE_WORK)
    recall_vehicle = selectors.recall_vehicle_get(user=request.user, pk=recall_vehicle_id)
    recall_svc.recall_vehicle_mark_done(actor=request.user, recall_vehicle=recall_vehicle)
    messages.success(request, _("Recall marked done for this vehicle."))
    if recall_vehicle.task_id:
        return redirect("followups:call", pk=recall_vehicle.task_id)
    return redirect("care:recall_detail", recall_id=recall_vehicle.recall_id)



@login_required
@require_GET
def campaign_measure_rows(request):
    """The targets behind a campaign measure's figure (the measures pages' drill-down): the campaigns starting in the
    months, one store (or the stores in scope), `counted` = targeted, reached or came; a bad filter answers 400 with
    the field's error, another store's id 404."""
    require_perm(request.user, Perm.CARE_MANAGE)

    def rows(data, store_ids, since, until):
        return selectors.campaign_measure_targets(user=request.user, store_ids=store_ids, since=since, until=until,
                                                  measure=data["counted"])

    return drill_list_page(request, CampaignMeasureRowsForm, rows, "care/campaigns/measure_rows.html")
