"""The follow-up cards of the start page (`aftercare/org/start.py`), registered in `FollowupsConfig.ready()`.

Each number comes from `selectors.followup_queue_counts` (one aggregate over the queue) and links to the queue or
the manage page with the filter that lists exactly those tasks.
"""


from django.utils.translation import gettext_lazy as _

from aftercare.org.choices import Role
from aftercare.org.glance import GlanceKpi, register_glance
from aftercare.org.permissions import Perm
from aftercare.org.start import CardData, CardRow, StartCard, list_url, register_card

from . import selectors
from .choices import FollowupKind


def my_calls(*, user, store_ids, now) -> CardData:
    """The specialist's queue (unclaimed tasks and their own): due today, overdue, complaint verification calls."""
    n = selectors.followup_queue_counts(user=user, store_ids=store_ids, now=now)
    queue = "followups:queue"
    return CardData(
        rows=(
            CardRow(_("Calls due today"), n["today"], list_url(queue, due="today"), "warning"),
            CardRow(_("Overdue calls"), n["overdue"], list_url(queue, due="overdue"), "danger"),
            CardRow(
                _("Verification calls"),
                n["verification"],
                list_url(queue, kind=FollowupKind.COMPLAINT_VERIFICATION),
                "info",
            ),
            CardRow(_("All calls in my queue"), n["total"], list_url(queue)),
        )
    )


def store_calls(*, user, store_ids, now) -> CardData:
    """Everyone's queue of the stores (the manage page): overdue, unclaimed, due today."""
    n = selectors.followup_queue_counts(user=user, store_ids=store_ids, now=now)
    manage = "followups:manage"
    return CardData(
        rows=(
            CardRow(_("Overdue calls"), n["overdue"], list_url(manage, due="overdue"), "danger"),
            CardRow(_("Unclaimed tasks"), n["unclaimed"], list_url(manage, unclaimed=1), "warning"),
            CardRow(_("Calls due today"), n["today"], list_url(manage, due="today")),
        )
    )


def register() -> None:
    # the key KPIs of the managers' "store at a glance" (org/glance.py), linked to the page of their rows
    register_glance(GlanceKpi(code="followups.return_visit_rate", url_name="followups:manage", order=10))
    register_glance(GlanceKpi(code="followups.calls_made", url_name="followups:manage", order=11, today=True))
    register_card(
        StartCard(
            key="followups.my_calls",
            title=_("My calls"),
            data=my_calls,
            order=10,
            permission=Perm.FOLLOWUP_CALL,
            roles=(Role.CS_SPECIALIST,),
        )
    )
    register_card(
        StartCard(
            key="followups.store_calls",
            title=_("The stores' calls"),
            data=store_calls,
            order=30,
            permission=Perm.FOLLOWUP_MANAGE,
        )
    )
