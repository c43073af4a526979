"""The customer's self-booking page, `/b/<token>/` (mounted in `aftercare/urls.py` outside `/appointments/` so the
SMS link is short). Public: these views carry no `login_required` (the project enforces log-in per view, with
`login_required`, not in a middleware), and read nothing but the one booking the signed token names
(`appointments/links.py`). Every use is audited; refused tokens get a page with the store's phone when the
store is known, 404 for a tampered or unknown token, 410 for an expired, cancelled or finished booking, 429 over
the rate limits."""

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from aftercare.org.calendar import business_date, business_tz

from ..availability import availability
from ..links import Resolved, plate_tail, self_booking_admit, self_booking_resolve, surname
from ..services.booking import SlotTaken
from ..services.selfbooking import (
    MOVE_DAYS,
    self_booking_cancel,
    self_booking_confirm,
    self_booking_move,
    self_booking_use_record,
)

REFUSED_STATUS = {"bad": 404, "expired": 410, "cancelled": 410, "closed": 410}
DONE = {"confirmed", "moved"}


def _phone(store) -> str:
    try:
        return store.appointment_settings.service_phone
    except ObjectDoesNotExist:
        return ""


def _when(at: dt.datetime) -> dict:
    local = at.astimezone(business_tz())
    return {"day": date_format(local, "MONTH_DAY_FORMAT"), "weekday": date_format(local, "l"),
            "time": local.strftime("%H:%M"), "iso": local.isoformat()}


def _greeting(customer) -> str:
    name = surname(customer.name)
    return _("%(surname)s (Mr/Ms)") % {"surname": name} if name else ""


def _summary(link) -> dict:
    booking = link.booking
    return {
        "greeting": _greeting(booking.customer),
        "plate_tail": plate_tail(booking.vehicle.plate),
        "store_name": link.store.name,
        "phone": _phone(link.store),
        "when": _when(booking.start_at),
        "kinds": [k.name for k in booking.kinds.all()],
        "state": booking.state,
    }


def _refused(request, resolved, status=None):
    link = resolved.link
    context = {"why": resolved.refused, "store_name": link.store.name if link else "",
               "phone": _phone(link.store) if link else ""}
    return render(request, "appointments/self/refused.html", context,
                  status=status or REFUSED_STATUS.get(resolved.refused, 404))


def _open(request, token):
    """(link, None) for a usable link, or (None, the refusal page). Counts and audits the use."""
    resolved = self_booking_resolve(token)
    if resolved.refused == "bad":
        # nothing is known; a flood of bad tokens over the address limit is neither counted nor audited
        if self_booking_admit(request, None):
            self_booking_use_record(link=None, what=request.method.lower(), why="bad")
        return None, _refused(request, resolved)
    if not self_booking_admit(request, resolved.link):
        return None, render(request, "appointments/self/refused.html",
                            {"why": "limited", "store_name": resolved.link.store.name,
                             "phone": _phone(resolved.link.store)}, status=429)
    if resolved.refused:
        self_booking_use_record(link=resolved.link, what=request.method.lower(), why=resolved.refused)
        return None, _refused(request, resolved)
    return resolved.link, None


@never_cache
@require_http_methods(["GET"])
def page(request, token):
    link, refused = _open(request, token)
    if refused:
        return refused
    self_booking_use_record(link=link, what="view")
    done = request.GET.get("done", "")
    return render(request, "appointments/self/page.html",
                  {**_summary(link), "token": token, "done": done if done in DONE else ""})


@never_cache
@require_POST
def confirm(request, token):
    link, refused = _open(request, token)
    if refused:
        return refused
    try:
        self_booking_confirm(link=link)
    except ValidationError:
        return _refused(request, Resolved(link, "closed"))
    return redirect(reverse("self_booking:page", kwargs={"token": token}) + "?done=confirmed")


def _days(link, today):
    booking = link.booking
    days = availability(store_id=booking.store_id, start=today, end=today + dt.timedelta(days=MOVE_DAYS - 1),
                        kinds=list(booking.kinds.all()), exclude_booking_id=booking.pk)
    return [d for d in days if d.free]


@never_cache
@require_http_methods(["GET", "POST"])
def move(request, token):
    link, refused = _open(request, token)
    if refused:
        return refused
    today = business_date()
    error, status = "", 200
    if request.method == "POST":
        try:
            start = dt.datetime.fromisoformat(request.POST.get("start", ""))
            if timezone.is_naive(start):
                raise ValueError
        except ValueError:
            error, status = _("Choose one of the times shown."), 422
            self_booking_use_record(link=link, what="move", why="invalid")
        else:
            try:
                self_booking_move(link=link, start_at=start, today=today)
            except SlotTaken:
                error, status = _("Sorry, that time was just taken. Choose another one."), 409
                self_booking_use_record(link=link, what="move", why="taken")
            except ValidationError:
                error, status = _("Choose one of the times shown."), 422
                self_booking_use_record(link=link, what="move", why="invalid")
            else:
                return redirect(reverse("self_booking:page", kwargs={"token": token}) + "?done=moved")
    else:
        self_booking_use_record(link=link, what="move_page")
    days = _days(link, today)
    chosen = None
    wanted = request.GET.get("day", "")
    for d in days:
        if d.date.isoformat() == wanted:
            chosen = d
    chosen = chosen or (days[0] if days else None)
    context = {
        **_summary(link), "token": token, "error": error, "move_days": MOVE_DAYS,
        "days": [{**_when(d.free[0][0]), "iso": d.date.isoformat(), "count": len(d.free),
                  "chosen": d is chosen} for d in days],
        "chosen": _when(chosen.free[0][0]) if chosen else None,
        "starts": [_when(at) for at, _bay in chosen.free] if chosen else [],
    }
    return render(request, "appointments/self/move.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request, token):
    link, refused = _open(request, token)
    if refused:
        return refused
    if request.method == "POST":
        try:
            self_booking_cancel(link=link)
        except ValidationError:
            return _refused(request, Resolved(link, "closed"))
        return render(request, "appointments/self/refused.html",
                      {"why": "cancelled_now", "store_name": link.store.name, "phone": _phone(link.store)})
    self_booking_use_record(link=link, what="cancel_page")
    return render(request, "appointments/self/cancel.html", {**_summary(link), "token": token})
