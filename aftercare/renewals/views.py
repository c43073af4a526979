"""Renewal pages (server-rendered, HTMX partials).

Thin: parse, check the permission, call one selector or service, render. Service errors show next to the field.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from aftercare.core.charts import Series, line_chart
from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header, xlsx_workbook_bytes
from aftercare.core.forms import apply_errors, bound_data
from aftercare.core.htmx import is_partial, render_partial_or_page
from aftercare.org.calendar import business_date, month_add
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import (
    current_store_ids,
    narrowed_store_ids,
    own_store_ids,
    settings_store,
    settings_stores,
    store_for_write,
)

from . import kpis, selectors
from .choices import CaseState, Segment
from .forms import (
    AssignForm,
    CaseFilterForm,
    ContactForm,
    GiftForm,
    GiftUpdateForm,
    MeasuresFilterForm,
    OutcomeForm,
    PoliciesSoldFilterForm,
    RenewalSheetImportForm,
    SettingsForm,
    user_label,
)
from .measures import renewal_policy_sold_list
from .selectors import may_see_premiums
from .services import configuration, sheets, work
from .services.generation import contact_due_on

# ---- the renewal specialist's and manager's pages: list, case, settings ---------------------------------------------

PAGE_SIZE = 25

# what each segment means on the case page (definitions: docs/kpis.md, "Renewal segments")
SEGMENT_MEANING = {
    Segment.NEW_CAR_FIRST: gettext_lazy("A new car sold here, its first policy coming up for renewal."),
    Segment.RENEWED_HERE: gettext_lazy("The policy expiring was renewed here last year."),
    Segment.INSURED_ELSEWHERE: gettext_lazy(
        "The car is serviced here but insured elsewhere (no policy of ours in force)."
    ),
    Segment.LAPSED_RETURNED: gettext_lazy(
        "Insurance lapsed one to three years ago, and the car came back for service."
    ),
    Segment.LAPSED_LOST: gettext_lazy("Insurance lapsed and the car has not come back."),
}


@login_required
def case_list(request):
    """The renewal follow-up table (续跟进表, seed 000 p9–13), in calling order; a specialist opens on the cases to
    call today (`?due=today`), a manager on all of them. An HTMX request gets the table only."""
    user = request.user
    require_perm(user, Perm.RENEWAL_WORK)
    store_ids = current_store_ids(user, request)
    stores = list(Store.objects.filter(pk__in=store_ids).order_by("code")) if len(store_ids) > 1 else []
    workers = list(selectors.renewal_worker_list(user=user, store_ids=store_ids))
    data = request.GET.copy()
    if not data.get("due"):
        # a specialist opens on today's calls; a link with filters (a card, a measure's figure) lists all it names
        filtered = any(data.get(name) for name in selectors.CASE_FILTERS)
        data["due"] = "all" if filtered or has_perm(user, Perm.RENEWAL_MANAGE) else "today"
    form = CaseFilterForm(data, workers=workers, stores=stores)
    cases = selectors.renewal_case_narrow(
        selectors.renewal_case_list(user=user, store_ids=store_ids), user=user, **form.filters()
    )
    page = Paginator(selectors.renewal_case_rows(cases), PAGE_SIZE).get_page(request.GET.get("page"))
    columns = selectors.renewal_contact_columns(store_ids=store_ids)
    for case in page.object_list:
        by_number = {k.number: k for k in case.contacts.all()}
        case.cells = [by_number.get(n) for n in range(1, columns + 1)]
    tab = data["due"] if data["due"] in ("today", "all") else "all"
    query = data.copy()
    query.pop("page", None)
    tabs = {}
    for name in ("today", "all"):
        query["due"] = name
        tabs[name] = query.urlencode()
    context = {
        "form": form,
        "page": page,
        "tab": tab,
        "tabs": tabs,
        "columns": range(1, columns + 1),
        "multi_store": len(store_ids) > 1,
        "today": business_date(),
        "can_reveal": has_perm(user, Perm.CUSTOMER_REVEAL_PHONE),
        "can_manage": has_perm(user, Perm.RENEWAL_MANAGE),
    }
    return render_partial_or_page(request, "renewals/case_list.html", "renewals/_case_rows.html", context)


def _case_context(request, case, *, contact_form=None, outcome_form=None, notice=None) -> dict:
    """Everything the case page shows; bound forms (with errors) replace the empty ones."""
    user = request.user
    settings = selectors.renewal_settings_get(store_id=case.store_id)
    contacts = list(
        selectors.renewal_contact_list(user=user, store_ids=[case.store_id])
        .filter(case_id=case.pk)
        .select_related("handler__staff")
        .order_by("number")
    )
    by_number = {k.number: k for k in contacts}
    plan = []
    for n in range(1, max(settings.max_contacts, len(contacts)) + 1):
        contact = by_number.get(n)
        due_on = contact.due_on if contact else contact_due_on(settings, case.expiry_date, n)
        plan.append({"number": n, "due_on": due_on, "contact": contact})
    writable = case.store_id in own_store_ids(user)
    is_open = case.state == CaseState.OPEN
    mine = case.holder_id == user.pk
    manage = has_perm(user, Perm.RENEWAL_MANAGE) and writable
    premiums = selectors.may_see_premiums(user)
    may_contact = writable and is_open and mine
    gifts = []
    if may_contact and contact_form is None:
        gifts = list(selectors.renewal_gift_list(user=user, store_ids=[case.store_id]).filter(is_active=True))
    workers = list(selectors.renewal_worker_list(user=user, store_ids=[case.store_id])) if manage and is_open else []
    # who may record (or correct) the outcome: the services' rule (renewal_outcome_record)
    may_outcome = writable and (manage or (
        case.holder_id in (None, user.pk)
        and (case.state in (CaseState.OPEN, CaseState.LAPSED) or case.outcome_by_id in (None, user.pk))
    ))
    return {
        "case": case,
        "customer": case.customer,
        "segment_meaning": SEGMENT_MEANING.get(case.segment, ""),
        "settings": settings,
        "plan": plan,
        "list_opens_on": case.expiry_date - dt.timedelta(days=settings.list_opens_days),
        "chase_ends_on": case.expiry_date + dt.timedelta(days=settings.lapse_chase_days),
        "is_open": is_open,
        "mine": mine,
        "can_claim": writable and is_open and case.holder_id is None,
        "can_release": writable and case.holder_id is not None and (mine or manage),
        "assign_form": AssignForm(workers=workers, auto_id="assign_%s") if workers else None,
        "contact_form": contact_form
        or (ContactForm(gifts=gifts, premiums=premiums, auto_id="contact_%s") if may_contact else None),
        "outcome_form": outcome_form or (OutcomeForm(auto_id="outcome_%s") if may_outcome else None),
        "premiums": premiums,
        "can_reveal": has_perm(user, Perm.CUSTOMER_REVEAL_PHONE),
        "notice": notice,
    }


def _case(request, case_id: int):
    require_perm(request.user, Perm.RENEWAL_WORK)
    return selectors.renewal_case_get(user=request.user, pk=case_id)


@login_required
def case_detail(request, case_id: int):
    """One renewal case: customer, vehicle, the expiring policy, dates, holder, contacts, outcome, and the forms
    of who may act."""
    case = _case(request, case_id)
    return render(request, "renewals/case_detail.html", _case_context(request, case))


def _answer(request, case_id: int, *, ok: str = "", error: str = "", status: int = 200, **forms):
    """After an action: the case partial (HTMX, with the message in it), else a redirect with the message, or the
    page again with the bound form's errors (400)."""
    if forms and not is_partial(request):
        case = _case(request, case_id)
        return render(request, "renewals/case_detail.html", _case_context(request, case, **forms), status=400)
    if not is_partial(request):
        if ok:
            messages.success(request, ok)
        if error:
            messages.error(request, error)
        return redirect("renewals:detail", case_id=case_id)
    case = _case(request, case_id)
    notice = {"level": "danger" if error else "success", "text": error or ok} if (error or ok) else None
    return render(request, "renewals/_case.html", _case_context(request, case, notice=notice, **forms), status=status)


