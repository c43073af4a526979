"""Pages of the capacity settings, the advisor's day board (HTMX, refreshed every minute), the open-bookings import
and the roadside rescue log. Thin: parse, check the permission, call one selector or service, render."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercare.core.forms import apply_errors, bound_data
from aftercare.core.htmx import is_partial, render_partial_or_page
from aftercare.customers.models import Ownership
from aftercare.customers.validators import normalize_plate, normalize_vin
from aftercare.org.calendar import business_date
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids, settings_store, settings_stores, store_for_write

from .. import selectors
from ..forms import (
    WEEKDAYS,
    BayForm,
    BayUpdateForm,
    BoardFilterForm,
    CapacitySettingsForm,
    DayOverrideForm,
    HoursForm,
    KindCapForm,
    MatchForm,
    OpenBookingsImportForm,
    RescueForm,
    ServiceKindForm,
    ServiceKindUpdateForm,
    WalkInForm,
)
from ..models import ServiceKind
from ..services import board as board_services
from ..services import configuration, open_bookings, rescue
from ..services.day import booking_arrive

# ---- capacity settings (appointments:settings) ---------------------------------------------------------------------


def _settings_store(request) -> Store:
    require_perm(request.user, Perm.APPOINTMENT_SETTINGS)
    return settings_store(request)


def _settings_back(store) -> str:
    return f"{reverse('appointments:settings')}?store={store.pk}"


@login_required
def settings_page(request):
    """Per own store: slot length, walk-in share, no-show grace, horizon; bays; service kinds; opening hours and
    daily caps per weekday; caps per service kind and weekday; day overrides. Each section posts on its own."""
    store = _settings_store(request)
    capacity = selectors.appointment_capacity_get(user=request.user, store_id=store.pk)
    section = request.POST.get("section", "") if request.method == "POST" else ""
    row = capacity["settings"]
    settings_form = CapacitySettingsForm(request.POST if section == "settings" else None, prefix="s", initial={
        "slot_minutes": row.slot_minutes, "walk_in_share": row.walk_in_share,
        "no_show_grace_minutes": row.no_show_grace_minutes, "booking_horizon_days": row.booking_horizon_days})
    bay_form = BayForm(request.POST if section == "bay" else None, prefix="b")
    kind_form = ServiceKindForm(request.POST if section == "kind" else None, prefix="k")
    hours_forms = []
    for weekday, label in WEEKDAYS:
        hours = capacity["hours"].get(weekday)
        initial = {"opens_at": hours.opens_at, "closes_at": hours.closes_at, "daily_cap": hours.daily_cap} if hours \
            else {}
        hours_forms.append((label, weekday, HoursForm(request.POST if section == "hours" else None,
                                                      prefix=f"h{weekday}", initial=initial)))
    cap_form = KindCapForm(request.POST if section == "cap" else None, prefix="c", kinds=capacity["kinds"])
    override_form = DayOverrideForm(request.POST if section == "override" else None, prefix="o")
    forms_by_section = {"settings": settings_form, "bay": bay_form, "kind": kind_form, "cap": cap_form,
                        "override": override_form}
    if section in forms_by_section:
        form = forms_by_section[section]
        if form.is_valid():
            data = form.cleaned_data
            try:
                if section == "settings":
                    configuration.appointment_settings_update(actor=request.user, store=store, **data)
                elif section == "bay":
                    configuration.bay_create(actor=request.user, store=store, **data)
                elif section == "kind":
                    configuration.service_kind_create(actor=request.user, store=store, **data)
                elif section == "cap":
                    kind = form.kinds.get(data["service_kind"])
                    if kind is None:
                        raise ValidationError({"service_kind": _("Choose one of the store's service kinds.")})
                    configuration.kind_cap_set(actor=request.user, store=store, weekday=data["weekday"],
                                               service_kind=kind, cap=data["cap"])
                else:
                    configuration.day_override_set(actor=request.user, store=store, **data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect(_settings_back(store))
    elif section == "hours":
        if all(f.is_valid() for _label, _w, f in hours_forms):
            current = hours_forms[0][2]
            try:
                with transaction.atomic():  # the week as a whole, or nothing
                    for _label, weekday, current in hours_forms:  # noqa: B007 (the failing weekday's form below)
                        configuration.opening_hours_set(actor=request.user, store=store, weekday=weekday,
                                                        **current.cleaned_data)
            except ValidationError as exc:
                apply_errors(current, exc)
            else:
                messages.success(request, _("Opening hours saved."))
                return redirect(_settings_back(store))
    bays = [(b, BayUpdateForm(initial={"name": b.name, "kind": b.kind, "is_active": b.is_active}, prefix=f"bay{b.pk}"))
            for b in capacity["bays"]]
    kinds = [(k, ServiceKindUpdateForm(initial={"name": k.name, "duration_minutes": k.duration_minutes,
                                                "bay_kinds": k.bay_kinds, "is_active": k.is_active},
                                       prefix=f"kind{k.pk}"))
             for k in capacity["kinds"]]
    for cap in capacity["caps"]:
        cap.weekday_label = dict(WEEKDAYS).get(cap.weekday, cap.weekday)
    context = {
        "store": store,
        "stores": settings_stores(request.user),
        "settings_form": settings_form, "bay_form": bay_form, "kind_form": kind_form, "hours_forms": hours_forms,
        "cap_form": cap_form, "override_form": override_form, "bays": bays, "kinds": kinds,
        "caps": capacity["caps"], "overrides": capacity["overrides"]
    }
    return render(request, "appointments/settings.html", context,
                  status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def settings_bay(request, bay_id: int):
    """Rename a bay, change its kind, (de)activate it; another store's bay is a 404."""
    require_perm(request.user, Perm.APPOINTMENT_SETTINGS)
    bay = selectors.appointment_bay_get(user=request.user, pk=bay_id)
    store = store_for_write(request.user, bay.store_id)
    form = BayUpdateForm(request.POST, prefix=f"bay{bay.pk}")
    if form.is_valid():
        try:
            configuration.bay_update(actor=request.user, bay=bay, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("“%(name)s” saved.") % {"name": bay.name})
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect(_settings_back(store))


