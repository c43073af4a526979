"""Normalisers and checks for customer data: CN mobiles, VINs, plates, dates, numbers.

Shared by forms, services and the DMS importer. Every function raises
`ValidationError` with a message a user can act on, or returns the normal form.
"""

import datetime as dt
import operator
import re
import unicodedata
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from vininfo import Vin

_FAST_CN_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_SEPARATORS = re.compile(r"[\s\-()（）]")

# Plates: province abbreviation + letter + 5 chars (ordinary) or 6 (new energy, 8 total).
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
PLATE = re.compile(
    rf"^[{PROVINCES}][A-HJ-NP-Z](?:[A-HJ-NP-Z0-9]{{4}}[A-HJ-NP-Z0-9挂学警港澳]|[DFA-HJK][A-HJ-NP-Z0-9]{{5}}|[A-HJ-NP-Z0-9]{{5}}[DF])$"
)


def clean_text(value) -> str:
    """NFKC (full-width → half-width), strip, collapse inner spaces."""
    if value is None:
        return ""
    if type(value) is str and value.isalnum() and (value.isascii() or unicodedata.is_normalized("NFKC", value)):
        return value  # the common case (a name, a code, a word): nothing to change, found without copying
    text = unicodedata.normalize("NFKC", str(value))
    return " ".join(text.split())


def normalize_mobile(value) -> str:
    """Return a CN phone number in E.164 (+86…); '' for empty. Raises on anything unusable."""
    text = _SEPARATORS.sub("", clean_text(value))
    if not text:
        return ""
    if text.endswith(".0") and text[:-2].isdigit():  # Excel turned it into a float
        text = text[:-2]
    fast = _FAST_CN_MOBILE.match(text)
    if fast:
        return "+86" + fast.group(1)
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Not a phone number: %(value)s"), params={"value": value}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Not a valid phone number: %(value)s"), params={"value": value})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_mobile(e164: str) -> str:
    """+8613812345678 → 138****5678."""
    digits = e164[3:] if e164.startswith("+86") else e164
    if len(digits) < 7:
        return "****"
    return digits[:3] + "****" + digits[-4:]


def normalize_vin(value) -> str:
    """Upper-case VIN of 17 characters with a valid check digit (position 9)."""
    vin = clean_text(value).replace(" ", "").upper()
    if not re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", vin):
        raise ValidationError(
            _("VIN must be 17 characters, letters I, O, Q not allowed: %(value)s"), params={"value": value}
        )
    if not Vin(vin).verify_checksum(check_year=False):
        raise ValidationError(_("VIN check digit is wrong: %(value)s"), params={"value": value})
    return vin


# ISO 3779 / GB 16735: each character's value times its position's weight, modulo 11 (10 is "X").
_VIN_VALUES = {str(d): d for d in range(10)} | dict(
    zip("ABCDEFGHJKLMNPRSTUVWXYZ", (1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)
_VIN_BYTES = bytes.maketrans(bytes("".join(_VIN_VALUES), "ascii"), bytes(_VIN_VALUES.values()))
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin17: str) -> str:
    """The check digit a VIN of 17 valid characters should carry at position 9 (the weighted sum vininfo's
    `verify_checksum` checks; fast enough for an import's every cell and for generating data)."""
    total = sum(map(operator.mul, vin17.encode("ascii").translate(_VIN_BYTES), _VIN_WEIGHTS)) % 11
    return "X" if total == 10 else str(total)


def normalize_plate(value) -> str:
    """China plate: 7 characters, or 8 for new-energy plates. '' for empty."""
    plate = clean_text(value).replace(" ", "").replace("·", "").replace("-", "").upper()
    if not plate:
        return ""
    if not PLATE.match(plate):
        raise ValidationError(_("Not a China licence plate: %(value)s"), params={"value": value})
    return plate


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def parse_date(value) -> dt.date | None:
    """Dates as DMS exports write them: ISO, 2024/3/5, 2024年3月5日, 20240305, Excel serials."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)):
        return _from_serial(value)
    text = clean_text(value)
    if not text:
        return None
    text = text.split(" ")[0].split("T")[0]
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return _from_serial(float(text))
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError(_("Not a date: %(value)s"), params={"value": value})


def parse_datetime(value, tz) -> dt.datetime | None:
    """A date with optional time (local to `tz`) → aware datetime. Date only = 00:00 local."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, (int, float)):
        days = float(value)
        base = dt.datetime.combine(_EXCEL_EPOCH, dt.time(0)) + dt.timedelta(days=days)
        return base.replace(tzinfo=tz)
    text = clean_text(value)
    if not text:
        return None
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return parse_datetime(float(text), tz)
    date_part, _sep, time_part = text.replace("T", " ").partition(" ")
    day = parse_date(date_part)
    if not time_part:
        return dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            t = dt.datetime.strptime(time_part, fmt).time()
            return dt.datetime.combine(day, t, tzinfo=tz)
        except ValueError:
            continue
    raise ValidationError(_("Not a time: %(value)s"), params={"value": value})


def _from_serial(serial: float) -> dt.date:
    if not 1 <= serial < 2958466:
        raise ValidationError(_("Not a date: %(value)s"), params={"value": serial})
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def parse_decimal(value, *, minimum: Decimal | None = Decimal(0)) -> Decimal | None:
    """Money: full-width digits, thousands separators and ¥ accepted."""
    if value is None or value == "":
        return None
    text = clean_text(value).replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").strip()
    if not text:
        return None
    try:
        number = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationError(_("Not a number: %(value)s"), params={"value": value}) from None
    if minimum is not None and number < minimum:
        raise ValidationError(_("Must not be negative: %(value)s"), params={"value": value})
    return number


def parse_int(value) -> int | None:
    if value is None or value == "":
        return None
    text = clean_text(value).replace(",", "").replace("km", "").replace("公里", "").strip()
    if not text:
        return None
    try:
        number = int(Decimal(text))
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Not a whole number: %(value)s"), params={"value": value}) from None
    if number < 0:
        raise ValidationError(_("Must not be negative: %(value)s"), params={"value": value})
    return number
