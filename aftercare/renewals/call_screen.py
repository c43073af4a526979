"""What renewals adds to the follow-up call screen (`aftercare.followups.registry`, registered in
`RenewalsConfig.ready()`): on a renewal contact's call, the case's summary and a link to the case's page, where
the contact (quote, gift, next step) and the outcome are recorded."""

from aftercare.followups.choices import FollowupKind
from aftercare.followups.registry import CallPanel, call_panel_register

from . import selectors
from .links import case_url


def renewal_call_context(*, user, task) -> dict | None:
    if task.kind != FollowupKind.RENEWAL:
        return None
    case = selectors.renewal_case_for_task(user=user, task=task)
    if case is None:
        return None
    return {"case": case, "contacts": case.contact_rows, "case_url": case_url(case.pk)}


def register() -> None:
    call_panel_register(
        CallPanel(name="renewals.case", template="renewals/_call_case.html", context=renewal_call_context)
    )
