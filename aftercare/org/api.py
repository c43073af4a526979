"""The start page as JSON: `GET /api/start` answers the cards the caller's role sees (`org/start.py`)."""

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from aftercare.core.api import ERRORS

from .scoping import visible_store_ids
from .start import start_cards

router = Router(tags=["start page"])


class CardRowOut(Schema):
    label: str
    count: int
    url: str = Field(..., description="The page listing exactly these rows (site path with its filters)")
    severity: str = Field(..., description='"", "info", "warning" or "danger"')


class CardOut(Schema):
    key: str
    title: str
    rows: list[CardRowOut]


class StartFilter(Schema):
    store_id: int | None = Field(None, ge=1, le=2**63 - 1, description="Only this store (must be in scope)")


@router.get("", response={200: list[CardOut], **ERRORS}, operation_id="start_cards", summary="The start page")
def start(request: HttpRequest, filters: Query[StartFilter]):
    """The cards of the caller's start page, in order, counted over the stores in scope (or the one `store_id`);
    each row's `url` opens the list of exactly its rows. A store outside the caller's scope answers 404."""
    ids = visible_store_ids(request.user)
    if filters.store_id is not None:
        if filters.store_id not in ids:
            raise Http404
        ids = frozenset({filters.store_id})
    cards = start_cards(user=request.user, store_ids=ids, now=timezone.now())
    return [
        {
            "key": card.key,
            "title": str(card.title),
            "rows": [
                {"label": str(r.label), "count": r.count, "url": r.url, "severity": r.severity} for r in data.rows
            ],
        }
        for card, data in cards
    ]
