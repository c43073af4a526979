"""What each DMS import kind reads: columns, header aliases (Chinese and English) and value parsers.

Parsers take a raw cell (str from CSV; str/int/float/datetime from XLSX) and return the
normalised value (None for empty) or raise `ValidationError`. The common shapes take a fast
path; anything else goes through `aftercare.customers.validators`, which also words the errors.
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from unicodedata import is_normalized

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftercare.core.text import clean_text as drop_controls
from aftercare.core.text import has_control_chars
from aftercare.customers import validators as v
from aftercare.customers.choices import BackgroundCategory, PolicyKind, RepairKind
from aftercare.org.calendar import business_tz

from .choices import ImportKind

TZ = business_tz()  # read per cell: kept, as the zone is fixed at start-up
_EIGHT_HOURS = dt.timedelta(hours=8)
MAX_INT = 2_147_483_647
MAX_MONEY = Decimal("9999999999.99")


def cell_text(value) -> str:
    """A non-str XLSX cell as text (13812345678.0 → '13812345678')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def p_text(value):
    """Free text: NFKC, spaces collapsed, and no C0 control characters (`core.text.has_control_chars` first: the
    search is one C call per cell, the substitution runs only for the rare cell that has one)."""
    if type(value) is str and value.isalnum() and (value.isascii() or is_normalized("NFKC", value)):
        return value  # the common case (a name, a word): as `validators.clean_text` keeps it, no control character
    text = v.clean_text(value if type(value) is str else cell_text(value))
    if text and has_control_chars(text):
        text = " ".join(drop_controls(text).split())
    return text or None


_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)  # ASCII: full-width digits go the slow way


def p_mobile(value):
    if type(value) is str and _MOBILE.fullmatch(value):
        return "+86" + value
    return v.normalize_mobile(value if type(value) is str else cell_text(value)) or None


_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_WMI_USES_CHECK_DIGIT: dict[str, bool] = {}
# VINs recur (several orders per car, spread over the file): remember the valid ones. A cell that is a valid VIN as it
# stands (the usual case) is remembered by its hash alone (~50 bytes, not ~180 for a dict entry), so a whole big
# file's cars fit: a different cell with the same 64-bit hash (keyed per process) would be taken unchecked; the
# database's check of the VIN's form still applies.
_VALID_VIN_HASHES: set[int] = set()
_VALID_VIN_HASHES_MAX = 300_000
_VALID_VINS: dict[str, str] = {}  # the other valid cells (lower case, spaces): cell → VIN
_VALID_VINS_MAX = 50_000


def _vin_check(vin: str) -> bool:
    """The check digit of a VIN of 17 valid characters (`_VIN`) is right."""
    return vin[8] == v.vin_check_digit(vin)


def p_vin(value):
    """`validators.normalize_vin`, with the check digit computed here once a maker (WMI) is known to use it."""
    if type(value) is str:
        if hash(value) in _VALID_VIN_HASHES:
            return value
        known = _VALID_VINS.get(value)
        if known:
            return known
    text = value.strip().upper() if type(value) is str else cell_text(value).strip().upper()
    if not text:
        return None
    if _VIN.fullmatch(text) and _WMI_USES_CHECK_DIGIT.get(text[:3]) and _vin_check(text):
        vin = text
    else:
        vin = v.normalize_vin(text)
        _WMI_USES_CHECK_DIGIT[vin[:3]] = True
    if type(value) is str:
        if vin == value:
            if len(_VALID_VIN_HASHES) >= _VALID_VIN_HASHES_MAX:
                _VALID_VIN_HASHES.clear()
            _VALID_VIN_HASHES.add(hash(value))
        else:
            if len(_VALID_VINS) >= _VALID_VINS_MAX:
                _VALID_VINS.clear()
            _VALID_VINS[value] = vin
    return vin


