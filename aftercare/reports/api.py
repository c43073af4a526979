"""The reports API under /api/reports/ (docs/reports.md), one module per section."""

from ninja import Router

from .api_actions import router as actions_router

router = Router(tags=["reports"])
router.add_router("", actions_router)
