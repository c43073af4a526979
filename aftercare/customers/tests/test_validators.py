import datetime as dt
import unicodedata
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from aftercare.customers import validators as v
from aftercare.testing.factories import make_vin


@pytest.mark.parametrize(
    "raw",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+8613812345678", "8613812345678", "１３８１２３４５６７８",
     "13812345678.0"],
)
def test_it_normalises_cn_mobiles(raw):
    assert v.normalize_mobile(raw) == "+8613812345678"


def test_it_accepts_landlines_via_phonenumbers():
    assert v.normalize_mobile("020-87654321") == "+862087654321"


@pytest.mark.parametrize("raw", ["12345", "abc", "1381234567"])
def test_it_rejects_bad_phones(raw):
    with pytest.raises(ValidationError):
        v.normalize_mobile(raw)


def test_it_masks_mobiles():
    assert v.mask_mobile("+8613812345678") == "138****5678"


@translation.override("en")  # the assertions match the English messages
def test_it_checks_the_vin_check_digit():
    vin = make_vin(42)
    assert v.normalize_vin(vin.lower()) == vin
    wrong = vin[:8] + ("1" if vin[8] != "1" else "2") + vin[9:]
    with pytest.raises(ValidationError, match="check digit"):
        v.normalize_vin(wrong)
    with pytest.raises(ValidationError, match="17 characters"):
        v.normalize_vin("LSGAB12E8RO000001")  # letter O


@given(st.integers(min_value=0, max_value=9_999_999))
def test_it_generates_only_valid_vins(n):
    assert v.normalize_vin(make_vin(n)) == make_vin(n)


@pytest.mark.parametrize(
    "raw,expected",
    [("粤B12345", "粤B12345"), ("粤b 12345", "粤B12345"), ("粤B·12345", "粤B12345"),
     ("粤BD12345", "粤BD12345"), ("粤B12345D", "粤B12345D"), ("京AF0236", "京AF0236"), ("", "")],
)
def test_it_normalises_plates(raw, expected):
    assert v.normalize_plate(raw) == expected


@pytest.mark.parametrize("raw", ["B12345", "粤B1234", "粤BI2345X9", "ABCDEFG"])
def test_it_rejects_bad_plates(raw):
    with pytest.raises(ValidationError):
        v.normalize_plate(raw)


@pytest.mark.parametrize(
    "raw,expected",
    [("2024-03-05", dt.date(2024, 3, 5)), ("2024/3/5", dt.date(2024, 3, 5)), ("2024年3月5日", dt.date(2024, 3, 5)),
     ("20240305", dt.date(2024, 3, 5)), (45356, dt.date(2024, 3, 5)), ("45356", dt.date(2024, 3, 5)),
     ("２０２４/３/５", dt.date(2024, 3, 5)), ("2024/3/5 14:30", dt.date(2024, 3, 5)), ("", None)],
)
def test_it_parses_dms_dates(raw, expected):
    assert v.parse_date(raw) == expected


def test_it_parses_local_datetimes():
    sh = ZoneInfo("Asia/Shanghai")
    assert v.parse_datetime("2024/3/5 8:30", sh) == dt.datetime(2024, 3, 5, 8, 30, tzinfo=sh)
    assert v.parse_datetime("2024/3/5", sh) == dt.datetime(2024, 3, 5, tzinfo=sh)


def test_it_rejects_non_dates():
    with pytest.raises(ValidationError):
        v.parse_date("next tuesday")


def test_it_parses_money_and_integers():
    assert v.parse_decimal("¥１,234.5") == Decimal("1234.50")
    assert v.parse_int(" 12,000 km") == 12000
    with pytest.raises(ValidationError):
        v.parse_decimal("-5")
    with pytest.raises(ValidationError):
        v.parse_int("twelve")


@given(st.text() | st.sampled_from(["王伟", "ＡＢＣ１２３", "RO0001", "ｶ", "①", "A\u0301", "张 三", "ﬁ"]))
def test_it_cleans_text_as_nfkc_with_collapsed_spaces(text):
    # clean_text returns a plain word unchanged without normalising it; the result must not differ
    assert v.clean_text(text) == " ".join(unicodedata.normalize("NFKC", text).split())
