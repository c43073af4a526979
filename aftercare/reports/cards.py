"""The action register's start-page card (aftercare/org/start.py), registered in `ReportsConfig.ready()`: an owner's
open and overdue actions; for a manager (`kpi.set_target`) also the store's overdue ones and those awaiting
verification. Every number links to the register filtered to exactly those rows."""

from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date
from aftercare.org.permissions import has_perm
from aftercare.org.scoping import STORE_ACTIONS_MANAGE
from aftercare.org.start import CardData, CardRow, StartCard, list_url, register_card

from . import selectors

URL = "reports:actions"


def actions_card(*, user, store_ids, now) -> CardData:
    """No rows (no card) when the user has nothing in the register."""
    n = selectors.action_counts(user=user, store_ids=store_ids, today=business_date(now))
    rows = []
    if n["mine_open"]:
        rows.append(CardRow(_("My open actions"), n["mine_open"], list_url(URL, status="open", mine="on")))
        rows.append(CardRow(_("My overdue actions"), n["mine_overdue"],
                            list_url(URL, status="open", mine="on", overdue="on"), "danger"))
    if has_perm(user, STORE_ACTIONS_MANAGE) and n["active"]:
        rows.append(CardRow(_("Overdue actions"), n["overdue"], list_url(URL, status="open", overdue="on"), "danger"))
        rows.append(CardRow(_("Actions to verify"), n["to_verify"], list_url(URL, status="done"), "warning"))
    return CardData(rows=tuple(rows))


def register() -> None:
    register_card(StartCard(key="reports.actions", title=_("Rectification actions"), data=actions_card, order=60))
