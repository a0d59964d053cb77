"""Refunds of a credit: how much may be paid back, to which account, and who may decide it.

A credit is the negative balance of the account's credit key (contributor, fund "", item
"credit", period ""). Its age is that of the payments that made it: each posting that adds to
the credit is a **layer** dated by its value date, and whatever consumes the credit (a debt paid
from it, a refund) takes the oldest layer first (FIFO), so the layers left are the most recent
payments.

The request for a refund is time-barred three years after the contributions were paid (CSS
art. L243-6, I, al. 1: « se prescrit par trois ans à compter de la date à laquelle lesdites
cotisations ont été acquittées »); the request itself interrupts the limitation (Cass. 2e civ.
28 mai 2014 n° 13-17.758), so the refundable part is measured on the request date. In Mayotte, the
CSSM also refunds sums the former collector (CACM) cashed before the transfer of 1 January 2013,
within the same limitation (amendment of 18 December 2013, art. 3.1 and 3.2.1): without that rule
such layers would not be the CSSM's to refund.

Four eyes (ISU agreement art. 4: the joint organisation prepares, the collector's accounting
officer verifies and disburses): the accounting officer who approves is neither the agent who
checked the refund nor the agent who requested it.

>>> layers = credit_layers([(date(2012, 5, 2), -10_000), (date(2014, 1, 6), -5_000),
...                         (date(2014, 2, 5), 4_000)])
>>> layers
[CreditLayer(paid_on=datetime.date(2012, 5, 2), amount=6000), CreditLayer(paid_on=datetime.date(2014, 1, 6), amount=5000)]
>>> refundable_amount(layers, date(2015, 5, 4), RefundRules(limitation_years=3))
5000
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.errors import DomainError, Forbidden, Problem
from recouvrement.domain.four_eyes import require_different_people
from recouvrement.domain.money import format_euros_fr

CREDIT_ITEM = "credit"  # the shared convention of issue #5 (domain/allocation.py: CREDIT_ITEM)
MAX_HOLDER = 70  # SEPA creditor name


class CreditLayer(NamedTuple):
    """What is left of one payment in the credit.

    Attributes:
        paid_on: the value date of the posting that made it (the payment's date).
        amount: cents still in the credit from that payment, positive.
    """

    paid_on: date
    amount: int


class RefundRules(NamedTuple):
    """The law in force on the request date, for the contributor's territory.

    Attributes:
        limitation_years: years after payment when the request is time-barred (L243-6).
        transfer_date: the day the current collector took over collection, if it did (Mayotte:
            2013-01-01); layers paid before it were cashed by the former collector.
        pre_transfer_refundable: whether the current collector refunds those layers.
    """

    limitation_years: int
    transfer_date: date | None = None
    pre_transfer_refundable: bool = True


class BeneficiaryAccount(NamedTuple):
    """The account a refund is paid to: IBAN and BIC checked, the holder named."""

    holder: str
    iban: str
    bic: str


def credit_layers(movements: Iterable[tuple[date, int]]) -> list[CreditLayer]:
    """The credit's layers from the postings on the credit key, in posting order.

    A negative amount (credit side of the receivable) adds a layer dated by its value date; a
    positive amount consumes the oldest layers first. Should the key ever go positive, the
    shortfall is made good by the next layers before they count.
    """
    layers: list[list] = []
    shortfall = 0
    for value_date, amount in movements:
        if amount < 0:
            added = -amount
            absorbed = min(added, shortfall)
            shortfall -= absorbed
            if added > absorbed:
                layers.append([value_date, added - absorbed])
        else:
            left = amount
            while left and layers:
                take = min(left, layers[0][1])
                layers[0][1] -= take
                left -= take
                if layers[0][1] == 0:
                    layers.pop(0)
            shortfall += left
    return [CreditLayer(d, a) for d, a in layers]


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February (CPC art. 641: a time limit
    in years ends on the day of the same number, or the month's last day)."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (the four months of L243-6)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def limitation_end(paid_on: date, rules: RefundRules) -> date:
    """The last day a refund of what was paid on `paid_on` may be requested."""
    return add_years(paid_on, rules.limitation_years)


def layer_refundable(layer: CreditLayer, on: date, rules: RefundRules) -> bool:
    if on > limitation_end(layer.paid_on, rules):
        return False
    before_transfer = rules.transfer_date is not None and layer.paid_on < rules.transfer_date
    return not before_transfer or rules.pre_transfer_refundable


def refundable_amount(layers: Iterable[CreditLayer], on: date, rules: RefundRules) -> int:
    """The part of the credit whose refund may still be requested on `on`."""
    return sum(layer.amount for layer in layers if layer_refundable(layer, on, rules))


def reaching_limitation(
    layers: Iterable[CreditLayer], day: date, within_days: int, rules: RefundRules
) -> list[CreditLayer]:
    """Layers still refundable on `day` whose limitation ends within the next `within_days`."""
    horizon = day + timedelta(days=within_days)
    return [
        layer
        for layer in layers
        if layer_refundable(layer, day, rules) and limitation_end(layer.paid_on, rules) <= horizon
    ]


def refund_amount_problems(
    amount: object, credit: int, refundable: int, field: str = "amount"
) -> list[Problem]:
    """Why `amount` (cents) cannot be refunded from a credit of `credit` cents of which
    `refundable` is within the limitation; empty when it can."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        return [Problem(field, "montant en centimes (entier) attendu", "not_cents")]
    if amount <= 0:
        return [Problem(field, "le montant à rembourser doit être positif", "not_positive")]
    if amount > credit:
        return [
            Problem(
                field,
                f"montant supérieur au crédit du compte : {format_euros_fr(amount)} demandés, "
                f"crédit de {format_euros_fr(max(credit, 0))}",
                "above_credit",
            )
        ]
    if amount > refundable:
        return [
            Problem(
                field,
                f"remboursement prescrit au-delà de {format_euros_fr(refundable)} : la demande "
                "se prescrit par trois ans à compter du paiement (CSS art. L243-6), "
                f"{format_euros_fr(amount)} demandés",
                "time_barred",
            )
        ]
    return []


def require_refundable(amount: object, credit: int, refundable: int) -> int:
    problems = refund_amount_problems(amount, credit, refundable)
    if problems:
        raise DomainError(*problems)
    return amount  # type: ignore[return-value]


def beneficiary_account(iban: str, bic: str | None, holder: str) -> BeneficiaryAccount:
    """The refund's account, checked with schwifty: a valid IBAN, a BIC given or derived from
    the IBAN's bank code, of the IBAN's country."""
    problems: list[Problem] = []
    checked_iban = None
    try:
        checked_iban = IBAN(str(iban or ""))
    except SchwiftyException as err:
        problems.append(Problem("iban", f"IBAN invalide ({err})", "bad_iban"))
    checked_bic = None
    if bic:
        try:
            checked_bic = BIC(str(bic))
        except SchwiftyException as err:
            problems.append(Problem("bic", f"BIC invalide ({err})", "bad_bic"))
    elif checked_iban is not None:
        checked_bic = checked_iban.bic
        if checked_bic is None:
            problems.append(
                Problem(
                    "bic",
                    "BIC introuvable d'après l'IBAN : indiquer le BIC de la banque",
                    "bic_required",
                )
            )
    if (
        checked_iban is not None
        and checked_bic is not None
        and checked_bic.country_code != checked_iban.country_code
    ):
        problems.append(
            Problem(
                "bic",
                f"le BIC {checked_bic} n'est pas du pays de l'IBAN ({checked_iban.country_code})",
                "bad_bic",
            )
        )
    holder = " ".join(str(holder or "").split())
    if not holder or len(holder) > MAX_HOLDER:
        problems.append(
            Problem("holder", f"titulaire du compte : 1 à {MAX_HOLDER} caractères", "bad_holder")
        )
    if problems:
        raise DomainError(*problems)
    return BeneficiaryAccount(holder, str(checked_iban.compact), str(checked_bic.compact))


def require_accounting_officer(actor: Actor) -> None:
    """Approval and disbursement are the accounting officer's (ISU agreement art. 4: outside
    the joint organisation, the collector's accounting officer verifies and disburses)."""
    if Role.ACCOUNTING_OFFICER not in actor.roles:
        raise Forbidden(
            Problem(
                "approver",
                "seul l'agent comptable de l'organisme de recouvrement approuve et décaisse "
                f"un remboursement ({actor.login} n'a pas ce rôle)",
                "not_accounting_officer",
            )
        )


def require_four_eyes(approver: Actor, checker: str, agent_requester: str | None) -> None:
    """The approver is neither the checker nor the agent who requested the refund."""
    require_accounting_officer(approver)
    for preparer in (checker, agent_requester):
        if preparer:
            try:
                require_different_people(preparer, approver)
            except Forbidden:
                role = "vérifié" if preparer == checker else "demandé"
                raise Forbidden(
                    Problem(
                        "approver",
                        f"remboursement {role} par {preparer} : il doit être approuvé par un "
                        "autre agent comptable (règle des quatre yeux)",
                        "self_approval",
                    )
                ) from None
