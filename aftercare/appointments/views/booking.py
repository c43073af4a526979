"""Appointment pages (server-rendered, HTMX partials). Thin: parse, check the permission, call one selector or
service, render. Service errors show next to the field; a start taken meanwhile (`SlotTaken`) shows the next
free starts, never an error page."""

import calendar
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aftercare.core.exports import staff_name
from aftercare.core.forms import apply_errors
from aftercare.customers import selectors as customer_selectors
from aftercare.followups.models import FollowupTask
from aftercare.org.calendar import business_date
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids, settings_store

from .. import selectors
from ..availability import availability
from ..choices import BookingSource, BookingState
from ..forms import BookingForm, CancelForm, DayFilterForm, MoveForm
from ..links import booking_url
from ..models import ServiceKind, WaitlistState
from ..services.booking import SlotTaken, booking_cancel, booking_create, booking_move
from ..services.waitlist import waitlist_entry_cancel, waitlist_entry_create

# ---- booking in the UI: calendar, free starts, booking form, booking page, list, waitlist, parts (abook) -------------

NEXT_FREE = 6  # free starts shown after a start was taken meanwhile


def _why_closed(code: str) -> str:
    return {"holiday": _("Statutory holiday"), "closed": _("Closed that weekday"),
            "override": _("Closed that day")}.get(code, "")


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value, default: dt.date | None = None) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat((value or "").strip())
    except (TypeError, ValueError):
        return default


def _kinds(store_id: int, ids) -> list[ServiceKind]:
    ids = {i for i in (_int(x) for x in ids) if i is not None}
    return list(ServiceKind.objects.filter(store_id=store_id, is_active=True, pk__in=ids)) if ids else []


def _free_context(store_id: int, day: dt.date | None, kinds, *, exclude: int | None = None) -> dict:
    """The free starts of `day` for `kinds` (partial `_free_starts.html`)."""
    if day is None:
        return {"day": None}
    plan = availability(store_id=store_id, start=day, end=day, kinds=kinds, exclude_booking_id=exclude)[0]
    return {"day": plan, "free": [at for at, _bay in plan.free], "why_closed": _why_closed(plan.why_closed),
            "kinds_chosen": bool(kinds)}


def _next_free(store_id: int, after: dt.date, kinds) -> list[dt.datetime]:
    days = availability(store_id=store_id, start=after, end=after + dt.timedelta(days=13), kinds=kinds)
    return [at for d in days for at, _bay in d.free][:NEXT_FREE]


@login_required
@require_GET
def calendar_page(request):
    """A store's month: free starts per day for the kinds chosen, closed days and why, full days; a day's free
    starts open below (HTMX, `appointments:slots`)."""
    user = request.user
    require_perm(user, Perm.APPOINTMENT_BOOK)
    store = settings_store(request)
    today = business_date()
    month = _date((request.GET.get("month") or "") + "-01", today.replace(day=1)).replace(day=1)
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    all_kinds = list(ServiceKind.objects.filter(store=store, is_active=True))
    kinds = _kinds(store.pk, request.GET.getlist("kinds"))
    days = availability(store_id=store.pk, start=month, end=last, kinds=kinds)
    for d in days:
        d.why = _why_closed(d.why_closed)
        d.free_count = len(d.free)
        d.past = d.date < today
    weeks, week = [], [None] * month.weekday()
    for d in days:
        week.append(d)
        if len(week) == 7:
            weeks.append(week)
            week = []
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    stores = list(Store.objects.filter(pk__in=own_store_ids(user)).order_by("code"))
    context = {
        "store": store, "stores": stores if len(stores) > 1 else [], "month": month, "weeks": weeks,
        "prev": (month - dt.timedelta(days=1)).strftime("%Y-%m"),
        "next": (last + dt.timedelta(days=1)).strftime("%Y-%m"),
        "all_kinds": all_kinds, "kind_ids": {k.pk for k in kinds}, "today": today,
        "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
    }
    chosen = _date(request.GET.get("date"))
    if chosen is not None:
        context.update(_free_context(store.pk, chosen, kinds))
    return render(request, "appointments/calendar.html", context)


