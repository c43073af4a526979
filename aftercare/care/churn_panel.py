"""The customer-360 panel of the churn-risk score (`aftercare/customers/panels.py`), registered in
`CareConfig.ready()`: the risk as %, its band and its top 3 reasons, for anyone who may open the customer."""

from django.utils.translation import gettext_lazy as _

from aftercare.customers.panels import CustomerPanel, register_panel

from . import selectors
from .churnmodel import reason_labels, risk_band, risk_percent


def churn_context(*, user, customer) -> dict | None:
    profile = selectors.churn_profile_for(customer=customer)
    if profile is None or profile.churn_risk is None:
        return None
    return {
        "risk_percent": risk_percent(profile.churn_risk),
        "band": risk_band(profile.churn_risk),
        "reasons": reason_labels(profile.churn_reasons),
        "scored_on": profile.scored_on,
    }


def register() -> None:
    register_panel(CustomerPanel(key="care.churn", title=_("Churn risk"), template="care/churn/_customer_panel.html",
                                 context=churn_context, order=40))
