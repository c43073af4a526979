"""Customer care and retention (issue 18): reminders, campaigns and recalls, customer classes and churn, the
churn-risk score, outbound channels and consent. Store-owned rows carry `store_id` (`core.models.StoreOwnedModel`)."""

from django.db import models  # noqa: F401
