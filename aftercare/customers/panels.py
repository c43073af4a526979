"""Customer-360 panels: the apps above customers add their part of the customer's page without customers knowing
them (follow-up calls and scores, feedback forms; later renewals, appointments, care, churn risk).

An app registers a panel once, in its `AppConfig.ready()`:

    register_panel(CustomerPanel(key="followups.calls", title=_("Follow-up calls"), order=10,
                                 permission=(Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE),
                                 template="followups/_customer_panel.html", context=calls_context))

`context(user=, customer=)` reads with the app's own scoped selectors, a bounded number of rows (`PANEL_ROWS`) in
a few queries, and answers the template's context (or None to leave the panel out). The customer detail page
renders every panel the user may see, in ascending `order`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aftercare.org.permissions import has_perm

PANEL_ROWS = 10  # rows a panel shows; each has a link to the full, filtered list


@dataclass(frozen=True)
class CustomerPanel:
    """A card of the customer's page, for users holding `permission` (one, or any of a tuple; None: anyone who
    may open the customer)."""

    key: str
    title: Any  # a (lazy) translated string
    template: str
    context: Callable[..., dict | None]  # (user=, customer=) -> the template's context, or None
    order: int = 100
    permission: str | tuple[str, ...] | None = None

    def visible_to(self, user) -> bool:
        if self.permission is None:
            return True
        perms = (self.permission,) if isinstance(self.permission, str) else self.permission
        return any(has_perm(user, p) for p in perms)


_panels: dict[str, CustomerPanel] = {}


def register_panel(panel: CustomerPanel) -> None:
    """Add (or replace, by key) a customer-360 panel."""
    _panels[panel.key] = panel


def unregister_panel(key: str) -> None:
    """Remove a panel (tests)."""
    _panels.pop(key, None)


def customer_panels(*, user, customer) -> list[dict]:
    """The panels `user` sees on `customer`'s page, in order: each {"key", "title", "template", **its context}."""
    out = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        if not panel.visible_to(user):
            continue
        context = panel.context(user=user, customer=customer)
        if context is not None:
            out.append({**context, "key": panel.key, "title": panel.title, "template": panel.template})
    return out
