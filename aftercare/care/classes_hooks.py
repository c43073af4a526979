"""What the classes part adds to the lower apps' screens, registered in `CareConfig.ready()` (its block): the
customer-360 panel (`customers/panels.py`), the CS manager's start-page card (`org/start.py`), the call-screen
card for a lost or at-risk customer (`followups/registry.py`) and the measures `care.churn_rate` and
`care.loyal_share` of the KPI catalogue (`org/kpis.py`; definitions: docs/kpis.md, "Customer care")."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftercare.customers.panels import CustomerPanel, register_panel
from aftercare.followups.registry import CallPanel, call_panel_register
from aftercare.org.calendar import business_date, month_add
from aftercare.org.choices import Role
from aftercare.org.kpis import Direction, KpiValue, Level, Measure, Period, Unit, list_drill, rate
from aftercare.org.kpis import register as register_measure
from aftercare.org.permissions import Perm, has_perm
from aftercare.org.start import CardData, CardRow, StartCard, list_url, register_card

from . import selectors
from .choices import CustomerClass
from .forms import ChurnReasonForm
from .models import CareProfile, churn_risk_of

AT_RISK = 0.5  # a churn-risk score from which the call screen offers to record a churn reason


# ---- customer-360 panel ---------------------------------------------------------------------------------------


def class_panel_context(*, user, customer) -> dict | None:
    got = selectors.customer_class_get(user=user, customer=customer)
    if got is None:
        return None
    return {**got, "form": ChurnReasonForm(), "action": reverse("care:churn_reason_add", args=[customer.pk])}


# ---- call screen --------------------------------------------------------------------------------------------


def class_call_context(*, user, task) -> dict | None:
    """On any call of a lost or at-risk customer: the class, why lost, and the churn-reason form."""
    if not (has_perm(user, Perm.CARE_WORK) or has_perm(user, Perm.CARE_MANAGE)):
        return None
    prof = CareProfile.objects.filter(customer_id=task.customer_id).annotate(churn_risk=churn_risk_of()).first()
    if prof is None or not (prof.customer_class == CustomerClass.LOST
                            or (prof.churn_risk is not None and prof.churn_risk >= AT_RISK)):
        return None
    return {"profile": prof, "form": ChurnReasonForm(), "task_id": task.pk,
            "action": reverse("care:churn_reason_add", args=[task.customer_id]),
            "next": reverse("followups:call", args=[task.pk])}


# ---- start-page card ----------------------------------------------------------------------------------------


def lost_card(*, user, store_ids, now) -> CardData:
    first = business_date(now).replace(day=1)
    n_new = selectors.newly_lost_count(user=user, store_ids=store_ids, since=first)
    n_all = selectors.class_counts(user=user, store_ids=store_ids)[CustomerClass.LOST]
    return CardData(rows=(
        CardRow(_("Became lost this month"), n_new, list_url("care:classes"), "warning"),
        CardRow(_("Lost customers to win back"), n_all, list_url("care:winback")),
    ))


# ---- KPI measures -------------------------------------------------------------------------------------------


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, m = [], start.replace(day=1)
    while m < end:
        out.append(m)
        m = month_add(m, 1)
    return out


def _measure(num_key: str, den_key: str):
    def compute(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
        ids = selectors.care_store_ids(user, store_ids, perms=selectors.MANAGERS)
        totals: dict = defaultdict(lambda: [0, 0])
        months = _months(period_start, period_end)
        per_month = selectors.class_flows_by_store_months(store_ids=ids, first=period_start,
                                                          count=len(months)) if months else []
        for per_store in per_month:  # one query for all the months
            for sid, cell in per_store.items():
                totals[sid][0] += cell[num_key]
                totals[sid][1] += cell[den_key]
        running = bool(months) and month_add(months[-1], 1) > business_date()
        out = []
        for sid in sorted(ids):
            num, den = totals[sid]
            value = rate(num, den)
            out.append(KpiValue(sid, period_start, period_end, value, num, den, running))
        return out

    return compute


def _drill(numerator: tuple[str, str], denominator: tuple[str, str]):
    """The customers behind a store-month's figure (`care:class_flow`, from → to; `selectors.class_flow_customers`);
    the list shows one month."""
    (c0, c1), (d0, d1) = numerator, denominator
    return list_drill("care:class_flow", {"from": c0, "to": c1}, {"from": d0, "to": d1}, one_month=True)


CHURN_RATE = Measure(
    code="care.churn_rate", app="care", name=_("Churn rate"),
    definition=_("Share of the base customers (loyal, regular or new at the start of the month) who were lost at "
                 "its end, by the daily classification."),
    numerator=_("base customers at the month's start whose class at its end is lost"),
    denominator=_("customers classed loyal, regular or new at the month's start"),
    unit=Unit.PERCENT, direction=Direction.LOWER, levels=(Level.STORE,), periods=(Period.MONTH,),
    default_target=Decimal("2.5"), compute=_measure("churned", "base"),
    drill=_drill((selectors.BASE, CustomerClass.LOST), (selectors.BASE, "")),
)
LOYAL_SHARE = Measure(
    code="care.loyal_share", app="care", name=_("Loyal share"),
    definition=_("Share of the customers classed loyal among those classed loyal, regular or new at the month's "
                 "end."),
    numerator=_("customers classed loyal at the month's end"),
    denominator=_("customers classed loyal, regular or new at the month's end"),
    unit=Unit.PERCENT, direction=Direction.HIGHER, levels=(Level.STORE,), periods=(Period.MONTH,),
    default_target=Decimal("40"), compute=_measure("loyal", "end_base"),
    drill=_drill(("", CustomerClass.LOYAL), ("", selectors.BASE)),
)


def register() -> None:
    register_panel(CustomerPanel(
        key="care.class", title=_("Customer class"), template="care/classes/_customer_panel.html",
        context=class_panel_context, order=40, permission=(Perm.CARE_WORK, Perm.CARE_MANAGE),
    ))
    call_panel_register(CallPanel(name="care.class", template="care/classes/_call_panel.html",
                                  context=class_call_context))
    register_card(StartCard(
        key="care.lost", title=_("Lost customers"), data=lost_card, order=60, permission=Perm.CARE_MANAGE,
        roles=(Role.CS_MANAGER, Role.STORE_MANAGER, Role.GROUP_ADMIN),
    ))
    register_measure(CHURN_RATE)
    register_measure(LOYAL_SHARE)
