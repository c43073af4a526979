"""The reports API under /api/reports/ (docs/reports.md)."""

from ninja import Router

router = Router(tags=["reports"])
