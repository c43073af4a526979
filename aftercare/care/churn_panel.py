"""The customer-360 panel of the churn-risk score (`aftercare/customers/panels.py`), registered in
`CareConfig.ready()`: the risk as %, its band and its top 3 reasons, for anyone who may open the customer."""

from django.utils.translation import gettext_lazy as _

from aftercare.customers.panels import CustomerPanel, register_panel

from . import selectors
from .churnmodel import reason_labels, risk_band, risk_percent


def churn_context(*, user, customer) -> dict | None:
    score = selectors.churn_score_for(customer=customer)
    if score is None:
        return None
    return {
        "risk_percent": risk_percent(score.risk),
        "band": risk_band(score.risk),
        "reasons": reason_labels(score.reasons),
        "scored_on": score.scored_on,
    }


def register() -> None:
    register_panel(CustomerPanel(key="care.churn", title=_("Churn risk"), template="care/churn/_customer_panel.html",
                                 context=churn_context, order=40))
