"""The care API under `/api/care` (django-ninja; errors from `aftercare.core.api.ERRORS`)."""

from ninja import Router

router = Router(tags=["care"])
