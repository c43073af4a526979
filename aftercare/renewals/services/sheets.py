"""The renewal follow-up sheet (续保跟进表, seed 000 p13): its XLSX export in the seed's column order, and the import
of a store's own sheet in that layout, so that a store switches over without retyping (docs/renewals.md,
"Switching over: the follow-up sheet").

The export goes through the one writer (`aftercare.core.exports`: text never a formula); phones are masked unless
the actor may reveal them, premiums, quotes and gift costs are blank without `renewal.premium`, and every export is
an `export` audit event with its filters and row count.

The import reads CSV or XLSX with the DMS import's bounded readers (`aftercare.dms.readers`), matches each row to a
vehicle of the store (VIN, else plate, else phone + model), finds or makes the case of that expiry, and records the
filled contacts as history (`RenewalContact.imported`: no follow-up task, no call) and the outcome. A row with a bad
value is rejected as a whole, with one error per bad cell (file row number and column as headed in the file); the
other rows are imported. Importing the same file again creates nothing twice.
"""

import datetime as dt
import functools
import logging
import os
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Prefetch, Q
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext, pgettext_lazy

from aftercare.core.choices import AuditAction
from aftercare.core.exports import local_naive, staff_name, unneutralise, xlsx_bytes
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import LossReason, PolicyKind, RepairKind
from aftercare.customers.models import InsurancePolicy, Ownership, RepairOrder
from aftercare.customers.validators import (
    clean_text,
    mask_mobile,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
    parse_date,
    parse_decimal,
)
from aftercare.dms.readers import ImportFileError, RowError, SheetImport, count_rows, local_path, open_table
from aftercare.followups.choices import ACTIVE_STATUSES, TaskStatus
from aftercare.followups.models import FollowupTask
from aftercare.org.calendar import business_date, business_day_start, business_tz
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import (
    EFFECTIVE_RESULTS,
    SEGMENT_PRIORITY,
    CaseState,
    ContactChannel,
    ContactResult,
    Outcome,
    Segment,
)
from ..models import RenewalCase, RenewalContact, RenewalGift
from ..selectors import renewal_settings_get
from .generation import LAPSED_YEARS_MAX, SAME_YEAR_DAYS, VISIT_DAYS, contact_due_on
from .work import renewal_case_counters_add

logger = logging.getLogger(__name__)

SHEET_CONTACTS = 4  # the seed's sheet: 1st–4th contact
CONTACT_PARTS = ("date", "channel", "result", "quote", "gift")
CN_NUMBERS = {1: "一", 2: "二", 3: "三", 4: "四"}
EN_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th"}

# ---- columns ---------------------------------------------------------------------------------------------------
# (field, English header — the msgid the export writes, in the active language —, other names a store's sheet
# uses). The export writes them in this order (the seed's: customer, phone, model, plate, expiry, contacts 1–4,
# renewed, reason; then what the app adds); the import accepts any order and any of the names.

_BEFORE_CONTACTS = [
    ("customer", pgettext_lazy("renewal sheet", "Customer"),
     ("客户姓名", "客户", "姓名", "车主", "车主姓名", "客户名称", "customer name")),
    ("phone", pgettext_lazy("renewal sheet", "Phone"),
     ("联系电话", "电话", "手机", "手机号", "手机号码", "联系方式", "mobile")),
    ("model", pgettext_lazy("renewal sheet", "Model"), ("车型", "vehicle model")),
    ("plate", pgettext_lazy("renewal sheet", "Plate"), ("车牌", "车牌号", "车牌号码", "licence plate")),
    ("expiry", pgettext_lazy("renewal sheet", "Expiry date"),
     ("保险到期日", "到期日期", "到期日", "保险到期日期", "保险到期", "expiry")),
    ("estimated", pgettext_lazy("renewal sheet", "Expiry estimated"), ("到期日为估算", "估算到期日", "到期日估算")),
    ("segment", pgettext_lazy("renewal sheet", "Segment"), ("客户类型", "细分", "客户细分")),
]
_CONTACT_HEADERS = {
    "date": (pgettext_lazy("renewal sheet", "Contact %(n)s date"),
             ("第%(n)s次联系日期", "第%(cn)s次联系日期", "第%(n)s次跟进日期", "第%(cn)s次跟进日期",
              "%(en)s contact date")),
    "channel": (pgettext_lazy("renewal sheet", "Contact %(n)s channel"),
                ("第%(n)s次联系方式", "第%(cn)s次联系方式", "第%(n)s次跟进方式", "第%(cn)s次跟进方式",
                 "%(en)s contact channel")),
    "result": (pgettext_lazy("renewal sheet", "Contact %(n)s result"),
               ("第%(n)s次联系结果", "第%(cn)s次联系结果", "第%(n)s次跟进结果", "第%(cn)s次跟进结果",
                "%(en)s contact result")),
    "quote": (pgettext_lazy("renewal sheet", "Contact %(n)s quote"),
              ("第%(n)s次联系报价", "第%(cn)s次联系报价", "第%(n)s次报价", "第%(cn)s次报价", "%(en)s contact quote")),
    "gift": (pgettext_lazy("renewal sheet", "Contact %(n)s gift"),
             ("第%(n)s次联系礼品", "第%(cn)s次联系礼品", "第%(n)s次赠品", "第%(cn)s次赠品", "%(en)s contact gift")),
}
# a store's sheet has one cell per contact: its date and what came of it ("3/5 电话 客户考虑中")
_CONTACT_CELL = ("第%(n)s次联系", "第%(cn)s次联系", "第%(n)s次跟进", "第%(cn)s次跟进", "第%(n)s次回访",
                 "第%(cn)s次回访", "%(en)s contact", "contact %(n)s")