@login_required
@require_POST
def settings_kind(request, kind_id: int):
    """Change a service kind's name, duration, bays, or (de)activate it; another store's kind is a 404."""
    require_perm(request.user, Perm.APPOINTMENT_SETTINGS)
    kind = selectors.appointment_kind_get(user=request.user, pk=kind_id)
    store = store_for_write(request.user, kind.store_id)
    form = ServiceKindUpdateForm(request.POST, prefix=f"kind{kind.pk}")
    if form.is_valid():
        try:
            configuration.service_kind_update(actor=request.user, kind=kind, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("“%(name)s” saved.") % {"name": kind.name})
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect(_settings_back(store))


@login_required
@require_POST
def settings_override_delete(request, override_id: int):
    require_perm(request.user, Perm.APPOINTMENT_SETTINGS)
    override = selectors.appointment_override_get(user=request.user, pk=override_id)
    store = store_for_write(request.user, override.store_id)
    configuration.day_override_delete(actor=request.user, override=override)
    messages.success(request, _("Day override removed."))
    return redirect(_settings_back(store))


# ---- the advisor's day board (appointments:board) ------------------------------------------------------------------


def _board_store(request, raw: str) -> tuple[Store, list[Store]]:
    require_perm(request.user, Perm.APPOINTMENT_BOARD)
    ids = current_store_ids(request.user, request)
    stores = list(Store.objects.filter(pk__in=ids).order_by("code"))
    if raw.isdigit():
        store = next((s for s in stores if s.pk == int(raw)), None)
        if store is None:
            raise Http404
        return store, stores
    own = [s for s in stores if s.pk in own_store_ids(request.user)]
    if not (own or stores):
        raise Http404
    return (own or stores)[0], stores


