"""Extension points of the follow-up screens, filled by the apps above followups in their `AppConfig.ready()`.

Followups knows no complaint: the call screen's feedback box asks `feedback_options()` for its choices, and the
call screen shows the panels registered with `call_panel_register` (the complaints app adds its verification
card), the manage page the links registered with `manage_link_register`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class FeedbackOptions:
    """The choices of the 'feedback said on the call' box."""

    kinds: Callable[[], list[tuple[str, Any]]]
    categories: Callable[[], list[tuple[str, Any]]]
    departments: Callable[..., Any]  # (user=, store_ids=) -> a queryset of departments the user may pick
    complaint_kind: str  # the kind an inbound complaint call records when none is chosen


@dataclass(frozen=True)
class CallPanel:
    """A card on the call screen: `context(user=, task=)` gives its context, or None to leave it out."""

    name: str
    template: str
    context: Callable[..., dict | None]


_feedback: list[FeedbackOptions] = []
_call_panels: dict[str, CallPanel] = {}
_manage_links: dict[str, str] = {}


def feedback_options_register(options: FeedbackOptions) -> None:
    _feedback[:] = [options]


def feedback_options() -> FeedbackOptions:
    if not _feedback:
        raise ImproperlyConfigured("No app registered the call screen's feedback options (the complaints app does).")
    return _feedback[0]


def call_panel_register(panel: CallPanel) -> None:
    """Add (or replace, by name) a card of the call screen, shown above the repair orders in registration order."""
    _call_panels[panel.name] = panel


def call_panels(*, user, task) -> list[dict]:
    """The cards for `task`'s call screen: each a dict with `template` and the panel's context."""
    out = []
    for panel in _call_panels.values():
        context = panel.context(user=user, task=task)
        if context is not None:
            out.append({"template": panel.template, **context})
    return out


def manage_link_register(name: str, template: str) -> None:
    """Add a card (a template given `month`) to the follow-up manage page, beside the return-visit rate."""
    _manage_links[name] = template


def manage_links() -> list[str]:
    return list(_manage_links.values())
