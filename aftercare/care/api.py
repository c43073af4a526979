"""The care API under `/api/care` (django-ninja; errors from `aftercare.core.api.ERRORS`)."""

from ninja import Router

router = Router(tags=["care"])

# ---- campaigns: campaigns, segments and recalls (aftercare/care/api_campaigns.py) ----
from .api_campaigns import router as campaigns_router  # noqa: E402

router.add_router("", campaigns_router)
