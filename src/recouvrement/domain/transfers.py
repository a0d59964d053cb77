"""What the central agency owes Unédic for Mayotte, and when: the annual advance and its
regularisation (amendment of 18 December 2013, art. 5). Amounts are integer cents.

>>> from recouvrement.agreements.loader import shipped_agreements
>>> from recouvrement.domain.transfer_schedule import transfer_rules
>>> rules = transfer_rules(shipped_agreements().resolve("unedic-mayotte"))
>>> advance = annual_advance(rules, 2014, 1_250_000_00)
>>> advance.payment_day, advance.account, advance.amount
(datetime.date(2014, 6, 30), 'annex_1', 125000000)
>>> r = regularise(rules, 2014, final_receipts=1_300_000_00, advance=advance.amount,
...                closing_day=date(2015, 2, 10))
>>> r.direction.value, r.amount, r.account, r.due_on
('owed', 5000000, 'annex_1', datetime.date(2015, 2, 24))
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from recouvrement.domain.errors import DomainError
from recouvrement.domain.transfer_schedule import (
    TransferRules,
    accounts_closing_deadline,
    advance_payment_day,
    announcement_deadline,
    notification_deadline,
    regularisation_due,
)


class TransferKind(StrEnum):
    ADVANCE = "advance"
    REGULARISATION = "regularisation"


class Direction(StrEnum):
    """Who pays whom at the regularisation (art. 5.2)."""

    OWED = "owed"  # the central agency pays a complement to the fund (annex 1)
    OVERPAID = "overpaid"  # the fund pays the excess back to the central agency (annex 2)
    SETTLED = "settled"  # the advance was exact: nothing moves, the fund is still told


class Advance(NamedTuple):
    """The annual advance of year N (art. 5.1).

    Attributes:
        year: the year N.
        amount: cents, the year N-1 receipts (for 2013, the 2012 receipts the fund notified).
        payment_day: the day it is paid.
        announce_before: the instant the announcement e-mail must precede.
        account: annex of the fund's account it is paid to.
    """

    year: int
    amount: int
    payment_day: date
    announce_before: datetime
    account: str


class Regularisation(NamedTuple):
    """The regularisation of year N (art. 5.2).

    Attributes:
        year: the year N.
        final_receipts: cents cashed for N, as known at the closing of the accounts.
        advance: cents paid as the advance of N.
        direction: owed, overpaid or settled.
        amount: cents that move, always >= 0.
        account: annex of the account credited (None when nothing moves).
        due_on: the last day allowed.
        announce_before: instant the announcement must precede (a complement owed only).
        closing_late: the accounts were closed after the latest day the agreement allows.
    """

    year: int
    final_receipts: int
    advance: int
    direction: Direction
    amount: int
    account: str | None
    due_on: date
    announce_before: datetime | None
    closing_late: bool


def _cents(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError.single(field, "montant en centimes entier attendu", "not_cents")
    if value < 0:
        raise DomainError.single(field, "un montant encaissé ne peut être négatif", "negative")
    return value


def annual_advance(rules: TransferRules, year: int, previous_year_receipts: int) -> Advance:
    """Art. 5.1: « Cet acompte annuel au titre de l'année N est égal aux réalisations annuelles
    de l'année N-1 ». The receipts come from the fund accounts (or, for the first year, from the
    fund's notification, art. 5.3); this function does not look them up."""
    amount = _cents(previous_year_receipts, "previous_year_receipts")
    payment_day = advance_payment_day(rules, year)
    return Advance(
        year,
        amount,
        payment_day,
        announcement_deadline(rules, payment_day),
        rules.advance_account,
    )


def notification_is_late(rules: TransferRules, notified_on: date) -> bool:
    """Art. 5.3: Unédic notifies « avant le 31 mai 2013 »; on that day or after, it is late."""
    return notified_on >= notification_deadline(rules).date()


def check_notification_day(rules: TransferRules, notified_on: date) -> None:
    """The receipts of 2012 are only known once 2012 is over."""
    if notified_on.year <= rules.notified_year:
        raise DomainError.single(
            "notified_on",
            f"les encaissements de {rules.notified_year} ne peuvent être notifiés avant le "
            f"1er janvier {rules.notified_year + 1}",
            "too_early",
        )


def regularise(
    rules: TransferRules, year: int, *, final_receipts: int, advance: int, closing_day: date
) -> Regularisation:
    """Art. 5.2: « Elle est égale à la différence entre le montant définitif des encaissements
    relatifs à l'année N et l'acompte annuel »; a positive difference is owed to the fund (paid to
    annex 1, announced the business day before), a negative one was overpaid (the fund pays it
    back to annex 2)."""
    final = _cents(final_receipts, "final_receipts")
    paid = _cents(advance, "advance")
    due_on = regularisation_due(rules, year, closing_day)
    difference = final - paid
    if difference > 0:
        direction, account = Direction.OWED, rules.owed_account
        announce = announcement_deadline(rules, due_on)
    elif difference < 0:
        direction, account, announce = Direction.OVERPAID, rules.overpaid_account, None
    else:
        direction, account, announce = Direction.SETTLED, None, None
    return Regularisation(
        year,
        final,
        paid,
        direction,
        abs(difference),
        account,
        due_on,
        announce,
        closing_day > accounts_closing_deadline(rules, year),
    )