def _board_context(request, *, walk_in_form=None, notice=None) -> dict:
    data = request.GET.copy() if request.method == "GET" else request.POST.copy()
    store, stores = _board_store(request, (data.get("store") or "").strip())
    advisors = selectors.board_advisor_list(user=request.user, store_id=store.pk)
    form = BoardFilterForm(data, advisors=advisors, stores=stores)
    form.is_valid()
    day = form.cleaned_data.get("date") or business_date()
    advisor = form.cleaned_data.get("advisor")
    board = selectors.day_board(user=request.user, store_id=store.pk, day=day, advisor_id=advisor)
    writable = store.pk in own_store_ids(request.user)
    kinds = list(ServiceKind.objects.filter(store=store, is_active=True).order_by("code")) if writable else []
    for b in board.unmatched:
        b.match_form = MatchForm(auto_id=f"match{b.pk}_%s")
    query = {"store": store.pk, "date": day.isoformat()}
    if advisor:
        query["advisor"] = advisor
    return {
        "store": store, "stores": stores, "form": form, "board": board, "day": day, "writable": writable,
        "today": business_date(), "query": query,
        "walk_in_form": walk_in_form or (WalkInForm(kinds=kinds, advisors=advisors, auto_id="walkin_%s")
                                         if writable and kinds else None),
        "notice": notice,
    }


@login_required
def board_page(request):
    """The day's bookings by time with their state (expected, late, shown, no-show, walk-in, cancelled), the quick
    walk-in form, and the unmatched appointments of past days. An HTMX request (the minute's refresh, an action)
    gets the board only."""
    return render_partial_or_page(request, "appointments/board.html", "appointments/_board.html",
                                  _board_context(request))


def _board_answer(request, store_id: int, *, ok: str = "", error: str = "", status: int = 200, **kwargs):
    if not is_partial(request):
        if ok:
            messages.success(request, ok)
        if error:
            messages.error(request, error)
        query = {k: request.POST.get(k) for k in ("date", "advisor") if request.POST.get(k)}
        query["store"] = store_id
        return redirect(f"{reverse('appointments:board')}?{urlencode(query)}")
    notice = {"level": "danger" if error else "success", "text": error or ok} if (error or ok) else None
    return render(request, "appointments/_board.html", _board_context(request, notice=notice, **kwargs),
                  status=status)


def _booking_for_action(request, booking_id: int):
    require_perm(request.user, Perm.APPOINTMENT_BOARD)
    booking = selectors.booking_get(user=request.user, booking_id=booking_id)
    if booking.store_id not in own_store_ids(request.user):
        raise Http404
    return booking


@login_required
@require_POST
def board_arrive(request, booking_id: int):
    """Check the customer in (show)."""
    booking = _booking_for_action(request, booking_id)
    try:
        booking_arrive(actor=request.user, booking=booking)
    except ValidationError as exc:
        return _board_answer(request, booking.store_id, error=" ".join(exc.messages))
    return _board_answer(request, booking.store_id, ok=_("%(vehicle)s checked in.") % {"vehicle": booking.vehicle})


@login_required
@require_POST
def board_no_show(request, booking_id: int):
    """Mark a booking whose start has passed a no-show by hand."""
    booking = _booking_for_action(request, booking_id)
    try:
        board_services.booking_no_show(actor=request.user, booking=booking)
    except ValidationError as exc:
        return _board_answer(request, booking.store_id, error=" ".join(exc.messages))
    return _board_answer(request, booking.store_id, ok=_("%(vehicle)s marked a no-show.") % {
        "vehicle": booking.vehicle})


@login_required
@require_POST
def board_match(request, booking_id: int):
    """Match an appointment of a past day to the repair order it became (the vehicle's, that day ± 7)."""
    booking = _booking_for_action(request, booking_id)
    form = MatchForm(request.POST)
    if not form.is_valid():
        return _board_answer(request, booking.store_id, error=_("Choose a repair order."), status=400)
    order = selectors.repair_order_board_get(user=request.user, pk=form.cleaned_data["repair_order"])
    try:
        board_services.booking_match_repair_order(actor=request.user, booking=booking, repair_order=order)
    except ValidationError as exc:
        return _board_answer(request, booking.store_id, error=" ".join(exc.messages), status=400)
    return _board_answer(request, booking.store_id, ok=_("Matched to repair order %(number)s.") % {
        "number": order.ro_number})


