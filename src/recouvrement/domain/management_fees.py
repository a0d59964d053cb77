"""Management fees the collector bills for collecting and auditing on a fund's behalf.

The Mayotte amendment (art. 7) makes the collection and audit operations billable under art. 13 and
annex 1 of the 2010 convention: collection costs are billed to Pôle emploi for the first time in the
second quarter of 2014 for the 2013 receipts, audit costs to Unédic for the first time in the second
quarter of 2015 for the 2014 audits; later years alike. The convention's formula is not published,
so the formula is a setting of the agreement (`fees.<category>.formula`), stated as such in its
source: a rate on the fund's receipts for collection, a cost per audit completed for audits.

>>> rule = FeeRule("collection", 2013, 2, "POLE-EMPLOI", "fund_receipts", Decimal("0.003"), None)
>>> billing_quarter(rule, 2013)
(datetime.date(2014, 4, 1), datetime.date(2014, 6, 30))
>>> fee_amount(rule, 123_456_789)
370370
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from recouvrement.domain.errors import DomainError
from recouvrement.domain.periods import Period

CATEGORIES = ("collection", "audit")
BASES = ("fund_receipts", "audits_completed")


class FeeRule(NamedTuple):
    """How one category of fees is billed.

    Attributes:
        category: `collection` or `audit`.
        first_year: the first year billed (2013 for collection, 2014 for audits).
        quarter: the quarter of the following year in which a year is billed (2).
        billed_to: code of the organisation billed.
        basis: what the fee is computed on (`fund_receipts` or `audits_completed`).
        rate: the share of the base, for a base in cents.
        unit_cost: cents per unit, for a base that counts units (audits).
    """

    category: str
    first_year: int
    quarter: int
    billed_to: str
    basis: str
    rate: Decimal | None
    unit_cost: int | None


def billing_quarter(rule: FeeRule, year: int) -> tuple[date, date]:
    """The quarter in which the fees of `year` are billed: the same quarter of the next year."""
    if year < rule.first_year:
        raise DomainError.single(
            "year",
            f"les frais de {_label(rule)} sont facturés à partir de l'année {rule.first_year} "
            "(avenant, art. 7)",
            "before_first_year",
        )
    quarter = Period.quarter(year + 1, rule.quarter)
    return quarter.start, quarter.end


def fee_amount(rule: FeeRule, base: int) -> int:
    """The fee in cents, rounded half up to the cent (the rounding the invoices state)."""
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise DomainError.single("base", "assiette entière et positive attendue")
    if rule.rate is not None:
        return int((Decimal(base) * rule.rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return base * rule.unit_cost


def check_issue_day(rule: FeeRule, year: int, on: date) -> bool:
    """Refuse an invoice before its billing quarter; say whether it is issued late (after it)."""
    start, end = billing_quarter(rule, year)
    if on < start:
        raise DomainError.single(
            "on",
            f"les frais de {_label(rule)} {year} se facturent à partir du {start:%d/%m/%Y} "
            f"({rule.quarter}e trimestre {year + 1}, avenant art. 7)",
            "too_early",
        )
    return on > end


def _label(rule: FeeRule) -> str:
    return "recouvrement" if rule.category == "collection" else "contrôle"


def fee_rule(category: str, billing: dict, formula: dict) -> FeeRule:
    """The rule of a category from the agreement's `first_billing` and `formula` settings."""
    if category not in CATEGORIES:
        raise DomainError.single(
            "category", f"catégorie inconnue {category!r} (attendu : {', '.join(CATEGORIES)})"
        )
    basis = formula.get("basis")
    if basis not in BASES:
        raise DomainError.single(f"fees.{category}.formula.basis", f"assiette inconnue {basis!r}")
    rate = unit_cost = None
    if "rate" in formula:
        rate = Decimal(str(formula["rate"]))
        if not Decimal(0) <= rate < Decimal(1):
            raise DomainError.single(f"fees.{category}.formula.rate", "taux entre 0 et 1 attendu")
    elif "unit_cost" in formula:
        cost = Decimal(str(formula["unit_cost"])) * 100
        if cost != cost.to_integral_value() or cost < 0:
            raise DomainError.single(
                f"fees.{category}.formula.unit_cost", "coût unitaire en euros et centimes attendu"
            )
        unit_cost = int(cost)
    else:
        raise DomainError.single(f"fees.{category}.formula", "taux ou coût unitaire attendu")
    return FeeRule(
        category,
        int(billing["for_year"]),
        int(billing["quarter"]),
        str(billing["billed_to"]),
        basis,
        rate,
        unit_cost,
    )