_AFTER_CONTACTS = [
    ("renewed", pgettext_lazy("renewal sheet", "Renewed"),
     ("是否续保", "续保", "是否续保成功", "续保情况", "renewed yes/no")),
    ("insurer", pgettext_lazy("renewal sheet", "Insurer"), ("保险公司", "承保公司", "续保公司")),
    ("premium", pgettext_lazy("renewal sheet", "Premium"), ("保费", "金额", "续保金额", "续保保费")),
    ("reason", pgettext_lazy("renewal sheet", "Reason"),
     ("原因分析", "原因", "未续保原因", "战败原因", "reason analysis")),
    ("holder", pgettext_lazy("renewal sheet", "Holder"), ("跟进人", "续保专员", "负责人")),
    ("vin", pgettext_lazy("renewal sheet", "VIN"), ("车架号", "车辆识别代号", "车辆识别号", "底盘号")),
    ("policy_number", pgettext_lazy("renewal sheet", "New policy number"), ("保单号", "新保单号")),
]


def _fill(text, n: int) -> str:
    return str(text) % {"n": n, "cn": CN_NUMBERS[n], "en": EN_ORDINALS[n]}


def _export_columns() -> list[tuple[str, str]]:
    """(field, header in the active language) in the export's order; the policy number is import-only."""
    columns = [(name, str(header)) for name, header, _aliases in _BEFORE_CONTACTS]
    for n in range(1, SHEET_CONTACTS + 1):
        columns += [(f"contact{n}_{part}", _fill(_CONTACT_HEADERS[part][0], n)) for part in CONTACT_PARTS]
    columns += [(name, str(header)) for name, header, _aliases in _AFTER_CONTACTS if name != "policy_number"]
    return columns


def export_header() -> list[str]:
    """The export's header row in the active language."""
    return [header for _name, header in _export_columns()]


def import_aliases() -> dict[str, tuple[str, ...]]:
    """{field: names} the import accepts: the export's headers in English and Chinese, and a store's own names."""
    aliases: dict[str, set[str]] = {}
    for name, _header, others in _BEFORE_CONTACTS + _AFTER_CONTACTS:
        aliases[name] = set(others)
    for n in range(1, SHEET_CONTACTS + 1):
        for part in CONTACT_PARTS:
            aliases[f"contact{n}_{part}"] = {_fill(o, n) for o in _CONTACT_HEADERS[part][1]}
        aliases[f"contact{n}"] = {_fill(o, n) for o in _CONTACT_CELL}
    for language in ("en", "zh-hans"):  # the headers as the export writes them in either language
        with translation.override(language):
            for name, header in _export_columns():
                aliases[name].add(header)
            aliases["policy_number"].add(str(_AFTER_CONTACTS[-1][1]))
    return {name: tuple(sorted(names)) for name, names in aliases.items()}


def import_columns_help() -> list[tuple[str, str]]:
    """(column, names the import accepts) for the import page: one line per column, contacts once."""
    aliases = import_aliases()
    if (translation.get_language() or "").startswith("zh"):  # a Chinese page lists the Chinese names only
        aliases = {name: [a for a in names if not a.isascii()] for name, names in aliases.items()}
    lines = []
    for name, header in _export_columns():
        if name.startswith("contact") and not name.startswith("contact1_"):
            continue
        lines.append((header, ", ".join(a for a in aliases[name] if a != header)))
        if name == "segment":
            lines.append((gettext("Contact 1 (one cell: date and result)"), ", ".join(aliases["contact1"])))
    lines.append((str(_AFTER_CONTACTS[-1][1]), ", ".join(a for a in aliases["policy_number"]
                                                          if a != str(_AFTER_CONTACTS[-1][1]))))
    return lines


# ---- export ----------------------------------------------------------------------------------------------------


def _yes_no(flag: bool) -> str:
    return gettext("yes") if flag else gettext("no")


def _money(value) -> str:
    return f"¥{value:,.2f}" if value is not None else ""


