"""API of the dealer scorecard and the parts-shipment months (docs/quality.md, "Dealer scorecard")."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, Pagination, require_sheet_imported, require_valid_form
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm

from . import selectors_scorecard as selectors
from .forms_scorecard import ShipmentImportForm
from .services.shipments import parts_shipments_import

router = Router(tags=["quality"])


class ScorecardQuery(Schema):
    month: str = ""  # YYYY-MM; empty: the running month


class ScorecardCellOut(Schema):
    measure: str
    value: Decimal | None
    target: Decimal | None
    state: str  # met, missed, running, none
    rank: int | None
    points: Decimal | None


class ScorecardRowOut(Schema):
    store: str
    rank: int | None
    score: Decimal | None
    cells: list[ScorecardCellOut]


class ScorecardOut(Schema):
    month: dt.date
    running: bool
    measures: list[str]
    rows: list[ScorecardRowOut]


class ShipmentMonthOut(Schema):
    store: str = Field(..., alias="store.code")
    month: dt.date
    lines_shipped: int
    lines_right: int
    accuracy: Decimal | None


class ShipmentImportOut(Schema):
    rows: int
    created: int
    updated: int


def _month(text: str) -> dt.date:
    if not text:
        return business_date().replace(day=1)
    try:
        month = dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ValidationError({"month": ["Give a month as YYYY-MM."]}) from None
    if not dt.date(2000, 1, 1) <= month <= dt.date(2100, 12, 1):
        raise ValidationError({"month": ["Give a month between 2000-01 and 2100-12."]})
    return month


@router.get("/scorecard", response={200: ScorecardOut, **ERRORS}, operation_id="quality_scorecard")
def scorecard_get(request, query: Query[ScorecardQuery]):
    """The dealer scorecard of the stores the caller sees for one month: each key measure against target, ranked."""
    card = selectors.scorecard_month(user=request.user, month=_month(query.month))
    return ScorecardOut(
        month=card.month, running=card.running, measures=[m.code for m in card.measures],
        rows=[ScorecardRowOut(
            store=row.store.code, rank=row.rank, score=row.score,
            cells=[ScorecardCellOut(
                measure=c.measure.code, value=c.value, rank=c.rank, points=c.points, state=c.judgement.state,
                target=c.judgement.target.value if c.judgement.target else None) for c in row.cells],
        ) for row in card.rows],
    )


@router.get("/shipments", response={200: list[ShipmentMonthOut], **ERRORS}, operation_id="quality_shipments")
@paginate(Pagination)
def shipments_list(request):
    """The parts-shipment months of the stores in scope, newest first."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    return selectors.parts_shipment_list(user=request.user)


@router.post("/shipments/import", response={200: ShipmentImportOut, **ERRORS}, operation_id="quality_shipments_import")
def shipments_import(request, file: File[UploadedFile]):
    """The carmaker's parts-shipment file (XLSX / CSV: dealer code, month, lines shipped, lines shipped right). All or
    nothing: 422 lists every bad cell as `rows.<row>.<column>`; a re-import updates the same store-months."""
    require_perm(request.user, Perm.QUALITY_MANAGE)
    form = ShipmentImportForm(data={}, files={"file": file})
    require_valid_form(form)
    result = parts_shipments_import(actor=request.user, file=file, filename=file.name or "")
    require_sheet_imported(result)
    return ShipmentImportOut(rows=result.rows, created=result.created, updated=result.updated)
