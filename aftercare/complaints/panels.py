"""The customer-360 panel of feedback (`aftercare/customers/panels.py`), registered in `ComplaintsConfig.ready()`:
the customer's complaint forms (state, category, deadline), each linked to the form."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.customers.panels import PANEL_ROWS, CustomerPanel, register_panel
from aftercare.org.permissions import Perm

from . import selectors


def forms_context(*, user, customer) -> dict:
    rows = selectors.customer_feedback(user=user, customer=customer, limit=PANEL_ROWS + 1)
    return {
        "rows": rows[:PANEL_ROWS],
        "more": len(rows) > PANEL_ROWS,
        "now": timezone.now(),
        "all_url": f"{reverse('complaints:list')}?customer={customer.pk}",
    }


def register() -> None:
    register_panel(
        CustomerPanel(
            key="complaints.feedback",
            title=_("Feedback forms"),
            template="complaints/_customer_panel.html",
            context=forms_context,
            order=20,
            permission=Perm.FEEDBACK_VIEW,
        )
    )
