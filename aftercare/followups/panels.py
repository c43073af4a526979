"""The customer-360 panel of follow-ups (`aftercare/customers/panels.py`), registered in `FollowupsConfig.ready()`:
the customer's recent call tasks (state, outcome, attempts, questionnaire score) and the latest SSI / CSI totals."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftercare.customers.panels import PANEL_ROWS, CustomerPanel, register_panel
from aftercare.org.permissions import Perm, has_perm

from . import selectors
from .choices import QuestionnaireKind


def latest_scores(tasks) -> list[dict]:
    """The newest answered questionnaire's total (1000 points) per questionnaire kind (SSI, CSI, …) among `tasks`."""
    latest: dict[str, dict] = {}
    for task in tasks:
        sheet = getattr(task, "sheet", None)
        if sheet is None or sheet.score_total is None:
            continue
        kind = sheet.template.kind
        if kind not in latest or sheet.answered_at > latest[kind]["answered_at"]:
            label = QuestionnaireKind(kind).label if kind in QuestionnaireKind.values else kind
            latest[kind] = {"kind": kind, "label": label, "score": sheet.score_total, "answered_at": sheet.answered_at}
    return [latest[k] for k in QuestionnaireKind.values if k in latest]


def calls_context(*, user, customer) -> dict:
    """The newest PANEL_ROWS tasks (one query, with their answer sheets) and their latest SSI / CSI totals."""
    tasks = selectors.followup_customer_tasks(user=user, customer=customer, limit=PANEL_ROWS + 1)
    rows = tasks[:PANEL_ROWS]
    return {
        "rows": rows,
        "more": len(tasks) > PANEL_ROWS,
        "scores": latest_scores(rows),
        "can_call": has_perm(user, Perm.FOLLOWUP_CALL),
        "all_url": f"{reverse('followups:calls')}?customer={customer.pk}",
    }


def register() -> None:
    register_panel(
        CustomerPanel(
            key="followups.calls",
            title=_("Follow-up calls"),
            template="followups/_customer_panel.html",
            context=calls_context,
            order=10,
            permission=(Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE),
        )
    )