def _renewed(case: RenewalCase) -> str:
    if case.state == CaseState.RENEWED_HERE or case.outcome == Outcome.RENEWED_HERE:
        return gettext("yes")
    if case.state == CaseState.OPEN:
        return pgettext("renewal sheet", "open")
    return gettext("no")


def _reason(case: RenewalCase) -> str:
    label = case.get_outcome_reason_display() if case.outcome_reason else ""
    text = case.outcome_reason_text
    if case.outcome_reason == LossReason.OTHER and text:
        return text
    return f"{label}: {text}" if label and text and text != label else (label or text)


def _contact_cells(contact: RenewalContact | None, premiums: bool) -> list:
    if contact is None or not contact.result:
        return [None] * len(CONTACT_PARTS)
    when = contact.contacted_at or (contact.call.called_at if contact.call_id else None)
    day = local_naive(when).date() if when else contact.due_on
    quote = ""
    if contact.quote_insurer or contact.quote_premium is not None or contact.quote_discount is not None:
        parts = [contact.quote_insurer]
        if premiums:
            parts.append(_money(contact.quote_premium))
            if contact.quote_discount is not None:
                parts.append(f"-{contact.quote_discount.normalize():f}%")
        quote = " ".join(p for p in parts if p)
    gift = ""
    if contact.gift_id:
        gift = contact.gift.name
        if premiums and contact.gift_cost is not None:
            gift += f" ({_money(contact.gift_cost)})"
    return [day, contact.get_channel_display(), contact.get_result_display(), quote, gift]


def renewal_sheet_export_xlsx(*, actor, cases, filters: dict | None = None) -> bytes:
    """The (already scoped and filtered) cases as the follow-up sheet, in the seed's column order: customer,
    phone, model, plate, expiry date (and whether it is estimated), segment, contacts 1–4 (date, channel, result,
    quote, gift), renewed (yes / no / open), insurer, premium, reason, holder, then the VIN (which lets the sheet
    be imported back). Phones are masked unless the actor may reveal them (as the import error report); premiums,
    quotes' amounts and gift costs are blank without `renewal.premium`. Audited as an export with the filters,
    the row count and whether phones were masked."""
    masked = not has_perm(actor, Perm.CUSTOMER_REVEAL_PHONE)
    premiums = has_perm(actor, Perm.RENEWAL_PREMIUM)
    contacts = RenewalContact.objects.select_related("gift", "call").order_by("number")
    cases = cases.select_related("renewed_policy", "holder__staff").prefetch_related(
        Prefetch("contacts", queryset=contacts)
    )

    def phone(mobile: str) -> str:
        if not mobile:
            return ""
        return mask_mobile(mobile) if masked else mobile.removeprefix("+86")

    def row(case: RenewalCase) -> list:
        by_number = {k.number: k for k in case.contacts.all()}
        insurer = case.outcome_insurer or (case.renewed_policy.insurer if case.renewed_policy_id else "")
        premium = case.outcome_premium
        if premium is None and case.renewed_policy_id:
            premium = case.renewed_policy.premium
        cells = [
            case.customer.name,
            phone(case.customer.mobile),
            case.vehicle.model,
            case.vehicle.plate,
            case.expiry_date,
            _yes_no(case.expiry_estimated),
            case.get_segment_display(),
        ]
        for n in range(1, SHEET_CONTACTS + 1):
            cells += _contact_cells(by_number.get(n), premiums)
        cells += [
            _renewed(case),
            insurer,
            premium if premiums else None,
            _reason(case),
            staff_name(case.holder),
            case.vehicle.vin,
        ]
        return cells

    content, n = xlsx_bytes(gettext("Renewal follow-up"), export_header(),
                            (row(case) for case in cases.iterator(chunk_size=500)))
    audit_event_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=RenewalCase._meta.label_lower,
        store_id=None,
        detail={"report": "renewal_sheet", "rows": n, "phones_masked": masked, "premiums": premiums,
                **{k: v for k, v in (filters or {}).items() if v not in (None, "")}},
    )
    return content


# ---- import ----------------------------------------------------------------------------------------------------


@dataclass
class SheetImportResult(SheetImport):
    imported_rows: int = 0
    cases_created: int = 0
    cases_found: int = 0
    contacts_created: int = 0
    contacts_unchanged: int = 0
    outcomes_recorded: int = 0
    rejected_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.file_error  # refused rows are listed, the rest imported


class SheetFileError(Exception):
    """The file as a whole cannot be imported (its message is for the user)."""


EXPIRY_RANGE_DAYS = 3653  # an expiry further from today is a typing error


