"""The appointment measures of the KPI catalogue (`aftercare/org/kpis.py`), registered in
`AppointmentsConfig.ready()`, and the measures page's figures (`appointment_measures_page`).

Definitions: docs/kpis.md ("Service appointments"); the reads: `measures.py`, and for the roadside rescue's
arrival time `selectors.rescue_arrival_by_store`.
"""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date, month_add
from aftercare.org.kpis import (
    Direction,
    Drill,
    KpiValue,
    Level,
    Measure,
    Period,
    Rollup,
    Unit,
    months_query,
    register,
)
from aftercare.org.selectors import kpi_judge, kpi_targets_resolved

from . import measures as m
from .selectors import rescue_arrival_by_store

APPOINTMENT_RATE_DEFAULT = Decimal(25)
SHOW_RATE_DEFAULT = Decimal(90)
RESCUE_ARRIVAL_MEDIAN_DEFAULT = Decimal(45)  # minutes; no seed figure: an urban dealer's usual promise
RESCUE_ARRIVAL_P90_DEFAULT = Decimal(90)
NO_SHOW_RATE_DEFAULT = Decimal(10)

CODES = {
    "appointment_rate": "appointments.appointment_rate",
    "show_rate": "appointments.show_rate",
    "no_show_rate": "appointments.no_show_rate",
    "lead_time_days": "appointments.lead_time_days",
    "bay_use": "appointments.bay_use",
    "rescue_arrival_median": "appointments.rescue_arrival_median",
    "rescue_arrival_p90": "appointments.rescue_arrival_p90",
}
# figure → (numerator, denominator)
RATES = {
    "appointment_rate": ("orders_booked", "orders"),
    "show_rate": ("arrived", "shown"),
    "no_show_rate": ("no_show", "shown"),
}


def _sum_months(per_month: dict, start: dt.date, end: dt.date) -> dict:
    total = m.empty_figures()
    for month, figures in per_month.items():
        if start <= month < end:
            m.add_figures(total, figures)
    return total


