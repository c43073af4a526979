"""The start-page cards of campaigns (`aftercare/org/start.py`), registered in `CareConfig.ready()`: a CS
specialist's campaign invitation calls of today's queue, and a manager's running campaigns with how many targets
were reached and came so far. Every number links to the rows it counts: the follow-up queue filtered to campaign
calls, or the campaign's targets behind the figure (docs/care.md, "Campaigns")."""

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftercare.followups.choices import FollowupKind
from aftercare.followups.selectors import followup_due_q, followup_queue
from aftercare.org.calendar import business_date
from aftercare.org.choices import Role
from aftercare.org.permissions import Perm
from aftercare.org.start import CardData, CardRow, StartCard, list_url, register_card

from . import selectors

RUNNING_SHOWN = 5  # running campaigns on the card, soonest event first


def campaign_calls_card(*, user, store_ids, now) -> CardData:
    """The campaign calls of the specialist's queue (unclaimed and their own, callable today): due today, and all."""
    qs = followup_queue(user=user, store_ids=store_ids, kind=FollowupKind.CAMPAIGN, now=now).order_by()
    n = qs.aggregate(today=Count("id", filter=followup_due_q("today", now)), total=Count("id"))
    queue = "followups:queue"
    return CardData(rows=(
        CardRow(_("Campaign calls due today"), n["today"], list_url(queue, kind=FollowupKind.CAMPAIGN, due="today"),
                "warning"),
        CardRow(_("Campaign calls in my queue"), n["total"], list_url(queue, kind=FollowupKind.CAMPAIGN)),
    ))


def running_campaigns_card(*, user, store_ids, now) -> CardData:
    """Each running campaign (launched, event not over) with its targets reached and come so far; no rows (no
    card) when none runs."""
    rows = []
    for campaign in selectors.campaigns_running(user=user, store_ids=store_ids, today=business_date(now))[
            :RUNNING_SHOWN]:
        results = selectors.campaign_results(user=user, campaign=campaign)
        url = reverse("care:campaign_detail", args=[campaign.pk])
        rows.append(CardRow(gettext("%(name)s: reached") % {"name": campaign.name}, results["reached"],
                            f"{url}?measure=reached"))
        rows.append(CardRow(gettext("%(name)s: came") % {"name": campaign.name}, results["came"],
                            f"{url}?measure=came", "info"))
    return CardData(rows=tuple(rows))


def register() -> None:
    register_card(StartCard(key="care.campaign_calls", title=_("Campaign calls"), data=campaign_calls_card,
                            order=19, permission=Perm.FOLLOWUP_CALL, roles=(Role.CS_SPECIALIST,)))
    register_card(StartCard(key="care.campaigns_running", title=_("Running campaigns"), data=running_campaigns_card,
                            order=19, permission=Perm.CARE_MANAGE))
