"""The renewal measures of the KPI catalogue (`aftercare/org/kpis.py`), registered in `RenewalsConfig.ready()`, and
the measures page's table: actual beside target per month, quarter and year (seed 000 p9–13, p25: a quarter's
target set by month).

Definitions: docs/kpis.md ("Insurance renewals"). Each compute hook reads `measures.renewal_measure_totals` (two
queries whatever the stores and months).

Targets (`org.KpiTarget`, one query for every store, measure and period of the year):
- rates (renewal rate, effective-contact rate): as everywhere, the month's own, else its quarter's, else its
  year's, else the default;
- counts and amounts (policies sold, premium): they add up, so a month without its own target takes its share of
  the quarter's (÷ 3) or the year's (÷ 12); a quarter without its own is the sum of its months' (the seed's
  "quarter task set by month"), a year without its own the sum of its quarters'. No default: it depends on the
  store's size.
- several stores shown together: the sum of their targets (counts, amounts), or their rate targets weighted by
  the stores' denominators; none when a store has none.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import month_add
from aftercare.org.kpis import (
    Direction,
    Drill,
    KpiValue,
    Level,
    Measure,
    Period,
    Unit,
    measure_get,
    months_query,
    period_bounds,
    register,
)
from aftercare.org.selectors import (
    ResolvedTarget,
    kpi_judge,
    kpi_target_list,
    kpi_target_of_period,
    kpi_targets_combined,
)

from . import measures as m
from .choices import CaseState, Segment

YUAN_PER_UNIT = Decimal(10_000)  # Unit.YUAN_10K: targets in 万元, figures in yuan
RATE_DEFAULT = Decimal(60)
FILED_RATE_DEFAULT = Decimal(65)
EFFECTIVE_CONTACT_DEFAULT = Decimal(90)

CODES = {
    "renewal_rate": "renewals.renewal_rate",
    "renewal_rate_filed": "renewals.renewal_rate_filed",
    "renewal_count": "renewals.renewal_count",
    "renewal_premium": "renewals.renewal_premium",
    "new_car_count": "renewals.new_car_policy_count",
    "new_car_premium": "renewals.new_car_policy_premium",
    "effective_contact_rate": "renewals.renewal_effective_contact_rate",
}
# figure key → (numerator, denominator) of a rate
RATES = {
    "renewal_rate": ("renewed_here", "expiring"),
    "renewal_rate_filed": ("renewed_filed", "expiring_filed"),
    "effective_contact_rate": ("effective", "expiring"),
}


def _value(key: str, figures: dict):
    """The measure `key` of summed figures (premiums in 万元 for the catalogue), with numerator and denominator."""
    if key in RATES:
        num, den = (figures[k] for k in RATES[key])
        return m.rate(num, den), num, den
    if key.endswith("_premium"):
        return (Decimal(figures[key]) / YUAN_PER_UNIT).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), None, None
    return figures[key], None, None


def _compute(key: str):
    def compute(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
        """Per store over `[period_start, period_end)`; provisional while the period runs. Premiums: none without
        `renewal.premium`."""
        from aftercare.org.calendar import business_date

        if key.endswith("_premium") and not m.may_see_premiums(user):
            return []
        totals = m.renewal_measure_totals(user=user, store_ids=store_ids, since=period_start, until=period_end)
        running = business_date() < period_end
        out = []
        for store_id, figures in sorted(totals.items()):
            value, num, den = _value(key, figures)
            out.append(KpiValue(store_id, period_start, period_end, value, num, den, provisional=running))
        return out

    return compute


# figure key → (numerator's, denominator's) case-list filters; policies sold list their policies of one kind
DRILL_CASES = {
    "renewal_rate": ({"state": CaseState.RENEWED_HERE}, {}),
    "renewal_rate_filed": ({"state": CaseState.RENEWED_HERE, "filed": "1"}, {"filed": "1"}),
    "effective_contact_rate": ({"contacted": "1"}, {}),
}


def _drill(key: str):
    """The measure's drill-down for one store and the months of the period: the renewal list (cases by expiry
    month, `DRILL_CASES`) or the policies sold (by start month, `POLICY_ROWS`)."""

    def drill(*, store_id: int, start: dt.date, end: dt.date) -> Drill:
        period = months_query(start, end)
        if period is None:
            return Drill()
        if key in POLICY_ROWS:
            return Drill(policies_url(kind=POLICY_ROWS[key], store=store_id, **period))
        numerator, denominator = DRILL_CASES[key]
        return Drill(list_url(store=store_id, **period, **numerator), list_url(store=store_id, **period, **denominator))

    return drill


_COMMON = {
    "app": "renewals",
    "direction": Direction.HIGHER,
    "levels": (Level.STORE,),
    "periods": (Period.MONTH, Period.QUARTER, Period.YEAR),
}

RENEWAL_RATE = Measure(
    code=CODES["renewal_rate"],
    name=_("Renewal rate (续保率)"),
    definition=_(
        "Share of the renewal cases expiring in the period that were renewed here, every segment, estimated "
        "expiries included (an imported renewal counts, whatever the specialist recorded)."
    ),
    numerator=_("cases expiring in the period renewed here"),
    denominator=_("renewal cases expiring in the period (filed and estimated)"),
    unit=Unit.PERCENT,
    default_target=RATE_DEFAULT,
    compute=_compute("renewal_rate"),
    drill=_drill("renewal_rate"),
    **_COMMON,
)
RENEWAL_RATE_FILED = Measure(
    code=CODES["renewal_rate_filed"],
    name=_("Renewal rate, filed policies"),
    definition=_("The renewal rate of the cases whose expiring policy is on file (estimated expiries left out)."),
    numerator=_("cases of a filed policy expiring in the period renewed here"),
    denominator=_("cases of a filed policy expiring in the period"),
    unit=Unit.PERCENT,
    default_target=FILED_RATE_DEFAULT,
    compute=_compute("renewal_rate_filed"),
    drill=_drill("renewal_rate_filed"),
    **_COMMON,
)
RENEWAL_COUNT = Measure(
    code=CODES["renewal_count"],
    name=_("Renewals sold (单数)"),
    definition=_("Renewal policies the store sold, by the month the policy starts."),
    numerator=_("policies of kind renewal starting in the period"),
    denominator="—",
    unit=Unit.COUNT,
    compute=_compute("renewal_count"),
    drill=_drill("renewal_count"),
    **_COMMON,
)
RENEWAL_PREMIUM = Measure(
    code=CODES["renewal_premium"],
    name=_("Renewal premium (金额)"),
    definition=_("Premium of the renewal policies the store sold, by the month the policy starts, in ¥10,000."),
    numerator=_("premium of the policies of kind renewal starting in the period"),
    denominator="—",
    unit=Unit.YUAN_10K,
    compute=_compute("renewal_premium"),
    drill=_drill("renewal_premium"),
    **_COMMON,
)
NEW_CAR_COUNT = Measure(
    code=CODES["new_car_count"],
    name=_("New-car policies (单数)"),
    definition=_("New-car policies the store sold, by the month the policy starts."),
    numerator=_("policies of kind new car starting in the period"),
    denominator="—",
    unit=Unit.COUNT,
    compute=_compute("new_car_count"),
    drill=_drill("new_car_count"),
    **_COMMON,
)
NEW_CAR_PREMIUM = Measure(
    code=CODES["new_car_premium"],
    name=_("New-car policy premium (金额)"),
    definition=_("Premium of the new-car policies the store sold, by the month the policy starts, in ¥10,000."),
    numerator=_("premium of the policies of kind new car starting in the period"),
    denominator="—",
    unit=Unit.YUAN_10K,
    compute=_compute("new_car_premium"),
    drill=_drill("new_car_premium"),
    **_COMMON,
)
EFFECTIVE_CONTACT_RATE = Measure(
    code=CODES["effective_contact_rate"],
    name=_("Renewal effective-contact rate"),
    definition=_(
        "Share of the renewal cases expiring in the period that had at least one effective contact (an answered "
        "one; unanswered calls are attempts)."
    ),
    numerator=_("cases expiring in the period with at least one effective contact"),
    denominator=_("renewal cases expiring in the period"),
    unit=Unit.PERCENT,
    default_target=EFFECTIVE_CONTACT_DEFAULT,
    compute=_compute("effective_contact_rate"),
    drill=_drill("effective_contact_rate"),
    **_COMMON,
)

MEASURES = (RENEWAL_RATE, RENEWAL_RATE_FILED, RENEWAL_COUNT, RENEWAL_PREMIUM, NEW_CAR_COUNT, NEW_CAR_PREMIUM,
            EFFECTIVE_CONTACT_RATE)


def register_measures() -> None:
    """Add the renewal measures to the catalogue (`RenewalsConfig.ready()`)."""
    for measure in MEASURES:
        register(measure)


# ---- targets ---------------------------------------------------------------------------------------------------


def _scaled(measure: Measure, target: ResolvedTarget | None) -> ResolvedTarget | None:
    """A target in 万元 as yuan, to stand beside a figure in yuan."""
    if target is None or measure.unit != Unit.YUAN_10K:
        return target
    return ResolvedTarget(target.value * YUAN_PER_UNIT, target.source, target.period_start, target.note)


# ---- the page --------------------------------------------------------------------------------------------------

# The monthly table's rows: (figure key, label, case state the figure drills down to; None: not a case figure).
TABLE_ROWS = (
    ("new_car_count", _("New-car policies (单数)"), None),
    ("new_car_premium", _("New-car premium (金额, ¥)"), None),
    ("renewal_count", _("Renewals sold (单数)"), None),
    ("renewal_premium", _("Renewal premium (金额, ¥)"), None),
    ("expiring", _("Cases expiring"), ""),
    ("renewed_here", _("Renewed here"), CaseState.RENEWED_HERE),
    ("renewed_elsewhere", _("Renewed elsewhere"), CaseState.RENEWED_ELSEWHERE),
    ("not_renewed", _("Not renewed"), CaseState.NOT_RENEWED),
    ("lapsed", _("Lapsed without an outcome"), CaseState.LAPSED),
    ("open", _("Still open"), CaseState.OPEN),
    ("renewal_rate", _("Renewal rate"), ""),
    ("renewal_rate_filed", _("Renewal rate, filed policies"), ""),
    ("effective_contact_rate", _("Effective-contact rate"), ""),
)


def list_url(**params) -> str:
    """The renewal list (`renewals:list`) filtered by `params` (month YYYY-MM, segment, state, holder, store)."""
    try:
        base = reverse("renewals:list")
    except NoReverseMatch:  # the list page is another part of the app; its path is /renewals/
        base = "/renewals/"
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(query)}" if query else base


def policies_url(**params) -> str:
    """The policies behind a figure of policies sold (`renewals:measures_policies`: month, kind, store, insurer)."""
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('renewals:measures_policies')}?{urlencode(query)}"


# figure key of policies sold → the policy kind it counts
POLICY_ROWS = {"new_car_count": "new_car", "new_car_premium": "new_car", "renewal_count": "renewal",
               "renewal_premium": "renewal"}


def periods_of(year: int) -> list[tuple[str, dt.date]]:
    """The table's columns: each month, each quarter after its third month, then the year."""
    out = []
    for month in m.year_months(year):
        out.append((Period.MONTH, month))
        if month.month % 3 == 0:
            out.append((Period.QUARTER, month_add(month, -2)))
    out.append((Period.YEAR, dt.date(year, 1, 1)))
    return out


