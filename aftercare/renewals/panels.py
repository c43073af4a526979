"""The customer-360 panel of renewals (`aftercare/customers/panels.py`), registered in `RenewalsConfig.ready()`: the
customer's renewal cases (expiry, segment, state, contacts made) and open claim assistance, each linked to its
case's page."""

from django.utils.translation import gettext_lazy as _

from aftercare.customers.panels import PANEL_ROWS, CustomerPanel, register_panel
from aftercare.org.permissions import Perm

from . import selectors
from .links import case_url


def renewals_context(*, user, customer) -> dict:
    cases = selectors.renewal_customer_cases(user=user, customer=customer, limit=PANEL_ROWS + 1)
    claims = selectors.claim_assist_customer_open(user=user, customer=customer, limit=PANEL_ROWS)
    for case in cases:
        case.url = case_url(case.pk)
    for item in claims:
        item.url = case_url(item.case_id) if item.case_id else ""
    return {"rows": cases[:PANEL_ROWS], "more": len(cases) > PANEL_ROWS, "claims": claims}


def register() -> None:
    register_panel(
        CustomerPanel(
            key="renewals.cases",
            title=_("Insurance renewals"),
            template="renewals/_customer_panel.html",
            context=renewals_context,
            order=30,
            permission=Perm.RENEWAL_WORK,
        )
    )