def p_plate(value):
    if type(value) is str and v.PLATE.fullmatch(value):  # already as stored: upper case, no spaces or dots
        return value
    return v.normalize_plate(value if type(value) is str else cell_text(value)) or None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def p_date(value):
    """ISO date text 'YYYY-MM-DD'."""
    if type(value) is str and len(value) == 10 and _ISO_DATE.fullmatch(value):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    day = v.parse_date(value)
    if day is None:
        return None
    if not 1900 <= day.year <= 2100:
        raise ValidationError(_("Not a plausible date: %(value)s"), params={"value": value})
    return day.isoformat()


_ISO_DATETIME = re.compile(r"((\d{4})-(\d{2})-(\d{2}))(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", re.ASCII)


def p_datetime(value):
    """(UTC 'YYYY-MM-DD HH:MM:SS', local date 'YYYY-MM-DD'); the text is local time (Asia/Shanghai)."""
    if type(value) is str:
        size = len(value)
        # as DMS exports mostly write it ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM', 'YYYY-MM-DD HH:MM:SS', or with a T):
        # parsed in C, 2.5x faster than the pattern below, which takes every other form
        if (
            (size == 10 or (size in (16, 19) and value[10] in " T" and value[13] == ":" and value[16:17] in ("", ":")))
            and value[4] == "-" == value[7]
            and BUSINESS_TZ_IS_CHINA
        ):
            try:
                local = dt.datetime.fromisoformat(value)
            except ValueError:
                local = None
            if local is not None and 1992 <= local.year <= 2100 and local.tzinfo is None:
                return (local - _EIGHT_HOURS).isoformat(sep=" "), value[:10]
        m = _ISO_DATETIME.fullmatch(value.strip())
        if m and 1992 <= int(m[2]) <= 2100 and BUSINESS_TZ_IS_CHINA:  # no DST in China since 1991
            try:
                local = dt.datetime(int(m[2]), int(m[3]), int(m[4]), int(m[5] or 0), int(m[6] or 0), int(m[7] or 0))
            except ValueError:
                local = None
            if local is not None:
                return (local - _EIGHT_HOURS).isoformat(sep=" "), m[1]
    aware = v.parse_datetime(value, TZ)
    if aware is None:
        return None
    if not 1900 <= aware.year <= 2100:
        raise ValidationError(_("Not a plausible date: %(value)s"), params={"value": value})
    utc = aware.astimezone(dt.UTC).replace(tzinfo=None)
    return utc.isoformat(sep=" "), aware.astimezone(TZ).date().isoformat()


BUSINESS_TZ_IS_CHINA = settings.BUSINESS_TIME_ZONE in {"Asia/Shanghai", "Asia/Chongqing", "PRC", "Asia/Harbin"}


# amounts as DMS exports write them, which `validators.parse_decimal` would return unchanged but for the cents
_PLAIN_MONEY = re.compile(r"(?:0|[1-9][0-9]{0,9})(\.[0-9]{0,2})?")
_CENTS = (".00", "00", "0", "")  # by the length of the decimal part, dot included


def p_money(value):
    if type(value) is str and (m := _PLAIN_MONEY.fullmatch(value)):
        return value + _CENTS[len(m[1] or "")]
    number = v.parse_decimal(value if type(value) is str else cell_text(value))
    if number is None:
        return None
    if number > MAX_MONEY:
        raise ValidationError(_("Amount is too large: %(value)s"), params={"value": value})
    return str(number)


def p_int(value):
    if type(value) is str and value.isdigit() and value.isascii():
        number = int(value)
    else:
        number = v.parse_int(value if type(value) is str else cell_text(value))
        if number is None:
            return None
    if number > MAX_INT:
        raise ValidationError(_("Number is too large: %(value)s"), params={"value": value})
    return number


def _choice_parser(table: dict[str, str], choices, message):
    lookup = {}
    for label, code in table.items():
        lookup[label.lower()] = code
    for code, label in choices:
        lookup[code.lower()] = code
        lookup[str(label).lower()] = code
    accepted = ", ".join(table)

    def parse(value):
        text = v.clean_text(value if type(value) is str else cell_text(value))
        if not text:
            return None
        code = lookup.get(text.lower()) or lookup.get(text.lower().replace(" ", ""))
        if code is None:
            raise ValidationError(message, params={"value": text, "accepted": accepted})
        return code

    return parse