@login_required
@require_POST
def case_claim(request, case_id: int):
    """Hold the case (HTMX); a case another specialist took first answers with a clear message."""
    case = _case(request, case_id)
    try:
        work.renewal_case_claim(actor=request.user, case=case)
    except work.CaseAlreadyClaimed:
        return _answer(request, case_id, error=_("Another specialist claimed this case first. Pick the next one."))
    except ValidationError as exc:
        return _answer(request, case_id, error=" ".join(exc.messages))
    return _answer(request, case_id, ok=_("You hold this case now."))


@login_required
@require_POST
def case_release(request, case_id: int):
    """Give the case back to the pool (its holder, or a manager)."""
    case = _case(request, case_id)
    try:
        work.renewal_case_release(actor=request.user, case=case)
    except ValidationError as exc:
        return _answer(request, case_id, error=" ".join(exc.messages))
    return _answer(request, case_id, ok=_("Case released."))


@login_required
@require_POST
def case_assign(request, case_id: int):
    """A manager hands the case to a renewal worker of its store."""
    require_perm(request.user, Perm.RENEWAL_MANAGE)
    case = _case(request, case_id)
    workers = list(selectors.renewal_worker_list(user=request.user, store_ids=[case.store_id]))
    form = AssignForm(request.POST, workers=workers)
    if not form.is_valid():
        return _answer(request, case_id, error=_("Choose whom to assign the case to."))
    to_user = next(u for u in workers if u.pk == form.cleaned_data["to_user"])
    try:
        work.renewal_case_assign(actor=request.user, case=case, to_user=to_user)
    except ValidationError as exc:
        return _answer(request, case_id, error=" ".join(exc.messages))
    return _answer(request, case_id, ok=_("Case assigned to %(name)s.") % {"name": user_label(to_user)})


