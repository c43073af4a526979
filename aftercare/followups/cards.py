"""The follow-up cards of the start page (`aftercare/org/start.py`), registered in `FollowupsConfig.ready()`.

Each number comes from `selectors.followup_queue_counts` (one aggregate over the queue) and links to the queue or
the manage page with the filter that lists exactly those tasks.
"""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftercare.org.choices import Role
from aftercare.org.permissions import Perm
from aftercare.org.start import CardData, CardRow, StartCard, register_card

from . import selectors
from .choices import FollowupKind


def _url(name: str, **params) -> str:
    return reverse(name) + (f"?{urlencode(params)}" if params else "")


def my_calls(*, user, store_ids, now) -> CardData:
    """The specialist's queue (unclaimed tasks and their own): due today, overdue, complaint verification calls."""
    n = selectors.followup_queue_counts(user=user, store_ids=store_ids, now=now)
    queue = "followups:queue"
    return CardData(
        rows=(
            CardRow(_("Calls due today"), n["today"], _url(queue, due="today"), "warning"),
            CardRow(_("Overdue calls"), n["overdue"], _url(queue, due="overdue"), "danger"),
            CardRow(
                _("Verification calls"),
                n["verification"],
                _url(queue, kind=FollowupKind.COMPLAINT_VERIFICATION),
                "info",
            ),
            CardRow(_("All calls in my queue"), n["total"], _url(queue)),
        )
    )


def store_calls(*, user, store_ids, now) -> CardData:
    """Everyone's queue of the stores (the manage page): overdue, unclaimed, due today."""
    n = selectors.followup_queue_counts(user=user, store_ids=store_ids, now=now)
    manage = "followups:manage"
    return CardData(
        rows=(
            CardRow(_("Overdue calls"), n["overdue"], _url(manage, due="overdue"), "danger"),
            CardRow(_("Unclaimed tasks"), n["unclaimed"], _url(manage, unclaimed=1), "warning"),
            CardRow(_("Calls due today"), n["today"], _url(manage, due="today")),
        )
    )


def register() -> None:
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