@login_required
@require_GET
def slots(request):
    """The free starts of one day for the kinds chosen (an HTMX partial of the calendar and the booking form)."""
    user = request.user
    require_perm(user, Perm.APPOINTMENT_BOOK)
    store = settings_store(request)
    day = _date(request.GET.get("date"))
    kinds = _kinds(store.pk, request.GET.getlist("kinds"))
    context = {"store": store, "pick": request.GET.get("pick") == "1", **_free_context(store.pk, day, kinds)}
    return render(request, "appointments/_free_starts.html", context)


def _book_context(request, customer, *, form, vehicles, kinds, task, entry, next_free=None) -> dict:
    day = form.cleaned_data.get("date") if form.is_bound and hasattr(form, "cleaned_data") else None
    day = day or _date(form["date"].value())
    chosen = [k for k in kinds if str(k.pk) in {str(v) for v in (form["kinds"].value() or [])}]
    free = _free_context(customer.store_id, day, chosen)
    return {"customer": customer, "form": form, "task": task, "entry": entry, "pick": True,
            "store": customer.store, "next_free": next_free or [], "chosen_start": form["start_at"].value() or "",
            **free}


def _book_customer(request, user):
    customer = customer_selectors.customer_get(user=user, pk=_int(request.GET.get("customer")
                                                                  or request.POST.get("customer")) or 0)
    if customer.store_id not in own_store_ids(user):
        raise Http404
    return customer


@login_required
def book(request):
    """The booking form for a customer (`?customer=`, from the customer page or the call screen with `&task=`;
    `&waitlist=` books a waitlist entry's offer). Without a customer: find the vehicle by plate or VIN."""
    user = request.user
    require_perm(user, Perm.APPOINTMENT_BOOK)
    if not (request.GET.get("customer") or request.POST.get("customer")):
        q = request.GET.get("q", "")[:50]
        found = customer_selectors.vehicle_list(user=user, store_ids=own_store_ids(user), q=q)
        vehicles = list(found[:20]) if q else []
        return render(request, "appointments/book_find.html", {"q": q, "vehicles": vehicles})
    customer = _book_customer(request, user)
    vehicles = list(customer_selectors.customer_vehicles(user=user, customer=customer))
    kinds = list(ServiceKind.objects.filter(store_id=customer.store_id, is_active=True))
    advisors = list(selectors.service_advisor_list(store_id=customer.store_id))
    params = request.POST if request.method == "POST" else request.GET
    task_id = _int(params.get("task"))
    task = FollowupTask.objects.filter(pk=task_id, store_id=customer.store_id, customer=customer).first() \
        if task_id else None
    entry_id = _int(params.get("waitlist"))
    entry = selectors.waitlist_list(user=user, store_ids=[customer.store_id]).filter(
        pk=entry_id, customer=customer).first() if entry_id else None
    status = 200
    next_free = []
    if request.method == "POST":
        form = BookingForm(request.POST, vehicles=vehicles, kinds=kinds, advisors=advisors)
        if form.is_valid():
            d = form.cleaned_data
            vehicle = next(v for v in vehicles if v.pk == d["vehicle"])
            advisor = next((s.user for s in advisors if s.user_id == d["advisor"]), None)
            source = BookingSource.WAITLIST if entry else BookingSource.CALL if task else BookingSource.CUSTOMER_PAGE
            try:
                booking = booking_create(
                    actor=user, store=customer.store, customer=customer, vehicle=vehicle, kinds=d["kinds"],
                    start_at=d["start_at"], advisor=advisor, notes=d["notes"],
                    parts_to_prepare=d["parts_to_prepare"], source=source, followup_task=task,
                )
            except SlotTaken:
                form.add_error("start_at", _("This start was taken meanwhile, or the day's cap is reached. "
                                             "Choose another free start."))
                chosen = [k for k in kinds if k.pk in d["kinds"]]
                next_free = _next_free(customer.store_id, d["date"], chosen)
                status = 409
            except ValidationError as exc:
                apply_errors(form, exc)
                status = 400
            else:
                messages.success(request, _("Appointment booked."))
                return redirect(booking_url(booking.pk))
        else:
            status = 400
    else:
        initial = {"date": _date(params.get("date"), business_date() + dt.timedelta(days=1)),
                   "kinds": [int(k) for k in params.getlist("kinds") if k.isdigit()]}
        vehicle_id = _int(params.get("vehicle"))
        if vehicle_id in {v.pk for v in vehicles}:
            initial["vehicle"] = vehicle_id
        if entry is not None:
            initial.update(vehicle=entry.vehicle_id, date=entry.date, kinds=[k.pk for k in entry.kinds.all()])
        form = BookingForm(initial=initial, vehicles=vehicles, kinds=kinds, advisors=advisors)
    context = _book_context(request, customer, form=form, vehicles=vehicles, kinds=kinds, task=task, entry=entry,
                            next_free=next_free)
    if entry is not None and entry.offered_start_at and not context["chosen_start"]:
        context["chosen_start"] = entry.offered_start_at.isoformat()
    return render(request, "appointments/book.html", context, status=status)