REPAIR_KIND_LABELS = {
    "保养": RepairKind.MAINTENANCE,
    "定保": RepairKind.MAINTENANCE,
    "定期保养": RepairKind.MAINTENANCE,
    "常规保养": RepairKind.MAINTENANCE,
    "首保": RepairKind.FIRST_FREE_MAINTENANCE,
    "首次保养": RepairKind.FIRST_FREE_MAINTENANCE,
    "免费保养": RepairKind.FIRST_FREE_MAINTENANCE,
    "机修": RepairKind.MECHANICAL,
    "一般维修": RepairKind.MECHANICAL,
    "维修": RepairKind.MECHANICAL,
    "钣金": RepairKind.BODY,
    "钣喷": RepairKind.BODY,
    "喷漆": RepairKind.PAINT,
    "油漆": RepairKind.PAINT,
    "洗车": RepairKind.WASH,
    "美容": RepairKind.WASH,
    "索赔": RepairKind.WARRANTY_CLAIM,
    "保修": RepairKind.WARRANTY_CLAIM,
    "三包": RepairKind.WARRANTY_CLAIM,
    "保险": RepairKind.INSURANCE_JOB,
    "事故": RepairKind.INSURANCE_JOB,
    "事故车": RepairKind.INSURANCE_JOB,
    "内部": RepairKind.INTERNAL,
    "内部结算": RepairKind.INTERNAL,
}
p_repair_kind = _choice_parser(
    REPAIR_KIND_LABELS,
    RepairKind.choices,
    _("Unknown repair kind %(value)s; use one of %(accepted)s or the English codes"),
)

POLICY_KIND_LABELS = {
    "新保": PolicyKind.NEW_CAR,
    "新车": PolicyKind.NEW_CAR,
    "新车险": PolicyKind.NEW_CAR,
    "新车保单": PolicyKind.NEW_CAR,
    "续保": PolicyKind.RENEWAL,
    "转保": PolicyKind.RENEWAL,
    "新转续": PolicyKind.RENEWAL,
}
p_policy_kind = _choice_parser(
    POLICY_KIND_LABELS, PolicyKind.choices, _("Unknown policy kind %(value)s; use one of %(accepted)s")
)

BACKGROUND_LABELS = {
    "私人": BackgroundCategory.PRIVATE,
    "个人": BackgroundCategory.PRIVATE,
    "私家车": BackgroundCategory.PRIVATE,
    "公司": BackgroundCategory.COMPANY,
    "单位": BackgroundCategory.COMPANY,
    "企业": BackgroundCategory.COMPANY,
    "车队": BackgroundCategory.COMPANY,
    "政府": BackgroundCategory.GOVERNMENT,
    "机关": BackgroundCategory.GOVERNMENT,
    "事业单位": BackgroundCategory.GOVERNMENT,
    "出租": BackgroundCategory.TAXI,
    "出租车": BackgroundCategory.TAXI,
    "网约车": BackgroundCategory.TAXI,
    "其他": BackgroundCategory.OTHER,
}
p_background = _choice_parser(
    BACKGROUND_LABELS, BackgroundCategory.choices, _("Unknown customer category %(value)s; use one of %(accepted)s")
)

_TRUE = {"是", "y", "yes", "true", "1", "t", "预约", "已预约", "√", "✓"}
_FALSE = {"否", "n", "no", "false", "0", "f", "未预约", "非预约", "×"}


def p_bool(value):
    if isinstance(value, bool):
        return value
    text = v.clean_text(value if type(value) is str else cell_text(value)).lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(_("Expected yes/no (是/否): %(value)s"), params={"value": value})


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # lazy: shown in the reader's language
    aliases: tuple[str, ...]
    parse: Callable
    max_length: int | None = None
    fmt: str = ""