# text → choice: exact labels and codes first, then these words, first match wins (order matters: 不考虑 before 考虑)
_RESULT_WORDS = [
    (ContactResult.WRONG_NUMBER, ("空号", "停机", "错号", "号码错误", "打错", "号码有误", "wrong number")),
    (ContactResult.NO_ANSWER, ("未接", "无人接", "没接", "不接", "未通", "关机", "无法接通", "no answer")),
    (ContactResult.BUSY, ("占线", "通话中", "在忙", "正忙", "忙碌", "开会", "busy")),
    (ContactResult.DECLINED, ("拒绝", "不续", "不需要", "不考虑", "不用", "没兴趣", "不感兴趣", "已在别处", "已续",
                              "已买", "已投保", "declined")),
    (ContactResult.CALL_BACK, ("回电", "再联系", "稍后", "改天", "回拨", "再打", "下次", "再说", "call back")),
    (ContactResult.THINKING, ("考虑", "商量", "想想", "比较", "对比", "thinking")),
    (ContactResult.INTERESTED, ("报价", "意向", "同意", "愿意", "感兴趣", "interested")),
]
_CHANNEL_WORDS = [
    (ContactChannel.WECHAT, ("微信", "wechat")),
    (ContactChannel.SMS, ("短信", "sms")),
    (ContactChannel.VISIT, ("到店", "店内", "面谈", "来店", "进店", "visit")),
    (ContactChannel.PHONE, ("电话", "致电", "phone", "call")),
]
_REASON_WORDS = [
    (LossReason.SOLD_CAR, ("卖车", "卖了", "已卖", "出售", "过户", "转卖", "置换", "报废")),
    (LossReason.MOVED, ("搬家", "外地", "异地", "迁往", "调走", "离开本地")),
    (LossReason.UNREACHABLE, ("联系不上", "无法联系", "打不通", "空号", "停机", "失联", "未接")),
    (LossReason.CLAIMS_EXPERIENCE, ("理赔", "出险", "赔付", "定损", "赔偿")),
    (LossReason.PRICE, ("价格", "太贵", "贵了", "便宜", "优惠", "价钱", "折扣", "报价高", "费用高")),
    (LossReason.ANOTHER_DEALER, ("他店", "别的店", "其他店", "别家", "外店", "其他4s", "其它4s", "另一家")),
    (LossReason.SERVICE, ("服务", "态度")),
]
_ELSEWHERE_WORDS = ("别处", "他店", "别的店", "其他店", "别家", "外店", "已在", "已续", "已买", "已投保", "其他4s",
                    "其它4s")
_YES = {"是", "y", "yes", "已续", "已续保", "续保", "√", "✓", "1", "true", "成功"}
_NO = {"否", "n", "no", "未续", "未续保", "不续", "×", "✗", "x", "0", "false", "失败", "战败", "流失"}
_OPEN = {"open", "跟进中", "未定", "待定", "进行中"}


def _norm(text: str) -> str:
    return clean_text(text).lower()


@functools.cache
def _labels(choices) -> dict[str, str]:
    """{code or label in English or Chinese, normalised: code} of a choices class."""
    found = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            found |= {_norm(str(choice.label)): choice.value for choice in choices}
    return found | {choice.value: choice.value for choice in choices}


def _choice_from_text(text: str, choices, words) -> str | None:
    """The choice whose label (English or Chinese) or code is the text, else the first whose word it holds."""
    key = _norm(text)
    if not key:
        return None
    if key in _labels(choices):
        return _labels(choices)[key]
    for choice, keys in words:
        if any(word in key for word in keys):
            return choice.value
    return None


