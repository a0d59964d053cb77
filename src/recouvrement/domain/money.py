"""Amounts are integer cents; rates are exact decimals; rounding is named.

No binary float may become an amount: parsing refuses floats and fractional cents outright,
because a silently rounded input is a wrong debt.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from recouvrement.domain.errors import DomainError

CENT = Decimal("0.01")


class Rounding(StrEnum):
    """Named rounding rules; half-up to the cent is the default unless the law says otherwise."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    DOWN = "down"

    @property
    def decimal_mode(self) -> str:
        return {
            Rounding.HALF_UP: ROUND_HALF_UP,
            Rounding.HALF_EVEN: ROUND_HALF_EVEN,
            Rounding.DOWN: ROUND_DOWN,
        }[self]


def parse_euros(value: object, field: str = "amount", *, allow_negative: bool = False) -> int:
    """Turn a decimal string in euros ("1234.56", "1234,56", "12") into cents.

    Refuses floats (their binary value is not the written one), fractional cents and,
    unless allowed, negative amounts.
    """
    if isinstance(value, (bool, float)):
        raise DomainError.single(
            field,
            'montant à fournir en texte décimal (ex. "1234.56"), pas en nombre flottant',
            "float_amount",
        )
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise DomainError.single(
                field, f"montant illisible : {value!r}", "bad_amount"
            ) from None
    else:
        raise DomainError.single(field, f"montant illisible : {value!r}", "bad_amount")
    if not amount.is_finite():
        raise DomainError.single(field, f"montant illisible : {value!r}", "bad_amount")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise DomainError.single(
            field, f"montant avec des fractions de centime : {value!r}", "fractional_cents"
        )
    if cents < 0 and not allow_negative:
        raise DomainError.single(field, f"montant négatif refusé : {value!r}", "negative_amount")
    return int(cents)


def format_euros(cents: int) -> str:
    """Cents as a decimal string in euros with two decimals ("-12.05")."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{frac:02d}"


def format_euros_fr(cents: int) -> str:
    """Cents as French users read them: "1 234,56 €"."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    grouped = f"{whole:,}".replace(",", "\u202f")
    return f"{sign}{grouped},{frac:02d} €"


def apply_rate(base_cents: int, rate: Decimal, rounding: Rounding = Rounding.HALF_UP) -> int:
    """base × rate, rounded to the cent by the named rule."""
    exact = Decimal(int(base_cents)) * rate
    return int(exact.quantize(Decimal(1), rounding=rounding.decimal_mode))