@login_required
@require_POST
def contact_record(request, case_id: int):
    """Record a contact on a case the user holds: the call goes to the call log, the quote and gift to the case."""
    case = _case(request, case_id)
    gifts = list(selectors.renewal_gift_list(user=request.user, store_ids=[case.store_id]).filter(is_active=True))
    form = ContactForm(
        request.POST, gifts=gifts, premiums=selectors.may_see_premiums(request.user), auto_id="contact_%s"
    )
    if form.is_valid():
        try:
            work.renewal_contact_record(actor=request.user, case=case, **form.service_kwargs())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _answer(request, case_id, ok=_("Contact recorded."))
    return _answer(request, case_id, contact_form=form)


@login_required
@require_POST
def outcome_record(request, case_id: int):
    """Record how the renewal ended (renewed here / elsewhere / not renewed); closes the case."""
    case = _case(request, case_id)
    form = OutcomeForm(request.POST, auto_id="outcome_%s")
    if form.is_valid():
        try:
            work.renewal_outcome_record(actor=request.user, case=case, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _answer(request, case_id, ok=_("Outcome recorded."))
    return _answer(request, case_id, outcome_form=form)


# ---- settings: the store's window, contacts and its gifts and offers -----------------------------------------------


def _settings_store(request) -> Store:
    require_perm(request.user, Perm.RENEWAL_MANAGE)
    return settings_store(request)


def _settings_initial(store) -> dict:
    row = selectors.renewal_settings_get(store_id=store.pk)
    return {
        "list_opens_days": row.list_opens_days,
        "contact_days": ", ".join(str(d) for d in row.contact_days),
        "lapse_chase_days": row.lapse_chase_days,
        "max_contacts": row.max_contacts,
    }


@login_required
def settings_page(request):
    """Per own store: when the list opens, the contact days, how long lapsed policies are chased, contacts per case;
    and the store's gifts and offers (add, change the cost, deactivate)."""
    store = _settings_store(request)
    section = request.POST.get("section", "") if request.method == "POST" else ""
    settings_form = SettingsForm(request.POST if section == "settings" else None, initial=_settings_initial(store),
                                 prefix="s")
    gift_form = GiftForm(request.POST if section == "gift" else None, prefix="g")
    if section in ("settings", "gift"):
        form = settings_form if section == "settings" else gift_form
        if form.is_valid():
            try:
                if section == "settings":
                    configuration.renewal_settings_update(actor=request.user, store=store, **form.cleaned_data)
                    done = _("Renewal settings of %(store)s saved.") % {"store": store.name}
                else:
                    gift = configuration.renewal_gift_create(actor=request.user, store=store, **form.cleaned_data)
                    done = _("“%(name)s” added.") % {"name": gift.name}
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, done)
                return redirect(f"{request.path}?store={store.pk}")
    gifts = selectors.renewal_gift_list(user=request.user, store_ids=[store.pk]).order_by("-is_active", "name")
    rows = [(g, GiftUpdateForm(initial={"cost": g.cost, "is_active": g.is_active}, prefix=f"gift{g.pk}"))
            for g in gifts]
    stores = settings_stores(request.user)
    context = {"store": store, "stores": stores, "settings_form": settings_form, "gift_form": gift_form, "gifts": rows}
    return render(request, "renewals/settings.html", context, status=400 if section and request.method == "POST"
                  else 200)