def _cell_text(value) -> str:
    """A cell as text: numbers without a spurious `.0`, text as written (an export's apostrophe escape undone)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | int | float | Decimal):
        return str(value)
    return clean_text(unneutralise(str(value)))


# a date at the start of a contact cell: 2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日, or without the year: 3/5,
# 3-5, 3.5, 3月5日 (the year then is the one that puts the day in the year before the expiry)
_DATE_HEAD = re.compile(
    r"^\s*(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*(?:日|号)?(?![\d])"
)


def _contact_date(value, expiry: dt.date) -> tuple[dt.date | None, str]:
    """(date, the rest of the text) of a contact cell; a cell without a leading date gives (None, text).
    Raises ValidationError for a date that does not exist."""
    if isinstance(value, dt.datetime):
        return value.date(), ""
    if isinstance(value, dt.date):
        return value, ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_date(value), ""
    text = _cell_text(value)
    match = _DATE_HEAD.match(text)
    if not match:
        return None, text
    month, day = int(match["m"]), int(match["d"])
    try:
        if match["y"]:
            found = dt.date(int(match["y"]), month, day)
        else:
            found = dt.date(expiry.year, month, day)
            if found > expiry + dt.timedelta(days=90):
                found = dt.date(expiry.year - 1, month, day)
    except ValueError:
        raise ValidationError(gettext("Not a date: %(value)s") % {"value": match.group(0).strip()}) from None
    return found, text[match.end():].strip(" ,，;；:：-")


def _parse_quote(text: str) -> tuple[str, Decimal | None, Decimal | None]:
    """(insurer, premium, discount %) of a quote written as the export writes it ("中国人保 ¥4,800.00 -5%")."""
    discount = None
    if m := re.search(r"(\d+(?:\.\d+)?)\s*%", text):
        discount = Decimal(m.group(1))
        text = (text[: m.start()] + text[m.end():]).rstrip(" -−")
    premium = None
    if m := re.search(r"[¥￥]?\s*(\d[\d,]*(?:\.\d+)?)\s*元?", text):
        premium = Decimal(m.group(1).replace(",", ""))
        text = text[: m.start()] + text[m.end():]
    insurer = text.strip(" -−:：,，")[:100]
    if discount is not None and not 0 <= discount <= 100:
        discount = None
    return insurer, premium, discount


@dataclass
class _Contact:
    number: int  # the sheet's column
    date: dt.date | None
    channel: str
    result: str
    notes: str
    quote: tuple[str, Decimal | None, Decimal | None] = ("", None, None)
    gift: RenewalGift | None = None


@dataclass
class _Row:
    number: int
    ownership: Ownership
    expiry: dt.date
    estimated: bool | None
    contacts: list[_Contact]
    outcome: str
    insurer: str
    premium: Decimal | None
    policy_number: str
    reason: str
    reason_text: str


class _RowReader:
    """Validates one row into a `_Row`, collecting an error per bad cell (named by its header in the file)."""

    def __init__(self, store: Store, headers: list[str], mapping: dict[str, int], today: dt.date):
        self.store, self.headers, self.mapping, self.today = store, headers, mapping, today
        self.gifts = {_norm(g.name): g for g in RenewalGift.objects.filter(store=store)}
        self.settings = renewal_settings_get(store_id=store.pk)

    def column(self, name: str) -> str:
        index = self.mapping[name]
        return self.headers[index] if index < len(self.headers) and self.headers[index] else name

    def raw(self, cells: list, name: str):
        index = self.mapping.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    def text(self, cells: list, name: str) -> str:
        return _cell_text(self.raw(cells, name))

    def read(self, number: int, cells: list) -> tuple[_Row | None, list[RowError]]:
        errors: list[RowError] = []

        def bad(name: str, message) -> None:
            errors.append(RowError(number, self.column(name) if name in self.mapping else name, str(message)))

        ownership = self._vehicle(cells, bad)
        expiry = None
        if "expiry" in self.mapping:
            try:
                expiry = parse_date(self.raw(cells, "expiry"))
            except ValidationError as exc:
                bad("expiry", exc.messages[0])
            else:
                if expiry is None:
                    bad("expiry", gettext("Give the expiry date."))
                elif abs((expiry - self.today).days) > EXPIRY_RANGE_DAYS:
                    bad("expiry", gettext("The expiry date is more than ten years away: %(value)s") % {"value": expiry})
                    expiry = None
        estimated = None
        if "estimated" in self.mapping and (flag := _norm(self.text(cells, "estimated"))):
            estimated = flag in _YES or flag == _norm(gettext("yes"))
        contacts = self._contacts(cells, expiry, bad) if expiry else []
        outcome, reason, reason_text = self._outcome(cells, bad)
        premium = None
        if "premium" in self.mapping:
            try:
                premium = parse_decimal(self.raw(cells, "premium"))
            except ValidationError as exc:
                bad("premium", exc.messages[0])
        insurer = self.text(cells, "insurer")[:100]
        if outcome == Outcome.NOT_RENEWED and (insurer or any(w in _norm(reason_text) for w in _ELSEWHERE_WORDS)):
            outcome = Outcome.RENEWED_ELSEWHERE
        if errors or ownership is None or expiry is None:
            return None, errors
        return _Row(number, ownership, expiry, estimated, contacts, outcome, insurer, premium,
                    self.text(cells, "policy_number")[:50], reason, reason_text[:200]), errors

    def _vehicle(self, cells: list, bad) -> Ownership | None:
        owned = Ownership.objects.filter(store=self.store, valid_to__isnull=True).select_related("vehicle", "customer")
        vin, plate = self.text(cells, "vin"), self.text(cells, "plate")
        if vin:
            try:
                vin = normalize_vin(vin)
            except ValidationError as exc:
                bad("vin", exc.messages[0])
                return None
            found = list(owned.filter(vehicle__vin=vin)[:2])
            if not found:
                bad("vin", gettext("No vehicle of this store has the VIN %(value)s.") % {"value": vin})
            return found[0] if found else None
        if plate:
            try:
                plate = normalize_plate(plate)
            except ValidationError as exc:
                bad("plate", exc.messages[0])
                return None
            found = list(owned.filter(vehicle__plate=plate)[:2])
            if not found:
                bad("plate", gettext("No vehicle of this store has the plate %(value)s.") % {"value": plate})
            elif len(found) > 1:
                bad("plate", gettext("Several vehicles of this store have the plate %(value)s: give the VIN.")
                    % {"value": plate})
            return found[0] if len(found) == 1 else None
        phone, model = self.text(cells, "phone"), self.text(cells, "model")
        if not (phone and model):
            bad("plate" if "plate" in self.mapping else "vin",
                gettext("Give the plate, the VIN, or the phone and the model."))
            return None
        if "*" in phone:
            bad("phone", gettext("The phone is masked: give the plate or the VIN."))
            return None
        try:
            mobile = normalize_mobile(phone)
        except ValidationError as exc:
            bad("phone", exc.messages[0])
            return None
        found = list(owned.filter(Q(customer__mobile=mobile) | Q(customer__mobile2=mobile),
                                  vehicle__model__iexact=model)[:2])
        if len(found) != 1:
            bad("phone", gettext("No single vehicle of this store has this phone and model: give the plate or the VIN.")
                if found else gettext("No vehicle of this store has this phone and model."))
            return None
        return found[0]

    def _contacts(self, cells: list, expiry: dt.date, bad) -> list[_Contact]:
        contacts = []
        for n in range(1, SHEET_CONTACTS + 1):
            part = {p: f"contact{n}_{p}" for p in CONTACT_PARTS}
            cell = f"contact{n}"
            if not any(self.text(cells, name) for name in (cell, *part.values())):
                continue
            day, words = None, []
            date_field = part["date"] if self.text(cells, part["date"]) else cell
            try:
                if self.text(cells, part["date"]):
                    day = parse_date(self.raw(cells, part["date"]))
                if self.text(cells, cell):
                    found, rest = _contact_date(self.raw(cells, cell), expiry)
                    day = day or found
                    words.append(rest)
            except ValidationError as exc:
                bad(date_field, exc.messages[0])
                continue
            if day is not None and day > self.today:
                bad(date_field, gettext("A contact cannot be in the future: %(value)s") % {"value": day})
                continue
            result_text, channel_text = self.text(cells, part["result"]), self.text(cells, part["channel"])
            free = " ".join(w for w in [*words, result_text] if w)
            result = _choice_from_text(result_text, ContactResult, _RESULT_WORDS) if result_text else None
            result = result or _choice_from_text(free, ContactResult, _RESULT_WORDS) or ContactResult.THINKING
            channel = _choice_from_text(channel_text or free, ContactChannel, _CHANNEL_WORDS) or ContactChannel.PHONE
            contact = _Contact(n, day, channel, result, free)
            if quote := self.text(cells, part["quote"]):
                contact.quote = _parse_quote(quote)
                if result not in EFFECTIVE_RESULTS:
                    contact.notes = f"{contact.notes} {quote}".strip()
                    contact.quote = ("", None, None)
            if gift := self.text(cells, part["gift"]):
                found = self.gifts.get(_norm(re.sub(r"\s*[(（].*[)）]\s*$", "", gift)))
                if found is not None and result in EFFECTIVE_RESULTS:
                    contact.gift = found
                else:
                    contact.notes = f"{contact.notes} {gift}".strip()
            contacts.append(contact)
        return contacts

    def _outcome(self, cells: list, bad) -> tuple[str, str, str]:
        answer = _norm(self.text(cells, "renewed"))
        reason_text = self.text(cells, "reason")
        if not answer or answer in _OPEN or answer == _norm(pgettext("renewal sheet", "open")):
            return "", "", ""
        if answer in _YES or answer == _norm(gettext("yes")):
            return Outcome.RENEWED_HERE, "", ""
        if answer in _NO or answer == _norm(gettext("no")):
            if not reason_text:
                return Outcome.NOT_RENEWED, "", ""
            if reason := _choice_from_text(reason_text, LossReason, ()):
                return Outcome.NOT_RENEWED, reason, ""  # a reason's label, as the export writes it
            label, colon, rest = reason_text.replace("：", ":").partition(":")
            if colon and (reason := _choice_from_text(label, LossReason, ())):
                return Outcome.NOT_RENEWED, reason, rest.strip()  # "label: the store's words"
            reason = _choice_from_text(reason_text, LossReason, _REASON_WORDS) or LossReason.OTHER
            return Outcome.NOT_RENEWED, reason, reason_text
        bad("renewed", gettext("Write 是 or 否 (yes or no), or leave it empty while open: %(value)s")
            % {"value": self.text(cells, "renewed")})
        return "", "", ""


def _segment(vehicle_id: int, policy: InsurancePolicy | None, expiry: dt.date, today: dt.date) -> str:
    """The case's segment, as the daily run computes it (`generation._policy_cases_sql`, `_estimated_cases_sql`)."""
    if policy is not None:
        return Segment.NEW_CAR_FIRST if policy.kind == PolicyKind.NEW_CAR else Segment.RENEWED_HERE
    last = InsurancePolicy.objects.filter(vehicle_id=vehicle_id, expiry_date__lt=expiry).aggregate(
        last=Max("expiry_date"))["last"]
    lapsed = last is not None and expiry.year - last.year <= LAPSED_YEARS_MAX
    visited = RepairOrder.objects.filter(
        vehicle_id=vehicle_id, settled_at__gte=business_day_start(today - dt.timedelta(days=VISIT_DAYS))
    ).exclude(kind=RepairKind.INTERNAL).exists()
    if lapsed:
        return Segment.LAPSED_RETURNED if visited else Segment.LAPSED_LOST
    return Segment.INSURED_ELSEWHERE


