"""The KPI catalogue page (`/kpis/`): every registered measure with its definition, and one store's targets per
month of a year, editable with `kpi.set_target`. Thin: parse, check, call `kpi_selectors` / `services`."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from . import kpi_selectors, services
from .forms import KpiTargetRowForm, KpiYearForm, month_field
from .kpis import Level, Period, measure_get, measures
from .models import Store
from .permissions import Perm, has_perm, role_of
from .scoping import current_store_ids, store_for_write
from .selectors import business_date


def _page_context(request, *, store: Store | None, year: int, bound: dict | None = None) -> dict:
    user = request.user
    catalogue = measures()
    months = [dt.date(year, m, 1) for m in range(1, 13)]
    resolved = (
        kpi_selectors.kpi_targets_resolved(user=user, store_ids=[store.pk], measures=catalogue, months=months)
        if store is not None
        else {}
    )
    own = {
        (t.measure_code, t.period_kind, t.period_start): t
        for t in (kpi_selectors.kpi_target_list(user=user, store_ids=[store.pk], year=year) if store else [])
    }
    may_set = store is not None and has_perm(user, Perm.KPI_SET_TARGET)
    rows = []
    for measure in catalogue:
        row = {"measure": measure, "grain": _grain(measure), "cells": []}
        if measure.targetable and store is not None:
            form = (bound or {}).get(measure.code)
            if form is None and may_set:
                initial = {month_field(m.month): own[(measure.code, "month", m)].value for m in months
                           if (measure.code, "month", m) in own}
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
    levels = ", ".join(str(Level(level).label) for level in measure.levels)
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
    if role_of(request.user) is None:
        raise PermissionDenied
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
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Targets of %(measure)s saved.") % {"measure": measure.name})
            return redirect(f"{request.path}?store={store.pk}&year={year}#kpi-{measure.code}")
    context = _page_context(request, store=store, year=year, bound={measure.code: form})
    context["year_form"] = year_form
    return render(request, "org/kpis.html", context)
