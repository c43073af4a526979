"""The customer-360 panel of the churn-risk score (`aftercare/customers/panels.py`), registered in
`CareConfig.ready()`: the risk as %, its band and its top 3 reasons, for anyone who may open the customer."""

from django.utils.translation import gettext_lazy as _

from aftercare.customers.panels import CustomerPanel, register_panel

from . import selectors
from .churnmodel import reason_label, risk_band


def churn_context(*, user, customer) -> dict | None:
    profile = selectors.churn_profile_for(customer=customer)
    if profile is None or profile.churn_risk is None:
        return None
    return {
        "risk_percent": round(profile.churn_risk * 100),
        "band": risk_band(profile.churn_risk),
        "reasons": [label for label in (reason_label(c) for c in (profile.churn_reasons or [])[:3]) if label],
        "scored_on": profile.scored_on,
    }


def register() -> None:
    register_panel(CustomerPanel(key="care.churn", title=_("Churn risk"), template="care/churn/_customer_panel.html",
                                 context=churn_context, order=40))