def _case_for(store: Store, row: _Row, today: dt.date) -> tuple[RenewalCase, bool]:
    """The vehicle's case of that policy year (expiry within `SAME_YEAR_DAYS`, as the daily run keeps one), or a
    new one: from our policy expiring then (not estimated), else from the sheet's date."""
    vehicle, near = row.ownership.vehicle, dt.timedelta(days=SAME_YEAR_DAYS)
    policy = min(
        InsurancePolicy.objects.filter(store=store, vehicle=vehicle, expiry_date__gt=row.expiry - near,
                                       expiry_date__lt=row.expiry + near),
        key=lambda p: (abs((p.expiry_date - row.expiry).days), p.pk), default=None,
    )
    expiry = policy.expiry_date if policy is not None else row.expiry
    existing = min(
        RenewalCase.objects.select_for_update().filter(vehicle=vehicle, expiry_date__gt=expiry - near,
                                                       expiry_date__lt=expiry + near),
        key=lambda c: (abs((c.expiry_date - expiry).days), c.pk), default=None,
    )
    if existing is not None:
        return existing, False
    if policy is not None and RenewalCase.objects.filter(policy=policy).exists():
        policy = None  # already the expiring policy of another year's case
    segment = _segment(vehicle.pk, policy, expiry, today)
    case = RenewalCase(
        store=store, customer=row.ownership.customer, vehicle=vehicle, policy=policy, expiry_date=expiry,
        expiry_estimated=False if policy is not None else bool(row.estimated), segment=segment,
        priority=SEGMENT_PRIORITY[Segment(segment)],
        previous_insurer=policy.insurer if policy is not None else "",
        previous_premium=policy.premium if policy is not None else None,
    )
    case.full_clean(exclude=_KEYS[RenewalCase], validate_constraints=False)
    case.save()
    return case, True


