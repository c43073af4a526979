"""The reports API under /api/reports/ (docs/reports.md)."""

from ninja import Router

router = Router(tags=["reports"])

# ---- mail: reports by mail, the archive (issue 19; reports/mail/api.py) ----
from .mail import api as _mail_api  # noqa: E402

router.add_router("", _mail_api.router)
# ---- end mail ----
