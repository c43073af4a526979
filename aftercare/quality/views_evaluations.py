"""Dealer evaluation pages (docs/quality.md, "Dealer evaluation"), made for a phone: the visits, one visit (score
its items, add photos and corrective actions, submit), the corrective actions (reported done by the store, verified
by the evaluator), and the group's evaluation forms. Thin: parse, check, one selector or service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from aftercare.core.forms import apply_errors, bound_data
from aftercare.org.calendar import business_date
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import may_report_action_done, own_store_ids
from aftercare.org.selectors import store_staff_choices

from . import selectors_evaluations as selectors
from .choices import ActionStatus, VisitStatus
from .evaluation_models import EvaluationForm
from .forms_evaluations import (
    ActionDoneForm,
    ActionForm,
    ActionVerifyForm,
    EvaluationFormForm,
    VisitPhotoForm,
    VisitScoresForm,
    VisitStartForm,
)
from .services import evaluations

PAGE_SIZE = 25


def _may_evaluate(user, store_id: int) -> bool:
    return has_perm(user, Perm.QUALITY_EVALUATE) and store_id in own_store_ids(user)


@login_required
@require_http_methods(["GET", "POST"])
def visit_list(request):
    """The visits of the stores in scope; itinerant service staff start one here."""
    user = request.user
    require_perm(user, Perm.QUALITY_VIEW)
    can_start = has_perm(user, Perm.QUALITY_EVALUATE) and bool(own_store_ids(user))
    start_form = None
    status = 200
    if can_start:
        stores = Store.objects.filter(pk__in=own_store_ids(user)).order_by("code")
        active_forms = selectors.evaluation_form_active(user=user)
        start_form = VisitStartForm(**bound_data(request), stores=stores, evaluation_forms=active_forms,
                                    initial={"visited_on": business_date()})
        if request.method == "POST":
            if start_form.is_valid():
                data = start_form.cleaned_data
                form = EvaluationForm.objects.filter(pk=data["form"]).first()
                try:
                    visit = evaluations.store_visit_start(actor=user, store_id=data["store"],
                                                          visited_on=data["visited_on"], form=form)
                except ValidationError as exc:
                    apply_errors(start_form, exc)
                else:
                    messages.success(request, _("Visit started."))
                    return redirect("quality:visit_detail", visit_id=visit.pk)
            status = 400
    elif request.method == "POST":
        require_perm(user, Perm.QUALITY_EVALUATE)
        raise Http404
    page = Paginator(selectors.store_visit_list(user=user, request=request), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "quality/evaluations/visit_list.html",
                  {"page": page, "start_form": start_form, "no_active_form": can_start and not active_forms},
                  status=status)


def _visit_context(request, visit, **forms):
    user = request.user
    items = list(visit.form.items.order_by("position"))
    scores = {s.item_id: s for s in visit.scores.all()}
    evaluator = _may_evaluate(user, visit.store_id)
    editable = visit.status == VisitStatus.DRAFT and evaluator
    today = business_date()
    actions = list(visit.actions.select_related("item", "owner__staff").order_by("due_on", "id"))
    for a in actions:
        a.overdue = a.is_overdue(today)
        a.may_report_done = a.status == ActionStatus.OPEN and may_report_action_done(
            user, owner_id=a.owner_id, store_id=a.store_id)
        a.may_verify = a.status == ActionStatus.DONE and evaluator
    context = {
        "visit": visit,
        "items": [(i, scores.get(i.pk)) for i in items],
        "photos": list(visit.photos.select_related("item").order_by("id")),
        "actions": actions,
        "editable": editable,
        "evaluator": evaluator,
        "scores_form": forms.get("scores_form") or (VisitScoresForm(items=items, scores=scores,
                                                                   initial={"summary": visit.summary})
                                                    if editable else None),
        "photo_form": forms.get("photo_form") or (VisitPhotoForm(items=items) if editable else None),
        "action_form": forms.get("action_form") or (
            ActionForm(items=items, owners=store_staff_choices(store_id=visit.store_id)) if evaluator else None),
        "done_form": ActionDoneForm(),
        "verify_form": ActionVerifyForm(),
        "scored": len(scores),
    }
    return context


@login_required
@require_http_methods(["GET", "POST"])
def visit_detail(request, visit_id: int):
    """One visit. POST `what=scores` (save, or with `submit` submit), `what=photo`, `what=action`."""
    user = request.user
    require_perm(user, Perm.QUALITY_VIEW)
    visit = selectors.store_visit_get(user=user, visit_id=visit_id)
    if request.method == "GET":
        return render(request, "quality/evaluations/visit_detail.html", _visit_context(request, visit))
    what = request.POST.get("what")
    if what not in ("scores", "photo", "action"):
        raise Http404
    require_perm(user, Perm.QUALITY_EVALUATE)
    if not _may_evaluate(user, visit.store_id):
        raise Http404
    items = list(visit.form.items.order_by("position"))
    forms = {}
    try:
        if what == "scores":
            form = forms["scores_form"] = VisitScoresForm(request.POST, items=items)
            if form.is_valid():
                _save_scores(request, visit, form)
                return redirect("quality:visit_detail", visit_id=visit.pk)
        elif what == "photo":
            form = forms["photo_form"] = VisitPhotoForm(request.POST, request.FILES, items=items)
            if form.is_valid():
                evaluations.store_visit_photo_add(actor=user, visit=visit, image=form.cleaned_data["image"],
                                                  caption=form.cleaned_data["caption"],
                                                  item_id=form.cleaned_data["item"])
                messages.success(request, _("Photo added."))
                return redirect("quality:visit_detail", visit_id=visit.pk)
        else:
            form = forms["action_form"] = ActionForm(request.POST, items=items,
                                                     owners=store_staff_choices(store_id=visit.store_id))
            if form.is_valid():
                data = form.cleaned_data
                evaluations.corrective_action_create(actor=user, visit=visit, item_id=data["item"],
                                                     finding=data["finding"], action=data["action"],
                                                     owner_id=data["owner"], due_on=data["due_on"])
                messages.success(request, _("Corrective action added."))
                return redirect("quality:visit_detail", visit_id=visit.pk)
    except ValidationError as exc:
        apply_errors(form, exc, rename={"owner_id": "owner", "item_id": "item"})
    visit.refresh_from_db()
    return render(request, "quality/evaluations/visit_detail.html", _visit_context(request, visit, **forms),
                  status=400)


def _save_scores(request, visit, form) -> None:
    """Save the scores given (one service call); with `submit`, then submit the visit (every item scored)."""
    user = request.user
    scores = form.scores()
    if scores:
        evaluations.store_visit_scores_set(actor=user, visit=visit, scores=scores)
    if "submit" in request.POST:
        try:
            evaluations.store_visit_submit(actor=user, visit=visit, summary=form.cleaned_data["summary"])
        except ValidationError as exc:
            # the scores given are kept; the visit stays a draft
            messages.error(request, " ".join(exc.messages))
            return
        messages.success(request, _("Visit submitted: %(score)s %%.") % {"score": visit.score})
    else:
        messages.success(request, _("Scores saved."))


@login_required
def visit_photo(request, visit_id: int, photo_id: int):
    """A photo of a visit in scope, never rendered as anything but an image download."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    photo = selectors.visit_photo_get(user=request.user, photo_id=photo_id)
    if photo.visit_id != visit_id:
        raise Http404
    # nosniff: SecurityMiddleware (SECURE_CONTENT_TYPE_NOSNIFF)
    return FileResponse(photo.image.open("rb"), as_attachment=True, filename=photo.image.name.rsplit("/", 1)[-1])


