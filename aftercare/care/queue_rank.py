"""The churn risk ranks the follow-up queue: among calls with the same deadline, the customer with the higher churn
risk first, unscored customers last (`followups.ranking`, registered in `CareConfig.ready()`)."""

from django.utils.translation import gettext_lazy as _

from aftercare.followups.ranking import QueuePriority, register_priority

from .models import churn_risk_of


def register() -> None:
    register_priority(
        QueuePriority(
            name="churn_risk",
            expression=churn_risk_of,  # the task's customer's score: one join on the score table's customer key
            label=_("Churn risk"),
            badge_template="care/churn/_queue_badge.html",
        )
    )
