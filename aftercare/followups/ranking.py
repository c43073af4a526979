"""How the follow-up queue ranks calls with the same deadline, filled by the apps above followups.

The queue (`selectors.followup_queue`) orders by deadline first — a call due earlier always comes first — and then by
the priorities registered here, in registration order, each highest first with rows without a value last, then by
the customer's repair-order spend over 12 months and the task id. Followups knows no churn risk: the care app
registers it in `CareConfig.ready()` (`care/queue_rank.py`).

A priority is set-based: `expression()` gives an expression over the task's columns (an `F` through the task's
customer, or a `Subquery` on `OuterRef("customer_id")`) that the queue annotates as `name` on each row, so ranking
costs no query per row. `badge_template`, when given, is shown in the queue's column headed `label`, included with
`task` (the row, carrying the annotation).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import F


@dataclass(frozen=True)
class QueuePriority:
    name: str  # the annotation on each queue row (also the key in the API's `ranking`)
    expression: Callable[[], Any]  # () -> an expression over the task's columns; higher first, NULL last
    label: Any = ""  # the column heading on the queue (lazy text)
    badge_template: str | None = None  # shows the value on a queue row; included with `task`


_priorities: dict[str, QueuePriority] = {}


def register_priority(priority: QueuePriority) -> None:
    """Add (or replace, by name) a priority of the queue, applied after the deadline in registration order."""
    _priorities[priority.name] = priority


def queue_priorities() -> list[QueuePriority]:
    return list(_priorities.values())


def annotate_priorities(qs):
    """`qs` with every registered priority annotated under its name."""
    annotations = {p.name: p.expression() for p in _priorities.values()}
    return qs.annotate(**annotations) if annotations else qs


def priority_ordering() -> list:
    """The order-by terms of the registered priorities (after the deadline): highest first, no value last."""
    return [F(p.name).desc(nulls_last=True) for p in _priorities.values()]