@login_required
@require_POST
def waitlist_add(request):
    """Put the booking form's customer and vehicle on the waitlist of its (full) day."""
    user = request.user
    require_perm(user, Perm.APPOINTMENT_BOOK)
    customer = _book_customer(request, user)
    vehicles = list(customer_selectors.customer_vehicles(user=user, customer=customer))
    kinds = list(ServiceKind.objects.filter(store_id=customer.store_id, is_active=True))
    data = request.POST.copy()
    data["to_waitlist"] = "1"
    form = BookingForm(data, vehicles=vehicles, kinds=kinds,
                       advisors=selectors.service_advisor_list(store_id=customer.store_id))
    if form.is_valid():
        d = form.cleaned_data
        try:
            entry = waitlist_entry_create(actor=user, store=customer.store, customer=customer,
                                          vehicle=next(v for v in vehicles if v.pk == d["vehicle"]), date=d["date"],
                                          kinds=d["kinds"], notes=d["notes"][:200])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Added to the waitlist of %(day)s.") % {"day": entry.date.isoformat()})
            return redirect(f"{_url('appointments:waitlist')}?date={entry.date.isoformat()}")
    context = _book_context(request, customer, form=form, vehicles=vehicles, kinds=kinds, task=None, entry=None)
    return render(request, "appointments/book.html", context, status=400)


def _url(name: str, *args) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


def _detail_context(request, booking, *, move_form=None, cancel_form=None) -> dict:
    user = request.user
    open_ = booking.state in (BookingState.BOOKED, BookingState.CONFIRMED)
    events = list(selectors.booking_events(booking))
    for event in events:
        event.who = staff_name(event.actor)
    context = {
        "booking": booking, "events": events, "advisor_name": staff_name(booking.advisor),
        "sms": list(booking.messages.select_related("letter").order_by("pk")),
        "may_book": has_perm(user, Perm.APPOINTMENT_BOOK), "open": open_,
        "move_form": move_form or MoveForm(), "cancel_form": cancel_form or CancelForm(),
        "no_sms": not (booking.customer.consent_service_calls and booking.customer.mobile),
    }
    if open_ and context["may_book"]:
        day = _date(request.GET.get("date"), business_date(booking.start_at))
        context["move_day"] = day
        context.update({f"move_{k}": v for k, v in _free_context(
            booking.store_id, day, list(booking.kinds.all()), exclude=booking.pk).items()})
    return context


@login_required
@require_GET
def booking_detail(request, booking_id: int):
    """A booking: what, when, who; its SMS; its history; move to another free start (`?date=` picks the day)
    and cancel with a reason."""
    user = request.user
    if not (has_perm(user, Perm.APPOINTMENT_BOOK) or has_perm(user, Perm.APPOINTMENT_BOARD)):
        raise PermissionDenied
    booking = selectors.booking_get(user=user, booking_id=booking_id)
    return render(request, "appointments/booking_detail.html", _detail_context(request, booking))


