"""The reports API under /api/reports/ (docs/reports.md)."""

from ninja import Router

router = Router(tags=["reports"])

# ---- measures ----
from . import api_measures  # noqa: E402, F401  (its routes join the router)
