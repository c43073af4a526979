import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from vininfo import Vin

from aftercare.dms import fields
from aftercare.dms.importers import memoized

VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@given(st.text(alphabet=VIN_CHARS, min_size=17, max_size=17))
def test_it_computes_the_vin_check_digit_as_vininfo_does(vin):
    assert fields._vin_check(vin) == Vin(vin).verify_checksum(check_year=False)


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