def F(name, label, aliases, parse=p_text, max_length=None, fmt=""):  # noqa: N802 - a short table constructor
    return Field(name, label, tuple(aliases), parse, max_length, fmt)


CUSTOMER_FIELDS = (
    F("customer_code", _("DMS customer code"),
      ["客户编号", "客户代码", "客户号", "客户ID", "DMS客户编号", "customer code", "customer no", "customer number",
       "customer id", "dms code"], max_length=50),
    F("name", _("Customer name"),
      ["客户姓名", "客户名称", "姓名", "车主", "车主姓名", "客户", "name", "customer name", "customer", "owner"],
      max_length=100),
    F("mobile", _("Mobile"),
      ["联系电话", "手机", "手机号", "手机号码", "电话", "客户电话", "车主电话", "客户手机", "移动电话",
       "mobile", "phone", "mobile phone", "telephone", "tel"],
      p_mobile, fmt="13812345678, +86 138 1234 5678, full-width digits"),
    F("mobile2", _("Second phone"),
      ["备用电话", "其他电话", "电话2", "固定电话", "座机", "second phone", "phone 2", "mobile 2", "landline"],
      p_mobile, fmt="phone (mobile or landline)"),
    F("address", _("Address"), ["地址", "联系地址", "客户地址", "住址", "address"], max_length=255),
    F("region", _("Region / district"), ["区域", "地区", "所在区域", "区县", "region", "district"], max_length=100),
    F("birthday", _("Birthday"), ["生日", "出生日期", "birthday", "date of birth", "dob"], p_date, fmt="date"),
    F("background", _("Customer category"),
      ["客户类别", "客户类型", "客户性质", "身份", "background", "customer type", "customer category", "category"],
      p_background, fmt="私人/公司/政府/出租/其他 or private/company/government/taxi/other"),
    F("contact_person", _("Contact person"), ["联系人", "contact person", "contact"], max_length=100),
    F("contact_phone", _("Contact phone"), ["联系人电话", "联系人手机", "contact phone"], p_mobile, fmt="phone"),
)
VEHICLE_FIELDS = (
    F("vin", _("VIN"),
      ["VIN", "VIN码", "车架号", "VIN/车架号", "车架号/VIN", "车辆识别代号", "车辆识别号", "底盘号", "vin code",
       "chassis number", "frame number"], p_vin, fmt="17 characters, check digit verified"),
    F("plate", _("Plate"), ["车牌号", "车牌", "车牌号码", "号牌号码", "plate", "plate number", "licence plate",
                          "license plate"], p_plate, fmt="粤B12345, 粤BD12345 (new energy)"),
    F("brand", _("Brand"), ["品牌", "厂牌", "brand", "make"], max_length=50),
    F("model", _("Model"), ["车型", "车系", "车型名称", "model", "vehicle model"], max_length=100),
)
VEHICLE_DELIVERY_DATE = F("delivery_date", _("Delivery date"),
                          ["交车日期", "购车日期", "销售日期", "delivery date", "purchase date"], p_date, fmt="date")

