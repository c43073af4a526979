"""The care API, churn: the churn-risk score.

Mounted under `/api/care` by `api/__init__.py`."""

import datetime as _dt

from django.http import HttpRequest
from ninja import Field as _Field
from ninja import Query as _Query
from ninja import Router
from ninja import Schema as _Schema
from ninja.pagination import paginate as _paginate

from aftercare.core.api import ERRORS, Pagination, PathId
from aftercare.customers.selectors import customer_get as _customer_get
from aftercare.org.permissions import Perm as _Perm
from aftercare.org.permissions import require_perm

from .. import selectors as _selectors
from ..churnmodel import reason_labels, risk_band
from ..models import ChurnScore as _ChurnScore

router = Router(tags=["care"])


class ChurnOut(_Schema):
    customer_id: int
    customer_number: str = _Field(..., alias="customer.number")
    store: str = _Field(..., alias="store.code")
    churn_risk: float | None = _Field(None, alias="risk",
                                      description="Probability of becoming lost in the next 6 months (0–1)")
    band: str = _Field(description="low (< 0.15), medium (< 0.35) or high")
    reasons: list[str] = _Field(description="Codes of the top reasons, feature:+ (high value) or feature:- (low)")
    reason_labels: list[str]
    scored_on: _dt.date | None
    last_visit_at: _dt.datetime | None = None

    @staticmethod
    def resolve_band(obj) -> str:
        return risk_band(obj.risk)

    @staticmethod
    def resolve_reasons(obj) -> list[str]:
        return list(obj.reasons or [])

    @staticmethod
    def resolve_reason_labels(obj) -> list[str]:
        return reason_labels(obj.reasons, top=None, drop_unknown=False)


class ChurnFilter(_Schema):
    store: str | None = _Field(None, max_length=20, description="Store code")
    min_risk: float | None = _Field(None, ge=0, le=1)


@router.get("/churn", response={200: list[ChurnOut], **ERRORS}, operation_id="care_churn_list")
@_paginate(Pagination)
def churn_list(request: HttpRequest, filters: _Query[ChurnFilter]):
    """The scored active customers of the stores in scope, highest churn risk first (`care.manage`)."""
    require_perm(request.user, _Perm.CARE_MANAGE)
    qs = _selectors.churn_risk_list(user=request.user)
    if filters.store:
        qs = qs.filter(store__code=filters.store)
    if filters.min_risk is not None:
        qs = qs.filter(risk__gte=filters.min_risk)
    return qs


@router.get("/customers/{customer_id}/churn", response={200: ChurnOut, **ERRORS}, operation_id="care_customer_churn")
def customer_churn(request: HttpRequest, customer_id: PathId):
    """One customer's churn risk and reasons (null risk when not scored); another store's id answers 404."""
    customer = _customer_get(user=request.user, pk=customer_id)
    score = _selectors.churn_score_for(customer=customer)
    if score is None:
        score = _ChurnScore(customer_id=customer.pk, risk=None, scored_on=None)  # not scored: unsaved, no reasons
        score.last_visit_at = _selectors.customer_last_visit_at(customer=customer)
    score.customer, score.store = customer, customer.store
    return score
