"""The care API, channels: the delivery log, the SMS gateway's inbound replies.

Mounted under `/api/care` by `api/__init__.py`."""

import datetime as dt

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.security import APIKeyHeader

from aftercare.core.api import ERRORS, Pagination
from aftercare.customers.validators import mask_mobile
from aftercare.org.permissions import Perm, require_any_perm

from .. import selectors as _selectors
from ..services import channels as _channels

router = Router(tags=["care"])


class MessageOut(Schema):
    id: int
    store_id: int
    customer_id: int
    customer_number: str = Field(..., alias="customer.number")
    mobile: str
    channel: str
    purpose: str
    status: str
    template_code: str
    subject: str
    text: str
    error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    hold_until: dt.datetime | None

    @staticmethod
    def resolve_mobile(obj) -> str:
        return mask_mobile(obj.customer.mobile) if obj.customer.mobile else ""


class MessageFilter(Schema):
    q: str = Field("", max_length=100, description="Customer name or number")
    phone_tail: str = Field("", max_length=20, description="Last digits of the mobile")
    status: str = Field("", max_length=20)
    channel: str = Field("", max_length=10)
    purpose: str = Field("", max_length=10)
    since: dt.date | None = None
    until: dt.date | None = Field(None, description="Exclusive")
    customer_id: int | None = Field(None, ge=1, le=2**63 - 1)


@router.get("/messages", response={200: list[MessageOut], **ERRORS}, operation_id="care_message_list")
@paginate(Pagination)
def message_list(request: HttpRequest, filters: Query[MessageFilter]):
    """The delivery log: every SMS, e-mail and WeChat message of the stores in scope, newest first."""
    require_any_perm(request.user, Perm.CARE_WORK, Perm.CARE_MANAGE)
    return _selectors.message_log_search(user=request.user, **filters.dict())


class SmsInboundIn(Schema):
    sender: str = Field(..., max_length=30, description="The customer's mobile")
    text: str = Field(..., max_length=500)


class SmsInboundOut(Schema):
    opted_out: int = Field(..., description="Customer files whose marketing consent this reply withdrew")


class GatewaySecret(APIKeyHeader):
    """The SMS gateway's shared secret (`SMS_INBOUND_SECRET`) in the header `X-Aftercare-Secret`; unset: refused."""

    param_name = "X-Aftercare-Secret"

    def authenticate(self, request, key):
        secret = settings.SMS_INBOUND_SECRET
        return "sms-gateway" if secret and key and constant_time_compare(key, secret) else None


@router.post("/sms/inbound", response={200: SmsInboundOut, **ERRORS}, auth=GatewaySecret(),
             operation_id="care_sms_inbound")
def sms_inbound(request: HttpRequest, payload: SmsInboundIn):
    """The SMS gateway posts each reply here with the header `X-Aftercare-Secret: <SMS_INBOUND_SECRET>`; an opt-out
    keyword (TD, T, 退订, STOP) withdraws marketing consent at once. A wrong or unset secret answers 401."""
    return {"opted_out": _channels.sms_reply_receive(sender=payload.sender, text=payload.text)}
