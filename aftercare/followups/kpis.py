"""The follow-up measures of the KPI catalogue (`aftercare/org/kpis.py`), registered in `FollowupsConfig.ready()`.

Definitions: docs/kpis.md ("Return-visit rate (回访率)", specialist workload). Each compute hook calls the
selector that already computes the measure (`selectors.return_visit_rate`, `selectors.specialist_workload`).
"""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date, month_add
from aftercare.org.kpis import Direction, KpiValue, Level, Measure, Period, Unit, list_drill, register
from aftercare.org.selectors import ResolvedTarget, kpi_judge, kpi_targets_resolved, month_is_running

from . import selectors

RETURN_VISIT_TARGET = Decimal(95)  # docs/kpis.md: "Target: ≥ 95 %"


def _rate(numerator: int, denominator: int) -> Decimal | None:
    return (Decimal(numerator) * 100 / denominator).quantize(Decimal("0.1")) if denominator else None


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    month, out = start.replace(day=1), []
    while month < end:
        out.append(month)
        month = month_add(month, 1)
    return out


def return_visit_values(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
    """Per store: tasks closed in time / tasks due over the months of `[period_start, period_end)` (the rate is
    monthly by its definition, so a quarter or year sums its months). Provisional while the period runs."""
    totals: dict = defaultdict(lambda: [0, 0])
    for month in _months(period_start, period_end):
        for row in selectors.return_visit_rate(user=user, store_ids=store_ids, month=month, by="store"):
            totals[row["store"]][0] += row["in_time"]
            totals[row["store"]][1] += row["due"]
    running = business_date() < period_end
    return [
        KpiValue(store_id, period_start, period_end, _rate(num, den), num, den, provisional=running)
        for store_id, (num, den) in sorted(totals.items())
    ]


def _workload(key: str):
    def compute(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
        totals: dict = defaultdict(lambda: {"calls": 0, "reached": 0, "closed": 0, "in_time": 0, "late": 0})
        rows = selectors.specialist_workload(
            user=user, store_ids=store_ids, since=period_start, until=period_end, period="month"
        )
        for row in rows:
            for name in ("calls", "reached", "closed", "in_time", "late"):
                totals[row["user_id"]][name] += row[name]
        running = business_date() < period_end
        out = []
        for user_id, t in sorted(totals.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
            if key in ("calls", "closed"):
                value, num, den = t[key], None, None
            elif key == "reach":
                value, num, den = _rate(t["reached"], t["calls"]), t["reached"], t["calls"]
            else:
                rated = t["in_time"] + t["late"]
                value, num, den = _rate(t["in_time"], rated), t["in_time"], rated
            out.append(KpiValue(None, period_start, period_end, value, num, den, running, user_id))
        return out

    return compute


def _drill(route: str, numerator: dict | None, denominator: dict):
    """A measure's drill-down to the follow-up list `route` (`measure_tasks`, `measure_sheets`,
    `measure_deliveries`) with the numerator's and the denominator's filters (None: no numerator list)."""
    return list_drill(f"followups:{route}", numerator, denominator)


RETURN_VISIT_RATE = Measure(
    code="followups.return_visit_rate",
    app="followups",
    name=_("Return-visit rate"),
    definition=_(
        "Share of the follow-up calls due in the month that were closed before their deadline; unreachable and "
        "refused tasks count as the store's settings say."
    ),
    numerator=_("tasks closed before their deadline"),
    denominator=_("tasks due in the month (deadline passed or closed), without cancelled and no-consent tasks"),
    unit=Unit.PERCENT,
    direction=Direction.HIGHER,
    levels=(Level.STORE,),
    periods=(Period.MONTH, Period.QUARTER, Period.YEAR),
    default_target=RETURN_VISIT_TARGET,
    compute=return_visit_values,
    drill=_drill("measure_tasks", {"counted": "in_time"}, {"counted": "due"}),
)
CALLS_MADE = Measure(
    code="followups.calls_made",
    app="followups",
    name=_("Calls made"),
    definition=_("Outbound follow-up calls a specialist made (every attempt counts)."),
    numerator=_("outbound calls"),
    denominator="—",
    unit=Unit.COUNT,
    direction=Direction.HIGHER,
    levels=(Level.STAFF,),
    periods=(Period.DAY, Period.MONTH),
    compute=_workload("calls"),
)
TASKS_CLOSED = Measure(
    code="followups.tasks_closed",
    app="followups",
    name=_("Tasks closed"),
    definition=_("Follow-up tasks a specialist closed in the period, whatever the outcome."),
    numerator=_("tasks closed by the specialist"),
    denominator="—",
    unit=Unit.COUNT,
    direction=Direction.HIGHER,
    levels=(Level.STAFF,),
    periods=(Period.DAY, Period.MONTH),
    compute=_workload("closed"),
)
REACH_RATE = Measure(
    code="followups.reach_rate",
    app="followups",
    name=_("Reach rate"),
    definition=_("Share of a specialist's outbound calls that reached the customer."),
    numerator=_("calls completed, refused or with a call back agreed"),
    denominator=_("outbound calls"),
    unit=Unit.PERCENT,
    direction=Direction.HIGHER,
    levels=(Level.STAFF,),
    periods=(Period.DAY, Period.MONTH),
    compute=_workload("reach"),
)
ON_TIME_RATE = Measure(
    code="followups.on_time_rate",
    app="followups",
    name=_("On-time rate"),
    definition=_(
        "Share of a specialist's tasks closed before their deadline. A task taken over already overdue is late for "
        "whoever held it when it fell due, not for the one who closes it."
    ),
    numerator=_("tasks closed before their deadline"),
    denominator=_("tasks closed in time plus tasks that fell due while the specialist held them"),
    unit=Unit.PERCENT,
    direction=Direction.HIGHER,
    levels=(Level.STAFF,),
    periods=(Period.DAY, Period.MONTH),
    compute=_workload("on_time"),
)


# ---- satisfaction, SSI / CSI and the sales hand-over (docs/kpis.md "Satisfaction and the sales hand-over") -------

SATISFACTION_TARGET = Decimal(98)  # docs/kpis.md, domain: satisfaction rate ≥ 98 %
HANDOVER_LAG_TARGET = Decimal(4)  # hours: the SSI call is due 24 h after the delivery; the data must be here first
HANDOVER_ERROR_TARGET = Decimal(2)  # % of the deliveries


def _score(total, count: int) -> Decimal | None:
    return (Decimal(total) / count).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if count else None


def _survey(key: str):
    def compute(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
        """Per store, the answer sheets answered in `[period_start, period_end)`; provisional while it runs."""
        running = business_date() < period_end
        figures = selectors.survey_results_by_store(
            user=user, store_ids=store_ids, since=period_start, until=period_end,
            kind=None if key == "satisfaction" else key,
        )
        out = []
        for store_id, r in sorted(figures.items()):
            if key == "satisfaction":
                value, num = _rate(r["satisfied"], r["sheets"]), r["satisfied"]
            else:
                value, num = _score(r["score_sum"], r["sheets"]), None
            out.append(KpiValue(store_id, period_start, period_end, value, num, r["sheets"], provisional=running))
        return out

    return compute


def _handover(key: str, by: str):
    def compute(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
        """Per store (or per store and sales consultant), the deliveries of `[period_start, period_end)`."""
        running = business_date() < period_end
        out = []
        for r in selectors.sales_handover_by_consultant(
            user=user, store_ids=store_ids, since=period_start, until=period_end, by=by, figure=key
        ):
            if key == "lag":
                value = (Decimal(r["lag"]) / 3600 / r["deliveries"]).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
                num = None
            else:
                value, num = _rate(r["errors"], r["deliveries"]), r["errors"]
            out.append(KpiValue(r["store_id"], period_start, period_end, value, num, r["deliveries"],
                                provisional=running, user_id=r["user_id"] if by == "consultant" else None,
                                label=r["label"] if by == "consultant" else ""))
        return out

    return compute


_STORE_MONTHS = {"levels": (Level.STORE,), "periods": (Period.MONTH, Period.QUARTER, Period.YEAR)}
_CONSULTANT_MONTHS = {"levels": (Level.STAFF,), "periods": (Period.MONTH, Period.QUARTER, Period.YEAR)}

SATISFACTION_RATE = Measure(
    code="followups.satisfaction_rate",
    app="followups",
    name=_("Satisfaction rate"),
    definition=_(
        "Share of the questionnaires answered in the period (SSI, CSI and other surveys) that were not marked "
        "dissatisfied."
    ),
    numerator=_("answer sheets not marked dissatisfied"),
    denominator=_("answer sheets answered in the period"),
    unit=Unit.PERCENT,
    direction=Direction.HIGHER,
    default_target=SATISFACTION_TARGET,
    compute=_survey("satisfaction"),
    drill=_drill("measure_sheets", {"counted": "satisfied"}, {"counted": "answered"}),
    **_STORE_MONTHS,
)
SSI_SCORE = Measure(
    code="followups.ssi_score",
    app="followups",
    name=_("SSI score (our survey)"),
    definition=_(
        "Average 1000-point score of the new-car (SSI) answer sheets answered in the period by customer service; "
        "the carmaker's own figures are imported on the SSI comparison page."
    ),
    numerator=_("sum of the 1000-point scores of the SSI sheets"),
    denominator=_("SSI answer sheets with a score answered in the period"),
    unit=Unit.SCORE,
    direction=Direction.HIGHER,
    compute=_survey("ssi"),
    drill=_drill("measure_sheets", None, {"kind": "ssi"}),
    **_STORE_MONTHS,
)
CSI_SCORE = Measure(
    code="followups.csi_score",
    app="followups",
    name=_("CSI score (our survey)"),
    definition=_(
        "Average 1000-point score of the after-sales (CSI) answer sheets answered in the period by customer service."
    ),
    numerator=_("sum of the 1000-point scores of the CSI sheets"),
    denominator=_("CSI answer sheets with a score answered in the period"),
    unit=Unit.SCORE,
    direction=Direction.HIGHER,
    compute=_survey("csi"),
    drill=_drill("measure_sheets", None, {"kind": "csi"}),
    **_STORE_MONTHS,
)
_LAG_DEFINITION = _(
    "Mean hours from a new car's delivery to the moment its delivery record reached aftercare (entered or "
    "imported; never below 0), deliveries made in the period. The SSI call is due 24 hours after the delivery, "
    "so every hour here is an hour less for the call."
)
HANDOVER_LAG = Measure(
    code="followups.handover_lag",
    app="followups",
    name=_("Sales hand-over lag (hours)"),
    definition=_LAG_DEFINITION,
    numerator=_("hours from delivery to the record in aftercare, summed"),
    denominator=_("deliveries made in the period"),
    unit=Unit.HOURS,
    direction=Direction.LOWER,
    default_target=HANDOVER_LAG_TARGET,
    compute=_handover("lag", "store"),
    drill=_drill("measure_deliveries", None, {"counted": "delivered"}),
    **_STORE_MONTHS,
)
HANDOVER_LAG_BY_CONSULTANT = Measure(
    code="followups.handover_lag_by_consultant",
    app="followups",
    name=_("Sales hand-over lag per sales consultant (hours)"),
    definition=_LAG_DEFINITION,
    numerator=_("hours from delivery to the record in aftercare, summed"),
    denominator=_("the sales consultant's deliveries made in the period"),
    unit=Unit.HOURS,
    direction=Direction.LOWER,
    compute=_handover("lag", "consultant"),
    **_CONSULTANT_MONTHS,
)
_ERROR_DEFINITION = _(
    "Share of the deliveries made in the period handed over with a data error: the customer file has no mobile "
    "or no address, or a call of the delivery's SSI follow-up found the number wrong."
)
HANDOVER_ERROR_RATE = Measure(
    code="followups.handover_error_rate",
    app="followups",
    name=_("Sales hand-over data errors"),
    definition=_ERROR_DEFINITION,
    numerator=_("deliveries with a data error"),
    denominator=_("deliveries made in the period"),
    unit=Unit.PERCENT,
    direction=Direction.LOWER,
    default_target=HANDOVER_ERROR_TARGET,
    compute=_handover("errors", "store"),
    drill=_drill("measure_deliveries", {"counted": "errors"}, {"counted": "delivered"}),
    **_STORE_MONTHS,
)
HANDOVER_ERROR_RATE_BY_CONSULTANT = Measure(
    code="followups.handover_error_rate_by_consultant",
    app="followups",
    name=_("Sales hand-over data errors per sales consultant"),
    definition=_ERROR_DEFINITION,
    numerator=_("the sales consultant's deliveries with a data error"),
    denominator=_("the sales consultant's deliveries made in the period"),
    unit=Unit.PERCENT,
    direction=Direction.LOWER,
    compute=_handover("errors", "consultant"),
    **_CONSULTANT_MONTHS,
)

MEASURES = (
    RETURN_VISIT_RATE,
    CALLS_MADE,
    TASKS_CLOSED,
    REACH_RATE,
    ON_TIME_RATE,
    SATISFACTION_RATE,
    SSI_SCORE,
    CSI_SCORE,
    HANDOVER_LAG,
    HANDOVER_LAG_BY_CONSULTANT,
    HANDOVER_ERROR_RATE,
    HANDOVER_ERROR_RATE_BY_CONSULTANT,
)


def register_measures() -> None:
    """Add the follow-up measures to the catalogue (`FollowupsConfig.ready()`)."""
    for measure in MEASURES:
        register(measure)


def return_visit_judged(*, user, store_ids, rows: list[dict], by: str, month: dt.date, trend: dict) -> dict:
    """The manage page's return-visit figures beside their targets (`org.selectors`, one query): each row of
    `rows` (`selectors.return_visit_rate`, grouped `by`) gets `judge` for `month`; per store, rows of the store get
    the store's target, rows by kind or specialist that of the one store in scope, else the measure's default.
    `trend` ({month: {store id: row}}) gets `judge` on each row. Returns {"measure": the catalogue entry,
    "chart_target": the value of the chart's target line (the one store's target for `month`, else the default)}."""
    measure = RETURN_VISIT_RATE
    months = sorted({month.replace(day=1), *trend})
    ids = sorted(store_ids)
    resolved = kpi_targets_resolved(user=user, store_ids=ids, measures=[measure], months=months)
    default = ResolvedTarget(measure.default_target, "default") if measure.default_target is not None else None
    today = business_date()

    def target_of(store_id, m):
        return resolved.get((store_id, measure.code, m.replace(day=1)), default)

    for row in rows:
        store_id = row[by] if by == "store" else (ids[0] if len(ids) == 1 else None)
        target = target_of(store_id, month) if store_id is not None else default
        row["judge"] = kpi_judge(measure, row["rate"], target, running=month_is_running(month, today))
    for m, by_store in trend.items():
        for store_id, row in by_store.items():
            row["judge"] = kpi_judge(measure, row["rate"], target_of(store_id, m), running=month_is_running(m, today))
    chart_target = target_of(ids[0], month) if len(ids) == 1 else default
    return {
        "measure": measure,
        "chart_target": float(chart_target.value) if chart_target is not None else None,
        "workload": {"reach": REACH_RATE, "on_time": ON_TIME_RATE, "calls": CALLS_MADE},
    }