@login_required
@require_POST
def booking_move_view(request, booking_id: int):
    user = request.user
    require_perm(user, Perm.APPOINTMENT_BOOK)
    booking = selectors.booking_get(user=user, booking_id=booking_id)
    form = MoveForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            booking_move(actor=user, booking=booking, start_at=form.cleaned_data["start_at"])
        except SlotTaken:
            form.add_error("start_at", _("This start was taken meanwhile. Choose another free start."))
            status = 409
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Appointment moved."))
            return redirect(booking_url(booking.pk))
    booking = selectors.booking_get(user=user, booking_id=booking_id)
    return render(request, "appointments/booking_detail.html", _detail_context(request, booking, move_form=form),
                  status=status)


@login_required
@require_POST
def booking_cancel_view(request, booking_id: int):
    user = request.user
    require_perm(user, Perm.APPOINTMENT_BOOK)
    booking = selectors.booking_get(user=user, booking_id=booking_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            booking_cancel(actor=user, booking=booking, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Appointment cancelled."))
            return redirect(booking_url(booking.pk))
    return render(request, "appointments/booking_detail.html",
                  _detail_context(request, booking, cancel_form=form), status=400)


@login_required
@require_GET
def booking_list_page(request):
    """The bookings of a day (`?date=`, default today) and state (`open`, or one state) of the stores in scope:
    the start-page card's numbers link here."""
    user = request.user
    if not (has_perm(user, Perm.APPOINTMENT_BOOK) or has_perm(user, Perm.APPOINTMENT_BOARD)):
        raise PermissionDenied
    states = [("active", _("Not cancelled")), ("open", _("Open (booked or confirmed)")), *BookingState.choices]
    form = DayFilterForm(request.GET, states=states)
    form.is_valid()
    day = form.cleaned_data.get("date") or business_date()
    state = form.cleaned_data.get("state") or ""
    bookings = selectors.booking_narrow(
        selectors.booking_list(user=user, store_ids=current_store_ids(user, request)), day=day, state=state)
    rows = list(selectors.booking_rows(bookings))
    return render(request, "appointments/booking_list.html",
                  {"form": form, "rows": rows, "day": day, "multi_store": len(own_store_ids(user)) > 1})


@login_required
@require_GET
def waitlist_page(request):
    """The waitlist per day (`?date=`; without it every open entry from today on), by state (`offered`: offers
    pending, not yet expired)."""
    user = request.user
    require_perm(user, Perm.APPOINTMENT_BOOK)
    states = [("open", _("Waiting or offered")), *WaitlistState.choices]
    form = DayFilterForm(request.GET, states=states)
    form.is_valid()
    day = form.cleaned_data.get("date")
    state = form.cleaned_data.get("state") or ("" if day else "open")
    entries = selectors.waitlist_narrow(
        selectors.waitlist_list(user=user, store_ids=current_store_ids(user, request)), day=day, state=state,
        now=timezone.now())
    if day is None:
        entries = entries.filter(date__gte=business_date())
    rows = list(selectors.waitlist_rows(entries))
    return render(request, "appointments/waitlist.html", {"form": form, "rows": rows, "now": timezone.now()})


@login_required
@require_POST
def waitlist_cancel(request, entry_id: int):
    user = request.user
    require_perm(user, Perm.APPOINTMENT_BOOK)
    entry = selectors.waitlist_list(user=user).filter(pk=entry_id).first()
    if entry is None:
        raise Http404
    try:
        waitlist_entry_cancel(actor=user, entry=entry)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Removed from the waitlist."))
    return redirect(f"{_url('appointments:waitlist')}?date={entry.date.isoformat()}")


@login_required
@require_GET
def parts_page(request):
    """预约备件: the day's bookings with parts to prepare (`?date=`, default today), for those who book and the
    parts department's designee."""
    user = request.user
    store_ids = current_store_ids(user, request)
    if not (has_perm(user, Perm.APPOINTMENT_BOOK) or selectors.parts_store_ids(user=user, store_ids=store_ids)):
        raise PermissionDenied
    form = DayFilterForm(request.GET)
    form.is_valid()
    day = form.cleaned_data.get("date") or business_date()
    bookings = selectors.booking_narrow(selectors.parts_booking_list(user=user, store_ids=store_ids), day=day,
                                        parts=True)
    rows = list(selectors.booking_rows(bookings))
    return render(request, "appointments/parts.html", {"form": form, "rows": rows, "day": day})
