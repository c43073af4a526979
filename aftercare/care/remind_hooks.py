"""What the reminders part of care adds to the lower apps' registries, registered in `CareConfig.ready()`: the start
page's card "reminders due today" (`aftercare/org/start.py`), the customer-360 panel of projected due dates
(`aftercare/customers/panels.py`) and the measure `care.reminder_success_rate` (`aftercare/org/kpis.py`;
definition in docs/kpis.md and docs/care.md, "Reminders")."""

import datetime as dt
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date
from aftercare.org.choices import Role
from aftercare.org.kpis import Direction, KpiValue, Level, Measure, Period, list_drill, rate
from aftercare.org.kpis import register as register_measure
from aftercare.org.permissions import Perm
from aftercare.org.start import CardData, CardRow, StartCard, register_card

from . import selectors


def reminders_url(**params) -> str:
    return reverse("care:reminders") + (f"?{urlencode(params)}" if params else "")


def reminders_due_card(*, user, store_ids, now) -> CardData:
    n = selectors.reminder_counts(user=user, store_ids=store_ids, today=business_date(now))
    return CardData(rows=(
        CardRow(_("Reminders due today"), n["today"], reminders_url(due="today"), "warning"),
        CardRow(_("Overdue reminders"), n["overdue"], reminders_url(due="overdue"), "danger"),
    ))


def vehicle_dues_context(*, user, customer) -> dict | None:
    from .services.remind import vehicle_projections

    rows = vehicle_projections(user=user, customer=customer)
    return {"rows": rows} if rows is not None else None


def success_rate(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
    """Per store: reminders made in the period that reached the customer and worked / those made."""
    counts = selectors.reminder_success_counts(
        store_ids=selectors.care_store_ids(user, store_ids), since=period_start, until=period_end)
    running = business_date() < period_end
    out = []
    for store_id, n in sorted(counts.items()):
        value = rate(n["worked"], n["contacted"])
        out.append(KpiValue(store_id, period_start, period_end, value, n["worked"], n["contacted"],
                            provisional=running))
    return out


REMINDER_SUCCESS_RATE = Measure(
    code="care.reminder_success_rate",
    app="care",
    name=_("Reminder success rate"),
    definition=_(
        "Share of the care reminders made in the period (a call task made or an SMS sent) after which the customer "
        "came (a counted repair order of the vehicle) or booked, from the day the reminder was made to the end of "
        "its rule's came window."
    ),
    numerator=_("reminders after which the customer came or booked"),
    denominator=_("reminders made in the period that reached the customer"),
    direction=Direction.HIGHER,
    levels=(Level.STORE,),
    periods=(Period.MONTH,),
    compute=success_rate,
    # the reminders behind a store's figure (`selectors.reminder_outcomes` decides which worked)
    drill=list_drill("care:reminder_success_rows", {"counted": "worked"}, {"counted": "contacted"}),
)


def register() -> None:
    from aftercare.customers.panels import CustomerPanel, register_panel

    register_card(StartCard(key="care.reminders_due", title=_("Care reminders"), data=reminders_due_card, order=18,
                            permission=Perm.CARE_WORK, roles=(Role.CS_SPECIALIST, Role.CS_MANAGER)))
    register_panel(CustomerPanel(key="care.vehicle_dues", title=_("Projected service dates"),
                                 template="care/remind/_customer_panel.html", context=vehicle_dues_context, order=40,
                                 permission=(Perm.CARE_WORK, Perm.CARE_MANAGE)))
    register_measure(REMINDER_SUCCESS_RATE)
