"""The care API, classes: class counts, flows and churn rate of a month; a customer's class.

Mounted under `/api/care` by `api/__init__.py`."""

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from aftercare.core.api import ERRORS, PathId
from aftercare.customers.selectors import customer_get
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_any_perm, require_perm

from .. import selectors as care_selectors

router = Router(tags=["care"])


class ClassMonthQuery(Schema):
    month: str | None = Field(None, pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$",
                              description="YYYY-MM (default: this month)")


class FlowOut(Schema):
    from_class: str = Field(description="class at the month's start; 'none': classified during the month")
    to_class: str
    customers: int


class ClassMonthOut(Schema):
    month: str
    start: dict[str, int]
    end: dict[str, int]
    flows: list[FlowOut]
    base: int
    churned: int
    churn_rate: Decimal | None = Field(description="% of the base at the month's start lost at its end")
    loyal_share: Decimal | None


class ClassChangeOut(Schema):
    on_date: dt.date
    from_class: str
    to_class: str
    rule: str


class CustomerClassOut(Schema):
    customer_id: int
    customer_class: str | None
    lost_rule: str
    class_since: dt.date | None
    classified_on: dt.date | None
    last_visit_at: dt.datetime | None
    visits_12m: int
    spend_12m: Decimal
    churn_reason: str
    history: list[ClassChangeOut]


@router.get("/classes", response={200: ClassMonthOut, **ERRORS}, operation_id="care_class_month")
def class_month(request: HttpRequest, query: Query[ClassMonthQuery]):
    """The stores in scope: customers of each class at the month's start and end, the flows between classes, the
    churn rate and the loyal share (`care.manage`)."""
    require_perm(request.user, Perm.CARE_MANAGE)
    month = business_date().replace(day=1)
    if query.month:
        month = dt.date(int(query.month[:4]), int(query.month[5:]), 1)
    got = care_selectors.class_flows(user=request.user, month=month)
    flows = [{"from_class": a, "to_class": b, "customers": n} for (a, b), n in sorted(got["flows"].items()) if n]
    return {**got, "month": f"{month:%Y-%m}", "flows": flows,
            "start": {str(k): v for k, v in got["start"].items()}, "end": {str(k): v for k, v in got["end"].items()}}


@router.get("/customers/{customer_id}/class", response={200: CustomerClassOut, **ERRORS},
            operation_id="care_customer_class")
def customer_class(request: HttpRequest, customer_id: PathId):
    """One customer's class, figures of 12 months, latest churn reason and class history; another store's customer
    answers 404 (`care.work` or `care.manage`)."""
    require_any_perm(request.user, Perm.CARE_WORK, Perm.CARE_MANAGE)
    customer = customer_get(user=request.user, pk=customer_id)
    got = care_selectors.customer_class_get(user=request.user, customer=customer)
    p = got["profile"]
    return {
        "customer_id": customer.pk,
        "customer_class": p.customer_class if p else None,
        "lost_rule": p.lost_rule if p else "",
        "class_since": p.class_since if p else None,
        "classified_on": p.classified_on if p else None,
        "last_visit_at": p.last_visit_at if p else None,
        "visits_12m": p.visits_12m if p else 0,
        "spend_12m": p.spend_12m if p else Decimal(0),
        "churn_reason": got["reason"].reason if got["reason"] else "",
        "history": got["history"],
    }
