from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import (
    Rounding,
    apply_rate,
    format_euros,
    format_euros_fr,
    parse_euros,
)


@pytest.mark.parametrize(
    "text, cents",
    [("1234.56", 123456), ("1234,56", 123456), ("12", 1200), (" 1 000,5 ", 100050), (7, 700)],
)
def test_parses_decimal_text_to_cents(text, cents):
    assert parse_euros(text) == cents


@pytest.mark.parametrize(
    "value, code",
    [
        (12.5, "float_amount"),
        ("12.345", "fractional_cents"),
        ("-3", "negative_amount"),
        ("douze", "bad_amount"),
        ("NaN", "bad_amount"),
        (None, "bad_amount"),
    ],
)
def test_refuses_floats_fractional_cents_negatives_and_garbage(value, code):
    with pytest.raises(DomainError) as err:
        parse_euros(value, "gross_pay")
    assert err.value.problems[0].code == code
    assert err.value.problems[0].field == "gross_pay"


def test_negative_allowed_when_asked():
    assert parse_euros("-3.10", allow_negative=True) == -310


@given(st.integers(min_value=-(10**14), max_value=10**14))
def test_format_and_parse_round_trip(cents):
    assert parse_euros(format_euros(cents), allow_negative=True) == cents


def test_french_format():
    assert format_euros_fr(123456789) == "1\u202f234\u202f567,89 €"


def test_named_roundings_differ_on_half_cents():
    assert apply_rate(250, Decimal("0.005")) == 1  # 1.25 -> 1
    assert apply_rate(300, Decimal("0.005"), Rounding.HALF_UP) == 2  # 1.5 -> 2
    assert apply_rate(300, Decimal("0.005"), Rounding.DOWN) == 1
    assert apply_rate(500, Decimal("0.005"), Rounding.HALF_EVEN) == 2  # 2.5 -> 2