@login_required
@require_POST
def gift_update(request, gift_id: int):
    """Change a gift's cost or (de)activate it; another store's gift is a 404."""
    require_perm(request.user, Perm.RENEWAL_MANAGE)
    gift = selectors.renewal_gift_list(user=request.user, store_ids=own_store_ids(request.user)).filter(
        pk=gift_id
    ).first()
    if gift is None:
        raise Http404
    form = GiftUpdateForm(request.POST, prefix=f"gift{gift.pk}")
    if form.is_valid():
        try:
            configuration.renewal_gift_update(actor=request.user, gift=gift, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("“%(name)s” saved.") % {"name": gift.name})
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect(f"/renewals/settings/?store={gift.store_id}")

# ---- the follow-up sheet (sheets): export and import -----------------------------------------------------------


@login_required
def renewal_export(request):
    """The list as filtered on the list page (`month`, `segment`, `state`, `holder`, `store`) as the follow-up
    sheet (XLSX; scoped, audited). A malformed filter answers 400 naming it."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    try:
        cases = selectors.renewal_case_filter(
            user=request.user, params=request.GET, store_ids=current_store_ids(request.user, request)
        )
    except ValidationError as exc:
        message = "; ".join(f"{name}: {'; '.join(errors)}" for name, errors in exc.message_dict.items())
        return render(request, "errors/page.html",
                      {"status": 400, "title": _("Bad filter"), "message": message}, status=400)
    filters = {name: request.GET.get(name, "")[:40] for name in selectors.CASE_FILTERS}
    content = sheets.renewal_sheet_export_xlsx(actor=request.user, cases=cases, filters=filters)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(f"renewals-{business_date():%Y%m%d}.xlsx")
    return response


@login_required
def renewal_import(request):
    """Upload a store's current follow-up sheet; the result (rows imported, errors by row and column) below."""
    require_perm(request.user, Perm.RENEWAL_MANAGE)
    store_ids = own_store_ids(request.user)
    form = RenewalSheetImportForm(**bound_data(request), user_store_ids=store_ids)
    result = None
    if request.method == "POST" and form.is_valid():
        store = store_for_write(request.user, form.cleaned_data["store"].pk)
        upload = form.cleaned_data["file"]
        result = sheets.renewal_sheet_import(actor=request.user, store=store, file=upload, filename=upload.name)
        if result.file_error:
            form.add_error("file", result.file_error)
    status = 400 if request.method == "POST" and (form.errors or (result and result.file_error)) else 200
    return render(request, "renewals/sheet_import.html",
                  {"form": form, "result": result, "columns": sheets.import_columns_help()}, status=status)

