"""The org app's own start-page card: a warning to the group admin when the coming months' statutory holidays are
not known (`calendar.statutory_years_unknown`): bookings, reminders and deadlines would treat the Spring Festival as
working days until the group enters them as work-calendar overrides."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .calendar import business_date, statutory_years_unknown
from .choices import Role
from .start import CardData, CardRow, StartCard, register_card


def work_calendar(*, user, store_ids, now) -> CardData:
    years = statutory_years_unknown(business_date(now))
    if not years:
        return CardData(rows=())
    label = ngettext(
        "Year without its statutory holidays (%(years)s): enter them as work-calendar overrides",
        "Years without their statutory holidays (%(years)s): enter them as work-calendar overrides",
        len(years),
    ) % {"years": ", ".join(str(y) for y in years)}
    url = reverse("admin:org_workcalendarday_changelist")
    return CardData(rows=(CardRow(label=label, count=len(years), url=url, severity="warning"),))


def register() -> None:
    register_card(StartCard(key="org.work_calendar", title=_("Work calendar"), order=5, roles=(Role.GROUP_ADMIN,),
                            data=work_calendar))
