"""The feedback cards of the start page (`aftercare/org/start.py`), registered in `ComplaintsConfig.ready()`.

The designee's card counts `selectors.feedback_inbox` and links to the inbox by deadline; the CS manager's card
counts `selectors.feedback_list` and links to the feedback list with the filter that lists exactly those forms.
"""


from django.utils.translation import gettext_lazy as _

from aftercare.org.choices import Role
from aftercare.org.glance import GlanceKpi, register_glance
from aftercare.org.permissions import Perm
from aftercare.org.start import CardData, CardRow, StartCard, list_url, register_card

from . import selectors
from .choices import FeedbackStatus


def my_forms(*, user, store_ids, now) -> CardData:
    """The forms the user must act on (the inbox, which is the user's own whatever store is chosen)."""
    n = selectors.feedback_inbox_counts(user=user, now=now)
    inbox = "complaints:inbox"
    return CardData(
        rows=(
            CardRow(_("Overdue forms"), n["overdue"], list_url(inbox, due="overdue"), "danger"),
            CardRow(_("Forms due today"), n["today"], list_url(inbox, due="today"), "warning"),
            CardRow(_("Forms due soon, after today"), n["soon"], list_url(inbox, due="soon"), "info"),
            CardRow(_("All my open forms"), n["total"], list_url(inbox)),
        )
    )


def store_forms(*, user, store_ids, now) -> CardData:
    """The stores' forms the CS manager watches: overdue with the department, not yet routed, escalated."""
    n = selectors.feedback_store_counts(user=user, store_ids=store_ids, now=now)
    listing = "complaints:list"
    return CardData(
        rows=(
            CardRow(_("Overdue forms"), n["overdue"], list_url(listing, overdue=1), "danger"),
            CardRow(_("Forms not yet routed"), n["to_route"], list_url(listing, status=FeedbackStatus.NEW), "warning"),
            CardRow(_("Escalated forms"), n["escalated"], list_url(listing, escalated=1), "danger"),
        )
    )


def register() -> None:
    # the key KPIs of the managers' "store at a glance" (org/glance.py), linked to the page of their rows
    register_glance(GlanceKpi(code="complaints.timeliness", url_name="complaints:measures", order=20))
    register_card(
        StartCard(
            key="complaints.my_forms",
            title=_("My feedback forms"),
            data=my_forms,
            order=20,
            permission=Perm.FEEDBACK_HANDLE,
        )
    )
    register_card(
        StartCard(
            key="complaints.store_forms",
            title=_("The stores' feedback forms"),
            data=store_forms,
            order=40,
            permission=Perm.FEEDBACK_VIEW,
            roles=(Role.CS_MANAGER, Role.STORE_MANAGER, Role.GROUP_ADMIN),
        )
    )