def _compute(key: str):
    def compute(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
        """Per store over the months of `[period_start, period_end)`; provisional while the period runs."""
        running = business_date() < period_end
        out = []
        if key == "bay_use":
            month = period_start.replace(day=1)
            totals: dict[int, list[float]] = {}
            while month < period_end:
                use = m.bay_use(user=user, store_ids=store_ids, month=month)
                for sid, s in use["stores"].items():
                    t = totals.setdefault(sid, [0.0, 0.0])
                    t[0], t[1] = t[0] + s["booked"], t[1] + s["open"]
                month = month_add(month, 1)
            for sid, (booked, opened) in sorted(totals.items()):
                out.append(KpiValue(sid, period_start, period_end, m.rate(round(booked), round(opened)),
                                    round(booked), round(opened), provisional=running))
            return out
        table = m.appointment_monthly(user=user, store_ids=store_ids, since=period_start.replace(day=1),
                                      until=period_end)
        for sid, per_month in sorted(table.items()):
            figures = m.with_rates(_sum_months(per_month, period_start.replace(day=1), period_end))
            if key == "lead_time_days":
                out.append(KpiValue(sid, period_start, period_end, figures["lead_time_days"], None,
                                    figures["lead_count"], provisional=running))
                continue
            num_key, den_key = RATES[key]
            num = figures[num_key]
            den = figures["arrived"] + figures["no_show"] if den_key == "shown" else figures[den_key]
            out.append(KpiValue(sid, period_start, period_end, figures[key], num, den, provisional=running))
        return out

    return compute


def _drill(numerator: tuple[str, str | None] | None, denominator: tuple[str, str | None] | None):
    """A measure's drill-down: the lists of `TABLE_ROWS` (("orders", booked) or ("bookings", state)) for the
    numerator and the denominator, of one store and the months of the period."""

    def drill(*, store_id: int, start: dt.date, end: dt.date) -> Drill:
        period = months_query(start, end)
        if period is None:
            return Drill()

        def url(spec):
            if spec is None:
                return ""
            kind, arg = spec
            if kind == "orders":
                return orders_url(booked=arg, store=store_id, **period)
            return bookings_url(state=arg, store=store_id, **period)

        return Drill(url(numerator), url(denominator))

    return drill


_COMMON = {"app": "appointments", "levels": (Level.STORE,), "periods": (Period.MONTH, Period.QUARTER, Period.YEAR)}

APPOINTMENT_RATE = Measure(
    code=CODES["appointment_rate"],
    name=_("Appointment rate (预约率)"),
    definition=_(
        "Share of the store's repair orders settled in the period that came by appointment (the order's booked "
        "flag, set by the DMS or by matching the order to its appointment); internal orders and car washes are "
        "left out."
    ),
    numerator=_("repair orders settled in the period marked booked"),
    denominator=_("repair orders settled in the period, internal orders and car washes left out"),
    unit=Unit.PERCENT, direction=Direction.HIGHER, default_target=APPOINTMENT_RATE_DEFAULT,
    compute=_compute("appointment_rate"), drill=_drill(("orders", "1"), ("orders", None)), **_COMMON,
)
SHOW_RATE = Measure(
    code=CODES["show_rate"],
    name=_("Appointment show rate"),
    definition=_("Share of the appointments starting in the period whose customer came, of those who came or "
                 "did not (cancelled and still open appointments left out)."),
    numerator=_("appointments starting in the period, arrived"),
    denominator=_("appointments starting in the period, arrived or no-show"),
    unit=Unit.PERCENT, direction=Direction.HIGHER, default_target=SHOW_RATE_DEFAULT,
    compute=_compute("show_rate"), drill=_drill(("bookings", "arrived"), ("bookings", "shown")), **_COMMON,
)
NO_SHOW_RATE = Measure(
    code=CODES["no_show_rate"],
    name=_("Appointment no-show rate"),
    definition=_("Share of the appointments starting in the period whose customer did not come, of those who "
                 "came or did not (cancelled and still open appointments left out)."),
    numerator=_("appointments starting in the period marked no-show"),
    denominator=_("appointments starting in the period, arrived or no-show"),
    unit=Unit.PERCENT, direction=Direction.LOWER, default_target=NO_SHOW_RATE_DEFAULT,
    compute=_compute("no_show_rate"), drill=_drill(("bookings", "no_show"), ("bookings", "shown")), **_COMMON,
)
LEAD_TIME = Measure(
    code=CODES["lead_time_days"],
    name=_("Appointment lead time (days, median)"),
    definition=_("Median number of days from the moment an appointment was made to its start, appointments "
                 "starting in the period and not cancelled."),
    numerator=_("median of (start − booked at), in days"),
    denominator=_("appointments starting in the period, not cancelled"),
    unit=Unit.COUNT, direction=Direction.HIGHER, compute=_compute("lead_time_days"), rollup=Rollup.NONE,
    drill=_drill(None, ("bookings", "counted")), **_COMMON,
)
BAY_USE = Measure(
    code=CODES["bay_use"],
    name=_("Bay use by appointments"),
    definition=_("Booked bay-minutes of the appointments starting in the period (cancelled left out) over the open "
                 "bay-minutes: active bays × opening hours of the open days (holidays closed, make-up working "
                 "days and day overrides applied)."),
    numerator=_("booked bay-minutes"),
    denominator=_("open bay-minutes"),
    unit=Unit.PERCENT, direction=Direction.HIGHER, compute=_compute("bay_use"), **_COMMON,
)



def _rescue_compute(key: str):
    def compute(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
        """Per store, the rescue calls reported in `[period_start, period_end)` that have arrived; provisional
        while the period runs. The denominator is the number of calls; the value has no numerator."""
        running = business_date() < period_end
        figures = rescue_arrival_by_store(user=user, store_ids=store_ids, since=period_start, until=period_end)
        return [KpiValue(sid, period_start, period_end, Decimal(str(f[key])), None, f["count"], provisional=running)
                for sid, f in sorted(figures.items())]

    return compute


RESCUE_ARRIVAL_MEDIAN = Measure(
    code=CODES["rescue_arrival_median"],
    name=_("Roadside rescue arrival time (minutes, median)"),
    definition=_("Median of the minutes from the customer's call to the rescue's arrival, rescue calls reported in "
                 "the period (Asia/Shanghai) that have arrived; calls still on the way or cancelled left out."),
    numerator=_("median of (arrived at − reported at), in minutes"),
    denominator=_("rescue calls reported in the period that have arrived"),
    unit=Unit.MINUTES, direction=Direction.LOWER, default_target=RESCUE_ARRIVAL_MEDIAN_DEFAULT,
    compute=_rescue_compute("median"), rollup=Rollup.NONE, **_COMMON,
)
RESCUE_ARRIVAL_P90 = Measure(
    code=CODES["rescue_arrival_p90"],
    name=_("Roadside rescue arrival time (minutes, 90th percentile)"),
    definition=_("90th percentile (interpolated between the closest ranks) of the minutes from the customer's call "
                 "to the rescue's arrival, rescue calls reported in the period that have arrived: nine calls in ten "
                 "were reached within it."),
    numerator=_("90th percentile of (arrived at − reported at), in minutes"),
    denominator=_("rescue calls reported in the period that have arrived"),
    unit=Unit.MINUTES, direction=Direction.LOWER, default_target=RESCUE_ARRIVAL_P90_DEFAULT,
    compute=_rescue_compute("p90"), rollup=Rollup.NONE, **_COMMON,
)

MEASURES = (APPOINTMENT_RATE, SHOW_RATE, NO_SHOW_RATE, LEAD_TIME, BAY_USE, RESCUE_ARRIVAL_MEDIAN, RESCUE_ARRIVAL_P90)


def register_measures() -> None:
    """Add the appointment measures to the catalogue (`AppointmentsConfig.ready()`)."""
    for measure in MEASURES:
        register(measure)


# ---- the page --------------------------------------------------------------------------------------------------


def orders_url(**params) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('appointments:measures_orders')}?{urlencode(query)}"


def bookings_url(**params) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('appointments:measures_bookings')}?{urlencode(query)}"


