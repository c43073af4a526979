"""The churn risk ranks the follow-up queue: among calls with the same deadline, the customer with the higher churn
risk first, unscored customers last (`followups.ranking`, registered in `CareConfig.ready()`)."""

from django.db.models import FloatField, OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from aftercare.followups.ranking import QueuePriority, register_priority

from .models import ChurnScore


def churn_risk_expression():
    """The churn risk of the task's customer: one correlated subquery on the score table's customer key."""
    return Subquery(
        ChurnScore.objects.filter(customer_id=OuterRef("customer_id")).values("risk")[:1],
        output_field=FloatField(),
    )


def register() -> None:
    register_priority(
        QueuePriority(
            name="churn_risk",
            expression=churn_risk_expression,
            label=_("Churn risk"),
            badge_template="care/churn/_queue_badge.html",
        )
    )
