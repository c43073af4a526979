"""What the complaints app adds to the follow-up screens (registered in `ComplaintsConfig.ready()` into
`aftercare.followups.registry`): the feedback box's choices, the verification card, the measures link."""

from aftercare.followups.choices import FollowupKind
from aftercare.followups.registry import (
    CallPanel,
    FeedbackOptions,
    call_panel_register,
    feedback_options_register,
    manage_link_register,
)

from . import selectors
from .choices import FeedbackCategory, FeedbackKind


def _verification_context(*, user, task) -> dict | None:
    """The complaint a verification call is about, with the verify form (the card posts to complaints:verify)."""
    from .forms import VerifyForm

    if task.kind != FollowupKind.COMPLAINT_VERIFICATION:
        return None
    complaint = selectors.feedback_for_verification_task(user=user, task=task)
    if complaint is None:
        return None
    return {"complaint": complaint, "verify_form": VerifyForm(auto_id="verify_%s")}


def register() -> None:
    feedback_options_register(
        FeedbackOptions(
            kinds=lambda: FeedbackKind.choices,
            categories=lambda: FeedbackCategory.choices,
            departments=selectors.department_list,
            complaint_kind=FeedbackKind.COMPLAINT,
        )
    )
    call_panel_register(
        CallPanel(
            name="complaints.verification",
            template="complaints/_call_verification.html",
            context=_verification_context,
        )
    )
    manage_link_register("complaints.measures", "complaints/_manage_measures_link.html")
