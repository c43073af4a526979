import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, example, given
from hypothesis import strategies as st
from vininfo import Vin

from aftercare.customers import validators
from aftercare.dms import fields
from aftercare.dms.importing.validation import memoized

VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def uses_check_digit(vin: str) -> bool:
    """vininfo's view: a maker that does not use SAE check digits (Ford Australia, 6FP…) never verifies."""
    return getattr(Vin(vin).assembler, "uses_sae_checkdigit", True)


@given(st.text(alphabet=VIN_CHARS, min_size=17, max_size=17))
@example("6FP00000000000000")  # Ford Australia: excluded, as below
def test_it_computes_the_vin_check_digit_as_vininfo_does(vin):
    assume(uses_check_digit(vin))
    assert fields._vin_check(vin) == Vin(vin).verify_checksum(check_year=False)


def test_it_never_accepts_a_vin_of_a_maker_without_check_digits():
    # p_vin's own check digit is used only once the validators have accepted a VIN of that maker (WMI)
    for digit in "0123456789X":
        with pytest.raises(ValidationError):
            fields.p_vin("6FPAAAAJ" + digit + "GAB12345")


def test_it_parses_a_repeated_value_once_and_never_remembers_a_refused_one():
    calls = []

    def parse(raw):
        calls.append(raw)
        if raw == "bad":
            raise ValidationError("bad")
        return raw.upper() if isinstance(raw, str) else raw * 2

    parse_memo = memoized(parse, size=2)
    assert [parse_memo(x) for x in ["a", "a", "b", "a"]] == ["A", "A", "B", "A"]
    assert calls == ["a", "b"]
    for _ in range(2):  # refused each time, parsed each time
        with pytest.raises(ValidationError):
            parse_memo("bad")
    assert calls == ["a", "b", "bad", "bad"]
    assert [parse_memo("c"), parse_memo("c")] == ["C", "C"]  # beyond `size`: parsed, not remembered
    assert calls[-2:] == ["c", "c"]
    # a typed XLSX cell is parsed every time (1, 1.0 and True are equal keys: never remembered)
    assert [parse_memo(1), parse_memo(True)] == [2, 2]
    assert calls[-2:] == [1, True]


def _outcome(parse, value):
    """What `parse` returns for `value`, or ("error", messages) when it refuses it."""
    try:
        return parse(value)
    except ValidationError as exc:
        return ("error", exc.messages)


@given(st.from_regex(r"[0-9０-９]{1,12}(\.[0-9]{0,3})?|-?[0-9 ,]{0,6}(\.[0-9]{0,2})?", fullmatch=True))
def test_it_reads_amounts_as_the_validators_do(text):
    def slow(value):
        number = validators.parse_decimal(value)
        if number is not None and number > fields.MAX_MONEY:
            raise ValidationError("too large")
        return None if number is None else str(number)

    expected = _outcome(slow, text)
    got = _outcome(fields.p_money, text)
    if isinstance(expected, tuple):
        assert isinstance(got, tuple)
    else:
        assert got == expected


PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789IO挂学警港澳 ·-abc"


@given(st.sampled_from(validators.PROVINCES), st.text(alphabet=PLATE_CHARS, min_size=5, max_size=8))
def test_it_reads_plates_as_the_validators_do(province, rest):
    text = province + rest
    expected = _outcome(lambda value: validators.normalize_plate(value) or None, text)
    assert _outcome(fields.p_plate, text) == expected


@given(st.from_regex(r"1[3-9][0-9０-９]{9}", fullmatch=True))
def test_it_reads_mobiles_as_the_validators_do(text):
    assert _outcome(fields.p_mobile, text) == _outcome(lambda value: validators.normalize_mobile(value) or None, text)


def _datetime_as_the_validators_read_it(value):
    aware = validators.parse_datetime(value, fields.TZ)
    if aware is None:
        return None
    if not 1900 <= aware.year <= 2100:
        raise ValidationError("not plausible")
    return aware.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" "), aware.date().isoformat()


DATE_TIMES = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?( ?[+Z0-9:.]{0,6})?"


@given(st.from_regex(DATE_TIMES, fullmatch=True))
@example("2024-03-05 10:07:00")
@example("2024-03-05T10:07")
@example("1991-06-01 12:00:00")  # China had summer time until 1991: not the fast path
@example("2024-02-30 10:00:00")
@example("2024-03-05 10:07+08")  # an offset: not the fast path
@example("2024-03-05 24:00")
@example("3000-01-01 10:00")  # not plausible: refused (the pattern's fast path took it before)
def test_it_reads_date_times_as_the_validators_do(text):
    def outcome(parse):
        try:
            return parse(text)
        except ValidationError:
            return "error"

    assert outcome(fields.p_datetime) == outcome(_datetime_as_the_validators_read_it)


def test_it_normalises_full_width_digits_on_the_fast_paths():
    assert fields.p_mobile("１３８１２３４５６７８") == "+8613812345678"
    assert fields.p_datetime("２０２４-03-05 10:00") == ("2024-03-05 02:00:00", "2024-03-05")
    assert fields.p_date("２０２４-03-05") == "2024-03-05"
    assert fields.p_money("１２００.５") == "1200.50"
