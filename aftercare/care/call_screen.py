"""What care adds to the follow-up call screen (`aftercare.followups.registry`, registered in `CareConfig.ready()`):
on a campaign invitation's call, the campaign and the outcome form (accepted, declined with a reason, SMS)."""

from aftercare.followups.choices import FollowupKind
from aftercare.followups.registry import CallPanel, call_panel_register

# ---- campaigns: the campaign card ----
from . import selectors
from .choices import CALL_OUTCOMES, CampaignChannel
from .forms import CampaignOutcomeForm


def campaign_call_context(*, user, task) -> dict | None:
    if task.kind != FollowupKind.CAMPAIGN:
        return None
    target = selectors.campaign_target_for_task(user=user, task=task)
    if target is None:
        return None
    initial = {"outcome": target.state if target.state in CALL_OUTCOMES else None,
               "decline_reason": target.decline_reason, "letter_needed": target.letter_needed}
    return {"target": target, "form": CampaignOutcomeForm(initial=initial),
            "sms": CampaignChannel.SMS in target.campaign.channels}


def register_campaigns() -> None:
    call_panel_register(CallPanel(name="care.campaign", template="care/campaigns/_call_panel.html",
                                  context=campaign_call_context))


def recall_call_context(*, user, task) -> dict | None:
    if task.kind != FollowupKind.RECALL:
        return None
    recall_vehicle = selectors.recall_vehicle_for_task(user=user, task=task)
    if recall_vehicle is None:
        return None
    return {"recall_vehicle": recall_vehicle}


def register_recalls() -> None:
    call_panel_register(CallPanel(name="care.recall", template="care/campaigns/_call_recall.html",
                                  context=recall_call_context))