# foreign keys are not validated row by row (one query each): every one is set here from rows just read
_KEYS = {model: [f.name for f in model._meta.fields if f.is_relation] for model in (RenewalCase, RenewalContact)}


def _write_row(actor, store: Store, row: _Row, today: dt.date, result: SheetImportResult, settings_) -> None:
    case, created = _case_for(store, row, today)
    result.cases_created += created
    result.cases_found += not created
    existing = list(RenewalContact.objects.filter(case=case).order_by("number"))
    now = timezone.now()
    if row.contacts and any(not k.imported for k in existing):
        result.notes.append(RowError(row.number, "", gettext(
            "The case already has contacts recorded in aftercare: the sheet's contacts were not imported.")))
    elif row.contacts:
        # the sheet's filled contacts in order take the numbers 1, 2, …; those imported before stay as they are
        result.contacts_unchanged += min(len(existing), len(row.contacts))
        made = []
        for number, item in enumerate(row.contacts[len(existing):], start=len(existing) + 1):
            effective = item.result in EFFECTIVE_RESULTS
            contacted_at = (dt.datetime.combine(item.date, dt.time(12), tzinfo=business_tz())
                            if effective and item.date else None)
            insurer, premium, discount = item.quote
            contact = RenewalContact(
                store=store, case=case, number=number,
                due_on=item.date or contact_due_on(settings_, case.expiry_date, number),
                channel=item.channel, result=item.result, effective=effective, contacted_at=contacted_at,
                quote_insurer=insurer, quote_premium=premium, quote_discount=discount,
                gift=item.gift, gift_cost=item.gift.cost if item.gift else None,
                notes=item.notes, imported=True,
            )
            contact.full_clean(exclude=_KEYS[RenewalContact], validate_constraints=False)
            made.append(contact)
        RenewalContact.objects.bulk_create(made)
        result.contacts_created += len(made)
        if made:
            latest = max((k.contacted_at for k in made if k.contacted_at), default=None)
            renewal_case_counters_add(case, attempts=len(made), contacted_at=latest)
    if row.outcome and not case.outcome:
        case.outcome = row.outcome
        case.outcome_insurer = row.insurer
        case.outcome_premium = row.premium if row.outcome == Outcome.RENEWED_HERE else None
        case.outcome_policy_number = row.policy_number if row.outcome == Outcome.RENEWED_HERE else ""
        case.outcome_reason = row.reason if row.outcome != Outcome.RENEWED_HERE else ""
        case.outcome_reason_text = row.reason_text if case.outcome_reason else ""  # the store's own words
        case.outcome_by, case.outcome_at = actor, now
        if case.renewed_policy_id is None:
            case.state = row.outcome
        case.closed_at = case.closed_at or now
        case.full_clean(exclude=_KEYS[RenewalCase], validate_constraints=False)
        case.save()
        FollowupTask.objects.filter(renewal_contact__case_id=case.pk, status__in=ACTIVE_STATUSES).update(
            status=TaskStatus.CANCELLED, status_reason="renewal_outcome", completed_at=now, updated_at=now
        )
        result.outcomes_recorded += 1


