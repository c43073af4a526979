"""Views that need stores or roles: the start page, the KPI catalogue and targets (`/kpis/`), the store switcher
and the group admin's list of locked log-ins.

(Core, below org, knows neither: its views are the log-in and the inbox.)
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercare.core import selectors as core_selectors
from aftercare.core import services as core_services
from aftercare.core import throttle
from aftercare.core.forms import apply_errors
from aftercare.core.htmx import render_partial_or_page

from . import selectors, services
from .calendar import business_date
from .forms import KpiTargetRowForm, KpiYearForm, month_field
from .kpis import Level, Period, measure_get, measures
from .models import Store
from .permissions import Perm, has_perm, require_perm, require_staff
from .scoping import SESSION_STORE_KEY, current_store_ids, store_for_write, visible_store_ids
from .start import start_cards


@login_required
def start(request):
    """The landing page after log-in: the cards the apps registered for the user's role (`org/start.py`), counted
    over the stores in scope (narrowed by the store switcher); every number links to its rows."""
    now = timezone.now()
    store_ids = current_store_ids(request.user, request)
    cards = start_cards(user=request.user, store_ids=store_ids, now=now)
    context = {"cards": cards, "busy": any(data.total for _card, data in cards), "now": now}
    return render_partial_or_page(request, "org/start.html", "org/_start_cards.html", context)


@login_required
@require_POST
def store_switch(request):
    """Narrow every list to one visible store (empty value = all stores in scope)."""
    raw = request.POST.get("store", "")
    if raw.isdigit() and int(raw) in visible_store_ids(request.user):
        request.session[SESSION_STORE_KEY] = int(raw)
    else:
        request.session.pop(SESSION_STORE_KEY, None)
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    return redirect(nxt)


# ---- failed-login lockouts (django-axes; core/throttle.py) -------------------------------------------------------


@login_required
def lockout_list(request):
    """Accounts and client addresses locked after repeated failed logins / API tokens, with an Unlock button."""
    require_perm(request.user, Perm.LOGIN_UNLOCK)
    context = core_selectors.login_lockout_list(user=request.user)
    context.update(
        {
            "per_account": throttle.limit_of(throttle.ACCOUNT),
            "per_address": throttle.limit_of(throttle.ADDRESS),
            "minutes": throttle.lockout_minutes(),
        }
    )
    return render(request, "org/lockouts.html", context)


@login_required
@require_POST
def lockout_clear(request):
    """Unlock one account (`kind=account`) or one address (`kind=address`) shown on the list; anything else: 404."""
    require_perm(request.user, Perm.LOGIN_UNLOCK)
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "")
    locked = core_selectors.login_lockout_list(user=request.user)
    rows = {"account": locked["accounts"], "address": locked["addresses"]}.get(kind, [])
    if value not in {row["value"] for row in rows}:
        raise Http404
    if kind == "account":
        core_services.login_lockout_clear(actor=request.user, username=value)
        messages.success(request, _("Account %(name)s unlocked.") % {"name": value})
    else:
        core_services.login_lockout_clear(actor=request.user, ip_address=value)
        messages.success(request, _("Client address %(address)s unlocked.") % {"address": value})
    return redirect("lockouts")


# ---- scheduled jobs (core/schedule.py) -------------------------------------------------------------------------


@login_required
def job_list(request):
    """Each scheduled job: its slots, last run, duration, result and next slot; failed or late jobs flagged."""
    from aftercare.core.schedule import job_status_list

    require_perm(request.user, Perm.JOBS_VIEW)
    statuses = job_status_list()
    context = {"statuses": statuses, "flagged": sum(s.flagged for s in statuses)}
    return render(request, "org/jobs.html", context)


# ---- the KPI catalogue page (`/kpis/`): every measure with its definition; one store's targets per month ----


def _page_context(request, *, store: Store | None, year: int, bound: dict | None = None) -> dict:
    user = request.user
    catalogue = measures()
    months = [dt.date(year, m, 1) for m in range(1, 13)]
    resolved = (
        selectors.kpi_targets_resolved(user=user, store_ids=[store.pk], measures=catalogue, months=months)
        if store is not None
        else {}
    )
    own = {
        (t.measure_code, t.period_kind, t.period_start): t
        for t in (selectors.kpi_target_list(user=user, store_ids=[store.pk], year=year) if store else [])
    }
    may_set = store is not None and has_perm(user, Perm.KPI_SET_TARGET)
    rows = []
    for measure in catalogue:
        row = {"measure": measure, "grain": _grain(measure), "cells": []}
        if measure.targetable and store is not None:
            form = (bound or {}).get(measure.code)
            if form is None and may_set:
                initial = {
                    month_field(m.month): own[(measure.code, "month", m)].value
                    for m in months
                    if (measure.code, "month", m) in own
                }
                year_row = own.get((measure.code, "year", dt.date(year, 1, 1)))
                if year_row is not None:
                    initial["year_value"] = year_row.value
                form = KpiTargetRowForm(measure=measure, year=year, initial=initial, prefix=_prefix(measure.code))
            row["form"] = form if may_set else None
            year_row = own.get((measure.code, "year", dt.date(year, 1, 1)))
            row["year_target"] = year_row
            for month in months:
                target = resolved.get((store.pk, measure.code, month))
                row["cells"].append(
                    {
                        "month": month,
                        "target": target,
                        "field": form[month_field(month.month)] if may_set else None,
                    }
                )
            row["year_field"] = form["year_value"] if may_set else None
        rows.append(row)
    return {
        "store": store,
        "stores": list(Store.objects.filter(pk__in=current_store_ids(user, request)).order_by("code")),
        "year": year,
        "months": months,
        "rows": rows,
        "may_set": may_set,
    }


def _prefix(code: str) -> str:
    return "t-" + code.replace(".", "-")


def _grain(measure) -> str:
    levels = ", ".join(str(Level(level).label) for level in measure.grain_levels)
    periods = ", ".join(str(Period(period).label) for period in measure.periods)
    return f"{levels} × {periods}"


def _store_and_year(request, data) -> tuple[Store | None, int, KpiYearForm]:
    form = KpiYearForm(data)
    today = business_date()
    form.is_valid()  # a bad year shows its error; a valid store is kept either way
    year = form.cleaned_data.get("year") or today.year
    store_id = form.cleaned_data.get("store")
    ids = current_store_ids(request.user, request)
    if store_id is not None and store_id not in ids:
        raise Http404
    if store_id is None:
        store_id = min(ids) if ids else None
    store = Store.objects.get(pk=store_id) if store_id is not None else None
    return store, year, form


@login_required
def kpi_catalogue(request):
    """GET: the catalogue and the store's targets of the year. POST (kpi.set_target): one measure's year row."""
    require_staff(request.user)
    if request.method == "POST":
        return _save(request)
    store, year, form = _store_and_year(request, request.GET)
    context = _page_context(request, store=store, year=year)
    context["year_form"] = form
    return render(request, "org/kpis.html", context)


def _save(request):
    if not has_perm(request.user, Perm.KPI_SET_TARGET):
        raise PermissionDenied
    store, year, year_form = _store_and_year(request, request.POST)
    if store is None:
        raise Http404
    store = store_for_write(request.user, store.pk)  # a store the user only reads: 404
    measure = measure_get(request.POST.get("measure", ""))
    if year_form.errors:  # never save a row under another year than the one asked for
        context = _page_context(request, store=store, year=year)
        context["year_form"] = year_form
        return render(request, "org/kpis.html", context)
    if measure is None or not measure.targetable:
        context = _page_context(request, store=store, year=year)
        context["year_form"] = year_form
        context["measure_error"] = _("Choose a measure of the catalogue that takes a store target.")
        return render(request, "org/kpis.html", context)
    form = KpiTargetRowForm(request.POST, measure=measure, year=year, prefix=_prefix(measure.code))
    if form.is_valid():
        try:
            services.kpi_targets_set(actor=request.user, store=store, measure=measure.code, targets=form.targets())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Targets of %(measure)s saved.") % {"measure": measure.name})
            return redirect(f"{request.path}?store={store.pk}&year={year}#kpi-{measure.code}")
    context = _page_context(request, store=store, year=year, bound={measure.code: form})
    context["year_form"] = year_form
    return render(request, "org/kpis.html", context)