@login_required
def action_list(request):
    """The corrective actions in scope; `?status=open|overdue|done|verified` (the start card's links)."""
    status = request.GET.get("status") or ""
    if status not in selectors.ACTION_FILTERS:
        status = ""
    today = business_date()
    qs = selectors.corrective_action_list(user=request.user, status=status, today=today)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for a in page.object_list:
        a.overdue = a.is_overdue(today)
    return render(request, "quality/evaluations/action_list.html",
                  {"page": page, "status": status, "filters": selectors.action_filter_choices()})


@login_required
@require_POST
def action_step(request, action_id: int):
    """`what=done` (the store: its owner or a manager) or `what=verify` (the evaluator: verified or reopened)."""
    user = request.user
    action = selectors.corrective_action_get(user=user, action_id=action_id)
    what = request.POST.get("what")
    if what not in ("done", "verify"):
        raise Http404
    form = ActionDoneForm(request.POST) if what == "done" else ActionVerifyForm(request.POST)
    if form.is_valid():
        try:
            if what == "done":
                evaluations.corrective_action_done(actor=user, action=action, note=form.cleaned_data["note"])
                messages.success(request, _("Action reported done."))
            else:
                evaluations.corrective_action_verify(actor=user, action=action,
                                                     accepted=form.cleaned_data["accepted"],
                                                     note=form.cleaned_data["note"])
                messages.success(request, _("Action verified.") if form.cleaned_data["accepted"]
                                 else _("Action reopened."))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
    else:
        for field, errors in form.errors.items():
            for e in errors:
                messages.error(request, f"{form.fields[field].label}: {e}" if field in form.fields else e)
    if has_perm(user, Perm.QUALITY_VIEW):
        return redirect("quality:visit_detail", visit_id=action.visit_id)
    return redirect("quality:actions")


@login_required
@require_http_methods(["GET", "POST"])
def form_list(request):
    """The group's evaluation forms; the quality engineer drafts a new version and activates it."""
    user = request.user
    require_perm(user, Perm.QUALITY_VIEW)
    can_manage = has_perm(user, Perm.QUALITY_MANAGE) and has_perm(user, Perm.QUALITY_GROUP)
    form = EvaluationFormForm(**bound_data(request)) if can_manage else None
    status = 200
    if request.method == "POST":
        require_perm(user, Perm.QUALITY_MANAGE)
        require_perm(user, Perm.QUALITY_GROUP)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = evaluations.evaluation_form_create(actor=user, code=data["code"], name_zh=data["name_zh"],
                                                             name_en=data["name_en"], items=data["items"])
            except ValidationError as exc:
                for key, errors in exc.message_dict.items():
                    for e in errors:
                        if key.startswith("items."):
                            form.add_error("items", _("Line %(n)s: %(error)s") % {"n": key.split(".")[1], "error": e})
                        else:
                            form.add_error(key if key in form.fields else None, e)
            else:
                messages.success(request, _("Form %(code)s v%(version)s drafted.")
                                 % {"code": created.code, "version": created.version})
                return redirect("quality:evaluation_forms")
        status = 400
    return render(request, "quality/evaluations/form_list.html",
                  {"forms": selectors.evaluation_form_list(user=user), "form": form, "can_manage": can_manage},
                  status=status)


@login_required
@require_POST
def form_activate(request, form_id: int):
    user = request.user
    require_perm(user, Perm.QUALITY_MANAGE)
    require_perm(user, Perm.QUALITY_GROUP)
    row = selectors.evaluation_form_list(user=user).filter(pk=form_id).first()
    if row is None:
        raise Http404
    try:
        evaluations.evaluation_form_activate(actor=user, form=row)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Form %(code)s v%(version)s is active.") % {"code": row.code,
                                                                                "version": row.version})
    return redirect("quality:evaluation_forms")
