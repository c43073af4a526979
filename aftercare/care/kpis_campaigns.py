"""The campaign measures of the KPI catalogue (`aftercare/org/kpis.py`), registered in `CareConfig.ready()`.
Definitions: docs/kpis.md. A campaign counts in the month its event starts; per store (the targets' store)."""

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date
from aftercare.org.kpis import Direction, KpiValue, Level, Measure, Period, Unit, list_drill, rate
from aftercare.org.kpis import register as kpi_register

from . import selectors

CODES = {"reach": "care.campaign_reach_rate", "come": "care.campaign_come_rate"}


def campaign_store_figures(*, user, store_ids, since: dt.date, until: dt.date) -> dict[int, dict[str, int]]:
    """{store: {targeted, reached, came}} over the launched campaigns whose event starts in `[since, until)`;
    one query per campaign."""
    totals: dict[int, dict[str, int]] = defaultdict(lambda: {"targeted": 0, "reached": 0, "came": 0})
    for c in selectors.campaigns_starting(user=user, store_ids=store_ids, since=since, until=until):
        rows = (selectors.campaign_targets(user=user, campaign=c).filter(store_id__in=store_ids).order_by()
                .values("store_id").annotate(targeted=Count("pk"), reached=Count("pk", filter=Q(reached=True)),
                                             came=Count("pk", filter=Q(came=True))))
        for r in rows:
            for k in ("targeted", "reached", "came"):
                totals[r["store_id"]][k] += r[k]
    return dict(totals)


def _compute(key: str):
    def compute(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
        figures = campaign_store_figures(user=user, store_ids=store_ids, since=period_start, until=period_end)
        running = business_date() < period_end
        out = []
        for store_id, f in sorted(figures.items()):
            num, den = f[key], f["targeted"]
            out.append(KpiValue(store_id, period_start, period_end, rate(num, den), num, den, provisional=running))
        return out

    return compute


def _drill(numerator: str):
    """The targets behind a store's figure (`care:campaign_measure_rows`, `selectors.campaign_measure_targets`)."""
    return list_drill("care:campaign_measure_rows", {"counted": numerator}, {"counted": "targeted"})


_COMMON = {"app": "care", "unit": Unit.PERCENT, "direction": Direction.HIGHER, "levels": (Level.STORE,),
           "periods": (Period.MONTH, Period.QUARTER, Period.YEAR)}

REACH = Measure(
    code=CODES["reach"], name=_("Campaign reach rate"),
    definition=_("Share of the customers a campaign targeted whom an invitation call reached, by the month the "
                 "event starts."),
    numerator=_("targeted customers reached by a call"), denominator=_("customers targeted by launched campaigns"),
    compute=_compute("reached"), drill=_drill("reached"), **_COMMON,
)
COME = Measure(
    code=CODES["come"], name=_("Campaign come rate"),
    definition=_("Share of the customers a campaign targeted who came (a counted repair order in the event's "
                 "window), by the month the event starts."),
    numerator=_("targeted customers with a counted repair order in the window"),
    denominator=_("customers targeted by launched campaigns"), compute=_compute("came"), drill=_drill("came"),
    **_COMMON,
)


def register() -> None:
    kpi_register(REACH)
    kpi_register(COME)
