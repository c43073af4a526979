"""The renewal cards of the start page (`aftercare/org/start.py`), registered in `RenewalsConfig.ready()`.

The numbers come from `selectors.renewal_start_counts` (one aggregate query, and one for claim assistance) and
link to the renewal list with the filters that list exactly those cases (`selectors.renewal_case_narrow`: `due`
(`today`: to call today; `overdue`: the call's deadline passed), `unclaimed`, `mine` (free or held by the user),
`claims`).
"""

from django.utils.translation import gettext_lazy as _

from aftercare.org.choices import Role
from aftercare.org.glance import GlanceKpi, register_glance
from aftercare.org.permissions import Perm
from aftercare.org.start import CardData, CardRow, StartCard, register_card

from . import selectors
from .links import case_list_url


def my_renewals(*, user, store_ids, now) -> CardData:
    """The specialist's work: open cases (theirs or nobody's) to call today (overdue ones included) and those
    whose call is overdue, and the cases with open claim assistance."""
    n = selectors.renewal_start_counts(user=user, store_ids=store_ids, now=now)
    return CardData(
        rows=(
            CardRow(_("Renewal cases to call today"), n["today"], case_list_url(due="today", mine=1), "warning"),
            CardRow(_("Overdue renewal contacts"), n["overdue"], case_list_url(due="overdue", mine=1), "danger"),
            CardRow(_("Cases with open claim assistance"), n["claims"], case_list_url(claims="open"), "info"),
        )
    )


def unclaimed_renewals(*, user, store_ids, now) -> CardData:
    """The manager's watch: open cases nobody holds whose call is overdue / to call today."""
    n = selectors.renewal_start_counts(user=user, store_ids=store_ids, now=now, claims=False)
    return CardData(
        rows=(
            CardRow(_("Unclaimed cases, contact overdue"), n["unclaimed_overdue"],
                    case_list_url(due="overdue", unclaimed=1), "danger"),
            CardRow(_("Unclaimed cases to call today"), n["unclaimed_today"],
                    case_list_url(due="today", unclaimed=1), "warning"),
        )
    )


def register() -> None:
    # the key KPIs of the managers' "store at a glance" (org/glance.py), linked to the page of their rows
    register_glance(GlanceKpi(code="renewals.renewal_rate", url_name="renewals:measures", order=40))
    register_card(
        StartCard(
            key="renewals.my_renewals",
            title=_("My renewals"),
            data=my_renewals,
            order=15,
            permission=Perm.RENEWAL_WORK,
            roles=(Role.RENEWAL_SPECIALIST,),
        )
    )
    register_card(
        StartCard(
            key="renewals.unclaimed",
            title=_("Unclaimed renewal cases due"),
            data=unclaimed_renewals,
            order=35,
            permission=Perm.RENEWAL_MANAGE,
        )
    )