MAX_ROWS = settings.IMPORT_SYNC_MAX_ROWS  # a store's sheet is imported in the request


def renewal_sheet_import(*, actor, store: Store, file, filename: str = "") -> SheetImportResult:
    """Import a store's renewal follow-up sheet (CSV or XLSX; Chinese or English headers, as a store's sheet or
    this app's export has them). Each row in its own transaction: a row with any bad value is rejected whole
    (one error per bad cell: file row and column), the others are imported. Rows are matched to a vehicle the
    store's customer owns (VIN, else plate, else phone + model); the vehicle's case of that policy year is found
    or made; the filled contacts are added as imported history (no task, no call; numbered in the sheet's order;
    kept out when the case already has contacts recorded in the app); 是/否 and the reason become the outcome,
    unless one is recorded already. Importing the same file again creates nothing twice. A file that cannot be
    read gives `file_error` and changes nothing. Audited as one `import` event."""

    require_perm(actor, Perm.RENEWAL_MANAGE)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    result = SheetImportResult()
    today = business_date()
    try:
        with local_path(file) as path:
            if count_rows(path, MAX_ROWS + 10) > MAX_ROWS + 10:
                raise SheetFileError(gettext("The sheet has more than %(n)s rows: split it into smaller files.")
                                     % {"n": MAX_ROWS})
            with open_table(path, import_aliases()) as table:
                _check_columns(table.mapping)
                reader = _RowReader(store, table.headers, table.mapping, today)
                for number, cells in table.rows:
                    if not any(_cell_text(c) for c in cells):
                        continue
                    result.rows += 1
                    if result.rows > MAX_ROWS:
                        raise SheetFileError(gettext("The sheet has more than %(n)s rows: split it into smaller "
                                                     "files.") % {"n": MAX_ROWS})
                    _import_row(actor, store, reader, number, cells, today, result)
    except (ImportFileError, SheetFileError) as exc:
        result.file_error = str(exc)
    audit_event_record(
        actor=actor, action=AuditAction.IMPORT, object_type=RenewalCase._meta.label_lower, store_id=store.pk,
        detail={"report": "renewal_sheet", "filename": os.path.basename(filename)[:100], "rows": result.rows,
                "imported": result.imported_rows, "rejected": result.rejected_rows,
                "cases_created": result.cases_created, "contacts_created": result.contacts_created,
                "outcomes": result.outcomes_recorded, "failed": bool(result.file_error)},
    )
    return result


def _check_columns(mapping: dict[str, int]) -> None:
    if "expiry" not in mapping:
        raise SheetFileError(gettext("The sheet has no expiry date column (保险到期日 / Expiry date)."))
    if not ({"vin", "plate"} & mapping.keys() or {"phone", "model"} <= mapping.keys()):
        raise SheetFileError(gettext("The sheet needs a plate (车牌) or VIN (车架号) column, or phone and model."))


def _import_row(actor, store, reader: _RowReader, number: int, cells: list, today, result) -> None:
    try:
        row, errors = reader.read(number, cells)
    except (ValueError, ArithmeticError) as exc:  # a value no check foresaw: this row's error, never a 500
        logger.warning("renewal sheet import: row %s unreadable: %r", number, exc)
        row, errors = None, [RowError(number, "", gettext("The row could not be read."))]
    if errors or row is None:
        result.rejected_rows += 1
        result.listed(result.errors, errors)
        return
    part = SheetImportResult()
    try:
        with transaction.atomic():
            _write_row(actor, store, row, today, part, reader.settings)
    except (ValidationError, IntegrityError, ValueError, ArithmeticError) as exc:
        result.rejected_rows += 1
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else gettext(
            "The row could not be saved.")
        result.listed(result.errors, [RowError(number, "", message)])
        return
    for name in ("cases_created", "cases_found", "contacts_created", "contacts_unchanged", "outcomes_recorded"):
        setattr(result, name, getattr(result, name) + getattr(part, name))
    result.listed(result.notes, part.notes)
    result.imported_rows += 1