def _vehicle_of(store, text: str):
    """The store's vehicle (with its current owner) by VIN, else plate; a ValidationError names the field."""
    owned = Ownership.objects.filter(store=store, valid_to__isnull=True).select_related("vehicle", "customer")
    text = (text or "").strip()
    try:
        if len(text) == 17:
            found = list(owned.filter(vehicle__vin=normalize_vin(text))[:2])
        else:
            found = list(owned.filter(vehicle__plate=normalize_plate(text))[:2])
    except ValidationError as exc:
        raise ValidationError({"vehicle": exc.messages}) from None
    if len(found) != 1:
        raise ValidationError({"vehicle": _("No single vehicle of this store has this plate or VIN.")})
    return found[0]


@login_required
@require_POST
def board_walk_in(request):
    """The quick walk-in form: the vehicle (plate or VIN), the service, the advisor; checked in at once."""
    require_perm(request.user, Perm.APPOINTMENT_BOARD)
    store = store_for_write(request.user, int(request.POST["store"])) if request.POST.get("store", "").isdigit() \
        else _board_store(request, "")[0]
    if store.pk not in own_store_ids(request.user):
        raise Http404
    advisors = selectors.board_advisor_list(user=request.user, store_id=store.pk)
    kinds = list(ServiceKind.objects.filter(store=store, is_active=True).order_by("code"))
    form = WalkInForm(request.POST, kinds=kinds, advisors=advisors, auto_id="walkin_%s")
    if form.is_valid():
        try:
            owner = _vehicle_of(store, form.cleaned_data["vehicle"])
            booking = board_services.booking_walk_in(
                actor=request.user, store=store, customer=owner.customer, vehicle=owner.vehicle,
                kinds=form.cleaned_data["kinds"], advisor=form.advisors.get(form.cleaned_data["advisor"]),
                notes=form.cleaned_data["notes"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            text = _("Walk-in %(vehicle)s checked in on %(bay)s.") if booking.holds_slot else _(
                "Walk-in %(vehicle)s checked in; no bay is free now: it waits for one.")
            return _board_answer(request, store.pk, ok=text % {"vehicle": booking.vehicle, "bay": booking.bay})
    if not is_partial(request):
        return render(request, "appointments/board.html", _board_context(request, walk_in_form=form), status=400)
    return render(request, "appointments/_board.html", _board_context(request, walk_in_form=form), status=400)


# ---- the open-bookings import (appointments:import) --------------------------------------------------------------


IMPORT_COLUMNS = [("date", gettext_lazy("Date")), ("time", gettext_lazy("Time")),
                  ("customer", gettext_lazy("Customer")), ("phone", gettext_lazy("Phone")),
                  ("plate", gettext_lazy("Plate")), ("vin", gettext_lazy("VIN")), ("service", gettext_lazy("Service")),
                  ("advisor", gettext_lazy("Advisor")), ("notes", gettext_lazy("Notes"))]


@login_required
def import_page(request):
    """Upload a store's current list of open bookings; the result (booked, skipped, errors by row and column)."""
    require_perm(request.user, Perm.APPOINTMENT_SETTINGS)
    store_ids = own_store_ids(request.user)
    form = OpenBookingsImportForm(**bound_data(request), user_store_ids=store_ids)
    result = None
    if request.method == "POST" and form.is_valid():
        store = store_for_write(request.user, form.cleaned_data["store"].pk)
        upload = form.cleaned_data["file"]
        result = open_bookings.appointment_bookings_import(actor=request.user, store=store, file=upload,
                                                           filename=upload.name)
        if result.file_error:
            form.add_error("file", result.file_error)
    status = 400 if request.method == "POST" and (form.errors or (result and result.file_error)) else 200
    chinese = (get_language() or "").startswith("zh")  # a Chinese page lists the Chinese names only
    columns = [(label, ", ".join(a for a in open_bookings.ALIASES[name] if not (chinese and a.isascii())))
               for name, label in IMPORT_COLUMNS]
    tables = [(_("Rejected rows (fix them in the list and import it again)"), result.errors, "bookings-import-errors"),
              (_("Booked, with a remark"), result.notes, "bookings-import-notes")] if result else []
    return render(request, "appointments/import.html",
                  {"form": form, "result": result, "columns": columns, "result_tables": tables}, status=status)


# ---- roadside rescue (appointments:rescue) -----------------------------------------------------------------------

RESCUE_ROWS = 50


def _rescue_staff(store_ids) -> list:
    return list(get_user_model().objects.filter(staff__stores__in=store_ids, is_active=True)
                .select_related("staff").order_by("staff__display_name", "pk").distinct())


def _rescue_kwargs(store, form) -> dict:
    data = dict(form.cleaned_data)
    plate = data.pop("vehicle", "")
    data["dispatched_user"] = form.staff.get(data.pop("dispatched_user", None))
    data["vehicle"] = data["customer"] = None
    if plate:
        owner = _vehicle_of(store, plate)
        data["vehicle"], data["customer"] = owner.vehicle, owner.customer
    return data


@login_required
def rescue_page(request):
    """The rescue log of the user's stores (latest first) and the form to log a call; this month's arrival time
    (median, 90th percentile)."""
    require_perm(request.user, Perm.APPOINTMENT_BOARD)
    store_ids = current_store_ids(request.user, request)
    own = sorted(own_store_ids(request.user) & store_ids) or sorted(own_store_ids(request.user))
    store = Store.objects.filter(pk__in=own[:1]).first()
    form = RescueForm(**bound_data(request), staff=_rescue_staff(own[:1]), auto_id="rescue_%s")
    if request.method == "POST":
        if store is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                rescue.rescue_call_create(actor=request.user, store=store, **_rescue_kwargs(store, form))
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Rescue call logged."))
                return redirect("appointments:rescue")
    elif not form.is_bound:
        form.initial["reported_at"] = timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M")
    calls = list(selectors.rescue_call_list(user=request.user, store_ids=store_ids)[:RESCUE_ROWS])
    month = business_date().replace(day=1)
    measure = selectors.rescue_arrival_minutes(user=request.user, store_ids=store_ids, month=month)
    context = {"form": form, "calls": calls, "store": store, "measure": measure, "month": month,
               "multi_store": len(store_ids) > 1, "can_log": store is not None}
    return render(request, "appointments/rescue.html", context, status=400 if request.method == "POST" else 200)


@login_required
def rescue_detail(request, rescue_id: int):
    """One rescue call: record the dispatch, the arrival and the outcome (own stores); another store's is a 404."""
    require_perm(request.user, Perm.APPOINTMENT_BOARD)
    call = selectors.rescue_call_get(user=request.user, pk=rescue_id)
    writable = call.store_id in own_store_ids(request.user)
    initial = {name: getattr(call, name) for name in ("place", "what_happened", "dispatched_to", "outcome",
                                                       "outcome_note")}
    for name in ("reported_at", "dispatched_at", "arrived_at"):
        value = getattr(call, name)
        initial[name] = timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else None
    initial["vehicle"] = call.vehicle.vin if call.vehicle_id else ""
    initial["dispatched_user"] = call.dispatched_user_id
    form = RescueForm(**bound_data(request), initial=initial,
                      staff=_rescue_staff([call.store_id]), auto_id="rescue_%s")
    if request.method == "POST":
        if not writable or not has_perm(request.user, Perm.APPOINTMENT_BOARD):
            raise Http404
        if form.is_valid():
            try:
                store = store_for_write(request.user, call.store_id)
                rescue.rescue_call_update(actor=request.user, call=call, **_rescue_kwargs(store, form))
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Rescue call saved."))
                return redirect("appointments:rescue")
    return render(request, "appointments/rescue_detail.html", {"form": form, "call": call, "writable": writable},
                  status=400 if request.method == "POST" else 200)