def _sum_period(by_month: dict, kind: str, start: dt.date) -> dict:
    end = period_bounds(kind, start)[1]
    total = m.empty_figures()
    for month, figures in by_month.items():
        if start <= month < end:
            m.add_figures(total, figures)
    return total


def renewal_measures_page(*, user, store_ids, year: int, month: dt.date, today: dt.date) -> dict:
    """Everything the measures page, its export and its API show, for the stores `store_ids` (already scoped and
    narrowed by the view) and `year`; breakdowns for `month`. Queries: the monthly table (2), the targets (1),
    the breakdowns (5)."""
    store_ids = sorted(store_ids)
    table = m.renewal_monthly_table(user=user, store_ids=store_ids, year=year)
    premiums = table["premiums"]
    periods = periods_of(year)
    store_figures = {
        sid: {(kind, start): _sum_period(table["stores"].get(sid, {}), kind, start) for kind, start in periods}
        for sid in store_ids
    }
    totals = {(kind, start): _sum_period(table["total"], kind, start) for kind, start in periods}
    target_rows: dict = {}
    for t in kpi_target_list(user=user, store_ids=store_ids, year=year):
        target_rows.setdefault((t.store_id, t.measure_code), {})[(t.period_kind, t.period_start)] = t.value
    single = store_ids[0] if len(store_ids) == 1 else None

    def target_for(key: str, kind: str, start: dt.date) -> ResolvedTarget | None:
        measure = measure_get(CODES[key]) if key in CODES else None
        if measure is None:
            return None
        den_key = RATES[key][1] if key in RATES else None
        parts = [
            (kpi_target_of_period(measure, target_rows.get((sid, measure.code), {}), kind, start),
             store_figures[sid][(kind, start)][den_key] if den_key else 0)
            for sid in store_ids
        ]
        return kpi_targets_combined(measure, parts)

    rows = []
    for key, label, state in TABLE_ROWS:
        if key.endswith("_premium") and not premiums:
            continue
        measure = measure_get(CODES[key]) if key in CODES else None
        cells = []
        for kind, start in periods:
            figures = totals[(kind, start)]
            if key in RATES:
                num, den = (figures[k] for k in RATES[key])
                value = m.rate(num, den)
            else:
                num, den, value = None, None, figures[key]
            running = today < period_bounds(kind, start)[1]
            judge = None
            if measure is not None:
                judge = kpi_judge(measure, value, _scaled(measure, target_for(key, kind, start)), running=running)
            url = None
            if kind == Period.MONTH and state is not None:
                url = list_url(month=start.strftime("%Y-%m"), state=state, store=single)
            elif kind == Period.MONTH and key in POLICY_ROWS:
                url = policies_url(month=start.strftime("%Y-%m"), kind=POLICY_ROWS[key], store=single)
            cells.append({"kind": kind, "start": start, "value": value, "numerator": num, "denominator": den,
                          "judge": judge, "running": running, "url": url})
        rows.append({"key": key, "label": label, "measure": measure, "premium": key.endswith("_premium"),
                     "rate": key in RATES, "cells": cells})

    breakdowns = m.renewal_breakdowns(user=user, store_ids=store_ids, month=month)
    month_text = month.strftime("%Y-%m")
    for r in breakdowns["specialists"]:
        r["url"] = list_url(month=month_text, holder=r["specialist"] or "none", store=single)
    for r in breakdowns["insurers"]:
        r["url"] = policies_url(month=month_text, insurer=r["insurer"], store=single)
    for r in breakdowns["reasons"]:
        r["label"] = _reason_label(r["reason"])
    lost_url = {s: list_url(month=month_text, state=s, store=single) for s in m.LOST_STATES}

    # segments of the breakdown month, and the trend per store and per segment over the year
    months = table["months"]
    segment_rows = []
    for segment in Segment:
        figures = m.empty_figures()
        by_month = {mo: m.empty_figures() for mo in months}
        for (_sid, seg), per_month in table["segments"].items():
            if seg != segment.value:
                continue
            if month in per_month:
                m.add_figures(figures, per_month[month])
            for mo in months:
                m.add_figures(by_month[mo], per_month[mo])
        segment_rows.append({
            "segment": segment.value, "label": segment.label, **m.with_rates(figures, premiums=premiums),
            "url": list_url(month=month_text, segment=segment.value, store=single),
            "state_urls": {state: list_url(month=month_text, segment=segment.value, state=state, store=single)
                           for state in (CaseState.RENEWED_HERE, *m.LOST_STATES)},
            "trend": [{"month": mo, "rate": m.rate(by_month[mo]["renewed_here"], by_month[mo]["expiring"]),
                       "renewed_here": by_month[mo]["renewed_here"], "expiring": by_month[mo]["expiring"],
                       "url": list_url(month=mo.strftime("%Y-%m"), segment=segment.value, store=single)}
                      for mo in months],
        })
    store_trend = []
    for sid in store_ids:
        per_month = table["stores"].get(sid, {})
        store_trend.append({
            "store_id": sid,
            "trend": [{"month": mo, "rate": m.rate(per_month[mo]["renewed_here"], per_month[mo]["expiring"])
                       if mo in per_month else None,
                       "renewed_here": per_month[mo]["renewed_here"] if mo in per_month else 0,
                       "expiring": per_month[mo]["expiring"] if mo in per_month else 0,
                       "url": list_url(month=mo.strftime("%Y-%m"), store=sid)} for mo in months],
        })
    rate_target = target_for("renewal_rate", Period.MONTH, month)
    return {
        "year": year, "month": month, "months": months, "periods": periods, "rows": rows, "premiums": premiums,
        "breakdowns": breakdowns, "segments": segment_rows, "store_trend": store_trend, "lost_url": lost_url,
        "rate_target": rate_target, "single_store": single,
    }


def _reason_label(code: str) -> str:
    from aftercare.customers.choices import LossReason

    if not code:
        return str(_("No reason recorded"))
    return str(LossReason(code).label) if code in LossReason.values else code