# ---- measures page (renewals:measures, renewals:measures_export) -----------------------------------------------


def _measures(request) -> tuple[MeasuresFilterForm, dict, dict]:
    """The filter form, the page's figures (`kpis.renewal_measures_page`) and the stores shown {id: store}."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    form = MeasuresFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    today = business_date()
    year, month = form.period(today)
    store_ids = narrowed_store_ids(request.user, form.chosen_store(), request=request)
    stores = {s.pk: s for s in Store.objects.filter(pk__in=current_store_ids(request.user, request))}
    page = kpis.renewal_measures_page(user=request.user, store_ids=store_ids, year=year, month=month, today=today)
    return form, page, stores


def _chart(page: dict, stores: dict) -> tuple[dict, dict]:
    labels = [m.strftime("%Y-%m") for m in page["months"]]
    target = page["rate_target"].value if page["rate_target"] else None
    by_store = line_chart(
        _("Renewal rate per store"), labels,
        [Series(stores[s["store_id"]].name if s["store_id"] in stores else str(s["store_id"]),
                [c["rate"] for c in s["trend"]]) for s in page["store_trend"]],
        target=target,
    )
    by_segment = line_chart(
        _("Renewal rate per segment"), labels,
        [Series(str(s["label"]), [c["rate"] for c in s["trend"]]) for s in page["segments"]],
        target=target,
    )
    return by_store, by_segment


@login_required
@require_GET
def measures(request):
    """The monthly renewal table (policies sold, cases, rates) of a year beside its targets, the month's
    breakdowns, the reasons for loss and the rate trend per store and segment."""
    form, page, stores = _measures(request)
    by_store, by_segment = _chart(page, stores)
    today = business_date()
    single = stores.get(page["single_store"])
    context = {
        "form": form,
        "page": page,
        "period_heads": [
            {"kind": kind, "key": f"{start:%Y-%m}-{kind}", "label": _period_label(kind, start),
             "running_month": kind == "month" and start <= today < month_add(start, 1)}
            for kind, start in page["periods"]
        ],
        "stores": sorted(stores.values(), key=lambda s: s.code),
        "store_title": f"{single.code} {single.name}" if single else "",
        "store_trend": [(stores.get(s["store_id"]), s["trend"]) for s in page["store_trend"]],
        "chart_stores": by_store,
        "chart_segments": by_segment,
        "export_query": request.GET.urlencode(),
    }
    return render(request, "renewals/measures.html", context)


def _period_label(kind: str, start) -> str:
    if kind == "month":
        return start.strftime("%Y-%m")
    if kind == "quarter":
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return _("Year %(y)s") % {"y": start.year}


def measures_sheets(page: dict, stores: dict) -> list[tuple[str, list[list]]]:
    """Every table of the measures page as `(sheet title, rows)` (header first)."""
    head = [_("Measure")] + [_period_label(k, s) for k, s in page["periods"]]
    table = [head]
    for row in page["rows"]:
        table.append([str(row["label"])] + [c["value"] for c in row["cells"]])
        if row["measure"] is not None:
            table.append([_("%(m)s: target") % {"m": row["label"]}]
                         + [c["judge"].target.value if c["judge"] and c["judge"].target else None
                            for c in row["cells"]])
            table.append([_("%(m)s: gap") % {"m": row["label"]}]
                         + [c["judge"].gap if c["judge"] else None for c in row["cells"]])
    b = page["breakdowns"]
    segments = [[_("Segment"), _("Cases expiring"), _("Renewed here"), _("Renewed elsewhere"), _("Not renewed"),
                 _("Lapsed without an outcome"), _("Still open"), _("Renewal rate")]]
    segments += [[str(s["label"]), s["expiring"], s["renewed_here"], s["renewed_elsewhere"], s["not_renewed"],
                  s["lapsed"], s["open"], s["renewal_rate"]] for s in page["segments"]]
    specialists = [[_("Specialist"), _("Cases expiring"), _("With an effective contact"), _("Renewed here"),
                    _("Renewed elsewhere"), _("Not renewed"), _("Renewal rate")]
                   + ([_("Renewal premium recorded (¥)")] if page["premiums"] else [])]
    specialists += [[s["name"] or _("nobody"), s["expiring"], s["effective"], s["renewed_here"],
                     s["renewed_elsewhere"], s["not_renewed"], s["renewal_rate"]]
                    + ([s["premium"]] if page["premiums"] else []) for s in b["specialists"]]
    insurers = [[_("Insurer"), _("New-car policies"), _("Renewals sold")]
                + ([_("New-car premium (¥)"), _("Renewal premium (¥)")] if page["premiums"] else [])]
    insurers += [[i["insurer"], i["new_car_count"], i["renewal_count"]]
                 + ([i["new_car_premium"], i["renewal_premium"]] if page["premiums"] else []) for i in b["insurers"]]
    lost_to = [[_("Renewed elsewhere with"), _("Cases")]] + [[r["outcome_insurer"], r["count"]] for r in b["lost_to"]]
    reasons = [[_("Reason"), _("Renewed elsewhere"), _("Not renewed"), _("Cases"), _("Share (%)")]]
    reasons += [[r["label"], r["renewed_elsewhere"], r["not_renewed"], r["count"], r["share"]] for r in b["reasons"]]
    trend = [[_("Store / segment")] + [mo.strftime("%Y-%m") for mo in page["months"]]]
    trend += [[stores[s["store_id"]].code if s["store_id"] in stores else s["store_id"]]
              + [c["rate"] for c in s["trend"]] for s in page["store_trend"]]
    trend += [[str(s["label"])] + [c["rate"] for c in s["trend"]] for s in page["segments"]]
    month = page["month"].strftime("%Y-%m")
    return [
        (_("Monthly table %(y)s") % {"y": page["year"]}, table),
        (_("Segments %(m)s") % {"m": month}, segments),
        (_("Specialists %(m)s") % {"m": month}, specialists),
        (_("Insurers %(m)s") % {"m": month}, insurers),
        (_("Lost to %(m)s") % {"m": month}, lost_to),
        (_("Loss reasons %(m)s") % {"m": month}, reasons),
        (_("Rate trend %(y)s") % {"y": page["year"]}, trend),
    ]


@login_required
@require_GET
def measures_export(request):
    """Every table of the measures page as one XLSX workbook (a sheet each)."""
    form, page, stores = _measures(request)
    content, _rows = xlsx_workbook_bytes(measures_sheets(page, stores))
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    store = f"-{stores[page['single_store']].code}" if page["single_store"] in stores else ""
    response["Content-Disposition"] = attachment_header(f"renewal-measures-{page['year']}{store}.xlsx")
    return response


POLICY_PAGE_SIZE = 50


@login_required
@require_GET
def measures_policies(request):
    """The policies behind a figure of policies sold (new-car or renewal, a month, a store, an insurer)."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    form = PoliciesSoldFilterForm(request.GET)
    page = None
    valid = form.is_valid()
    store_ids = narrowed_store_ids(request.user, form.cleaned_data.get("store"), request=request)  # whatever else
    if valid:
        data = form.cleaned_data
        month = data["month"].replace(day=1)
        until = data["until"].replace(day=1) if data.get("until") else month_add(month, 1)
        qs = renewal_policy_sold_list(user=request.user, store_ids=store_ids, since=month, until=until,
                                      kind=data["kind"], insurer=data["insurer"])
        page = Paginator(qs, POLICY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "premiums": may_see_premiums(request.user)}
    return render(request, "renewals/measures_policies.html", context)