DELIVERY_FIELDS = (
    F("delivered_at", _("Delivered at"),
      ["交车日期", "交车时间", "交付日期", "交付时间", "delivered at", "delivery date", "delivery time", "delivered"],
      p_datetime, fmt="date or date + time (Asia/Shanghai)"),
    F("sales_consultant", _("Sales consultant"),
      ["销售顾问", "销售员", "销售人员", "sales consultant", "salesperson", "sales"], max_length=100),
    F("order_number", _("Sales order number"),
      ["订单号", "销售订单号", "合同号", "order number", "sales order", "order no"], max_length=50),
)
REPAIR_ORDER_FIELDS = (
    F("ro_number", _("RO number"),
      ["工单号", "维修工单号", "工单编号", "委托书号", "RO号", "RO number", "RO no", "repair order",
       "repair order number", "ro"], max_length=50),
    F("settled_at", _("Settled at"),
      ["结算日期", "结算时间", "出厂日期", "出厂时间", "settled at", "settlement date", "settled", "closed at",
       "date out"], p_datetime, fmt="date or date + time (Asia/Shanghai)"),
    F("ro_kind", _("Repair kind"),
      ["维修类型", "维修类别", "工单类型", "业务类型", "repair kind", "repair type", "service type", "kind", "type"],
      p_repair_kind, fmt="保养/首保/机修/钣金/喷漆/洗车/索赔/保险/内部 or the English codes"),
    F("amount", _("Amount"),
      ["金额", "工单金额", "结算金额", "总金额", "合计金额", "实收金额", "amount", "total", "total amount"], p_money,
      fmt="number, ¥ and thousands separators allowed"),
    F("mileage", _("Mileage (km)"), ["里程", "行驶里程", "进厂里程", "公里数", "mileage", "odometer", "km"], p_int,
      fmt="whole number"),
    F("service_advisor", _("Service advisor"),
      ["服务顾问", "接待员", "服务接待", "SA", "service advisor", "advisor"], max_length=100),
    F("booked", _("Booked by appointment"), ["预约", "是否预约", "booked", "appointment", "by appointment"], p_bool,
      fmt="是/否, yes/no, 1/0"),
    F("fault", _("Fault description"),
      ["故障描述", "客户描述", "故障现象", "fault description", "fault", "complaint", "description"]),
)
POLICY_FIELDS = (
    F("policy_number", _("Policy number"),
      ["保单号", "保单号码", "商业险保单号", "policy number", "policy no", "policy"], max_length=50),
    F("insurer", _("Insurer"), ["保险公司", "承保公司", "insurer", "insurance company"], max_length=100),
    F("start_date", _("Start date"),
      ["起保日期", "生效日期", "保险起期", "起保时间", "start date", "effective date", "start"], p_date, fmt="date"),
    F("expiry_date", _("Expiry date"),
      ["到期日期", "终保日期", "保险止期", "失效日期", "到期时间", "expiry date", "end date", "expiry", "expires"],
      p_date, fmt="date"),
    F("premium", _("Premium"), ["保费", "保险费", "总保费", "premium"], p_money, fmt="number"),
    F("policy_kind", _("New car or renewal"),
      ["投保类型", "保单类型", "新保/续保", "新续保", "policy kind", "policy type", "new or renewal"], p_policy_kind,
      fmt="新保/续保 or new_car/renewal; empty = new car if it starts within 31 days of the delivery"),
)


@dataclass(frozen=True)
class KindSpec:
    kind: str
    fields: tuple[Field, ...]
    required: tuple[str, ...]

    @property
    def aliases(self) -> dict[str, tuple[str, ...]]:
        return {f.name: f.aliases for f in self.fields}

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


KINDS: dict[str, KindSpec] = {
    ImportKind.CUSTOMERS: KindSpec(
        ImportKind.CUSTOMERS, CUSTOMER_FIELDS + VEHICLE_FIELDS + (VEHICLE_DELIVERY_DATE,), ("name",)
    ),
    ImportKind.DELIVERIES: KindSpec(
        ImportKind.DELIVERIES, DELIVERY_FIELDS + VEHICLE_FIELDS + CUSTOMER_FIELDS, ("vin", "delivered_at", "name")
    ),
    ImportKind.REPAIR_ORDERS: KindSpec(
        ImportKind.REPAIR_ORDERS,
        REPAIR_ORDER_FIELDS + VEHICLE_FIELDS + (VEHICLE_DELIVERY_DATE,) + CUSTOMER_FIELDS,
        ("ro_number", "vin", "settled_at", "ro_kind", "name"),
    ),
    ImportKind.POLICIES: KindSpec(
        ImportKind.POLICIES,
        POLICY_FIELDS + VEHICLE_FIELDS + (VEHICLE_DELIVERY_DATE,) + CUSTOMER_FIELDS,
        ("policy_number", "vin", "insurer", "start_date", "expiry_date", "name"),
    ),
}