# the monthly table: (figure key, label, drill-down: ("orders", booked) or ("bookings", state) or None)
TABLE_ROWS = (
    ("orders", _("Repair orders (internal and washes left out)"), ("orders", None)),
    ("orders_booked", _("Booked repair orders"), ("orders", "1")),
    ("appointment_rate", _("Appointment rate"), ("orders", "1")),
    ("bookings", _("Appointments (not cancelled)"), ("bookings", "counted")),
    ("arrived", _("Arrived"), ("bookings", "arrived")),
    ("no_show", _("No-show"), ("bookings", "no_show")),
    ("cancelled", _("Cancelled"), ("bookings", "cancelled")),
    ("show_rate", _("Show rate"), ("bookings", "shown")),
    ("no_show_rate", _("No-show rate"), ("bookings", "no_show")),
    ("lead_time_days", _("Lead time (days, median)"), ("bookings", "counted")),
)
WEEKDAYS = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


def appointment_measures_page(*, user, store_ids, year: int, month: dt.date, today: dt.date) -> dict:
    """Everything the measures page, its export and its API show for the stores `store_ids` (scoped and narrowed
    by the view): the monthly table of `year` beside the appointment-rate target, and for `month` the bay use and
    the peak load by weekday × hour. Queries: 3 (table) + 1 (targets) + 2 (peak load) + 6 a store + 1 (bay use)."""
    store_ids = sorted(m.store_ids_scoped(user, store_ids))
    single = store_ids[0] if len(store_ids) == 1 else None
    months = [dt.date(year, i, 1) for i in range(1, 13)]
    table = m.appointment_monthly(user=user, store_ids=store_ids, since=months[0], until=dt.date(year + 1, 1, 1))
    per_month = {mo: m.empty_figures() for mo in months}
    for sid in store_ids:
        for mo, figures in table.get(sid, {}).items():
            if mo in per_month:
                m.add_figures(per_month[mo], figures)
    figures = {mo: m.with_rates(f) for mo, f in per_month.items()}
    targets = kpi_targets_resolved(user=user, store_ids=store_ids, measures=[APPOINTMENT_RATE], months=months)

    def target(mo):
        found = [targets.get((sid, APPOINTMENT_RATE.code, mo)) for sid in store_ids]
        if not found or any(t is None for t in found):
            return None
        if len(found) == 1:
            return found[0]
        dens = [table.get(sid, {}).get(mo, {}).get("orders", 0) for sid in store_ids]
        total = sum(dens)
        value = (sum(t.value * d for t, d in zip(found, dens, strict=True)) / total if total
                 else sum(t.value for t in found) / len(found))
        return type(found[0])(value.quantize(Decimal("0.1")), found[0].source)

    rows = []
    for key, label, drill in TABLE_ROWS:
        cells = []
        for mo in months:
            f = figures[mo]
            running = mo <= today < month_add(mo, 1)
            value = f[key]
            judge = kpi_judge(APPOINTMENT_RATE, value, target(mo), running=running) if key == "appointment_rate" \
                else None
            kind, arg = drill
            url = None
            if mo <= today:
                url = (orders_url(month=f"{mo:%Y-%m}", booked=arg, store=single) if kind == "orders"
                       else bookings_url(month=f"{mo:%Y-%m}", state=arg, store=single))
            num = den = None
            if key in RATES:
                num = f[RATES[key][0]]
                den = f["arrived"] + f["no_show"] if RATES[key][1] == "shown" else f[RATES[key][1]]
            cells.append({"month": mo, "value": value, "numerator": num, "denominator": den, "running": running,
                          "future": mo > today, "judge": judge, "url": url})
        rows.append({"key": key, "label": label, "rate": key in RATES, "cells": cells,
                     "measure": APPOINTMENT_RATE if key == "appointment_rate" else None})

    use = m.bay_use(user=user, store_ids=store_ids, month=month)
    load = m.peak_load(user=user, store_ids=store_ids, month=month)
    hours = sorted({h for _wd, h in use["grid"]} | {h for _wd, h in load}) or list(range(8, 18))
    grid = []
    for wd in range(7):
        cells = []
        for h in hours:
            u = use["grid"].get((wd, h), {})
            p = load.get((wd, h), {"bookings": 0, "walk_ins": 0})
            cells.append({"hour": h, "use": u.get("rate"), "booked_minutes": round(u.get("booked", 0)),
                          "open_minutes": round(u.get("open", 0)), "bookings": p["bookings"],
                          "walk_ins": p["walk_ins"],
                          "url": bookings_url(month=f"{month:%Y-%m}", state="counted", weekday=wd, hour=h,
                                              store=single)})
        grid.append({"weekday": wd, "label": WEEKDAYS[wd], "cells": cells})
    return {
        "year": year, "month": month, "months": months, "rows": rows, "single_store": single,
        "store_ids": store_ids, "month_figures": figures.get(month) if month.year == year else None,
        "rate_target": target(month) if month.year == year else None,
        "bay_use": use, "hours": hours, "grid": grid,
    }
