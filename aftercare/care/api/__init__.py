"""The care API under `/api/care` (django-ninja; errors from `aftercare.core.api.ERRORS`), one module per part of
the app: classes and churn, the churn-risk score, reminders, channels (delivery log, inbound SMS), campaigns and
recalls."""

from ninja import Router

from . import campaigns, channels, churn, classes, remind

router = Router(tags=["care"])
for part in (classes, churn, remind, channels, campaigns):
    router.add_router("", part.router)
