"""Allocation of a payment to a contributor's debts (imputation des paiements), in the legal order.

The order is data (`rules/allocation.yaml`), dated and per scheme, because the law that sets it
changes: CSS art. L133-4-11 (as amended by the LFSS 2021) puts the debt due as principal before
surcharges, penalties and legal costs; art. D133-4 II makes a self-employed person's payment made on
an instalment date pay that instalment first, then the oldest unpaid one; the Code civil
(art. 1342-10, formerly 1253-1256) lets the debtor designate the debt paid and, failing that, puts
the debts already due first, then the oldest. An order is a list of sort criteria applied to every
debt; `allocate` walks the debts in that order and pays each in full until the money runs out.

Ties: within the same due date, period and kind, debts are not paid pro rata but in a fixed item
order given by the data (e.g. the employee share before the employer's, as L133-4-11 requires for an
employer), then by fund and item code, so that the same debts always give the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.periods import Period

CREDIT_ITEM = "credit"
"""The item of the credit key (contributor, fund "", item "credit", period ""): money paid in excess
(negative balance) or, after a reversed receipt whose credit had been used, money owed back."""

SURCHARGE_ITEMS = frozenset(
    {"surcharge_initial", "surcharge_additional", "surcharge_audit", "surcharge_underestimate"}
)
PENALTY_PREFIX = "penalty_"
KINDS = ("principal", "surcharge", "penalty", "credit")
CRITERIA = frozenset(
    {"designated", "due", "due_on_payment_day", "due_date", "period", "kind", "item"}
)
SCHEMES = ("employer", "self_employed")


def item_kind(item: str) -> str:
    """ "principal", "surcharge", "penalty" or "credit": what a ledger item is, for the order."""
    if item == CREDIT_ITEM:
        return "credit"
    if item in SURCHARGE_ITEMS:
        return "surcharge"
    if item.startswith(PENALTY_PREFIX):
        return "penalty"
    return "principal"


class Debt(NamedTuple):
    """An open debt of one ledger key.

    Attributes:
        fund: the fund the debt belongs to.
        item: the contribution, surcharge or penalty item.
        period: the ledger period text ("2024-03", "2024-Q1", "2024") or "" for the credit key.
        due_date: the due date (exigibilité): the call's, or the first posting's value date.
        amount: what is owed, positive integer cents.
    """

    fund: str
    item: str
    period: str
    due_date: date
    amount: int


class AllocationLine(NamedTuple):
    """What a payment settles on one debt: positive integer cents."""

    fund: str
    item: str
    period: str
    amount: int


class Allocation(NamedTuple):
    """The lines paid, in the order they were paid, and what is left (a credit on the account)."""

    lines: tuple[AllocationLine, ...]
    remainder: int

    @property
    def allocated(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class AllocationOrder:
    """One dated order of allocation for one scheme.

    Attributes:
        scheme: "employer" or "self_employed".
        start: first day it applies (the payment's date decides).
        criteria: sort criteria, most significant first, among CRITERIA:
            designated: the debts of the periods the contributor designated first;
            due: the debts due on or before the payment date before those not yet due;
            due_on_payment_day: the debts of the instalment falling due on the payment date first;
            due_date / period: oldest first; kind: in the order of `kinds`; item: `items`.
        kinds: rank of the kinds of items ("principal", "surcharge", "penalty", "credit").
        items: rank of the items within a tie; items not listed come after, by code.
        designation: whether the contributor's designation is followed (ignored otherwise).
        source: the articles the order comes from.
    """

    scheme: str
    start: date
    criteria: tuple[str, ...]
    kinds: tuple[str, ...]
    items: tuple[str, ...]
    designation: bool
    source: str


def _cents_problem(value: object, field: str, *, positive: bool) -> Problem | None:
    if type(value) is not int:
        if isinstance(value, (float, Decimal)) and not isinstance(value, bool):
            return Problem(
                field,
                f"montant en centimes entiers obligatoire, pas {type(value).__name__} : {value!r}",
                "not_cents",
            )
        return Problem(field, f"montant en centimes entiers obligatoire : {value!r}", "not_cents")
    if value < 0 or (positive and value == 0):
        return Problem(field, f"montant négatif ou nul refusé : {value}", "negative_amount")
    return None


@lru_cache(maxsize=4096)
def _period_key(text: str) -> tuple:
    if not text:
        return (date.max, date.max)
    p = Period.parse(text)
    return (p.start, p.end)


@lru_cache(maxsize=64)
def _ranks(order: AllocationOrder) -> tuple[dict[str, int], dict[str, int]]:
    return (
        {kind: i for i, kind in enumerate(order.kinds)},
        {item: i for i, item in enumerate(order.items)},
    )


def sort_key(
    debt: Debt,
    order: AllocationOrder,
    designated: frozenset[str],
    on: date | None,
) -> tuple:
    """The rank of a debt in the order; the final fund · item · period makes it total."""
    kind_rank, item_rank = _ranks(order)
    key: list = []
    for criterion in order.criteria:
        if criterion == "designated":
            key.append(0 if debt.period in designated else 1)
        elif criterion == "due":
            key.append(0 if on is None or debt.due_date <= on else 1)
        elif criterion == "due_on_payment_day":
            key.append(0 if on is not None and debt.due_date == on else 1)
        elif criterion == "due_date":
            key.append(debt.due_date)
        elif criterion == "period":
            key.append(_period_key(debt.period))
        elif criterion == "kind":
            key.append(kind_rank.get(item_kind(debt.item), len(kind_rank)))
        elif criterion == "item":
            key.append((item_rank.get(debt.item, len(item_rank)), debt.item))
    key.append((debt.fund, debt.item, debt.period))
    return tuple(key)


def allocate(
    debts: Iterable[Debt],
    amount: int,
    order: AllocationOrder,
    designation: Iterable[str] | None = None,
    on: date | None = None,
) -> Allocation:
    """Pay `amount` cents on `debts` in `order`; what is left over is the remainder (a credit).

    `designation` names periods the contributor chose to pay first (followed only where the order
    allows it). `on` is the payment date, for the criteria `due` and `due_on_payment_day`; without
    it every debt counts as due.
    """
    problem = _cents_problem(amount, "amount", positive=False)
    if problem:
        raise DomainError(problem)
    debts = list(debts)
    problems = [
        p
        for i, d in enumerate(debts)
        if (p := _cents_problem(d.amount, f"debts[{i}].amount", positive=True)) is not None
    ]
    if problems:
        raise DomainError(*problems)
    designated = frozenset(designation or ()) if order.designation else frozenset()
    left = amount
    lines: list[AllocationLine] = []
    for debt in sorted(debts, key=lambda d: sort_key(d, order, designated, on)):
        if left == 0:
            break
        paid = min(left, debt.amount)
        lines.append(AllocationLine(debt.fund, debt.item, debt.period, paid))
        left -= paid
    return Allocation(tuple(lines), left)


# ---------------------------------------------------------------------------------------------
# The order as data


def _problem(where: str, reason: str) -> DomainError:
    return DomainError.single(where, reason, "bad_allocation_order")


def parse_orders(
    data: Mapping, origin: str = "allocation.yaml"
) -> dict[str, list[AllocationOrder]]:
    """The dated orders of each scheme, from the YAML structure of `rules/allocation.yaml`.

    Refuses an unknown criterion or kind, a scheme without orders and two orders starting the
    same day, naming the file, the scheme and the date.
    """
    schemes = data.get("schemes") if isinstance(data, Mapping) else None
    if not isinstance(schemes, Mapping):
        raise _problem(origin, "clé « schemes » attendue")
    out: dict[str, list[AllocationOrder]] = {}
    for scheme, values in schemes.items():
        if scheme not in SCHEMES:
            raise _problem(f"{origin}:{scheme}", f"régime inconnu : {scheme!r}")
        if not isinstance(values, list) or not values:
            raise _problem(f"{origin}:{scheme}", "au moins un ordre daté attendu")
        orders = [_parse_order(scheme, v, f"{origin}:{scheme}[{i}]") for i, v in enumerate(values)]
        orders.sort(key=lambda o: o.start)
        starts = [o.start for o in orders]
        if len(set(starts)) != len(starts):
            raise _problem(f"{origin}:{scheme}", "deux ordres commencent le même jour")
        out[scheme] = orders
    return out


def _parse_order(scheme: str, raw: object, where: str) -> AllocationOrder:
    if not isinstance(raw, Mapping):
        raise _problem(where, "ordre à décrire par from, criteria, kinds, items, source")
    start = raw.get("from")
    if not isinstance(start, date):
        raise _problem(where, "date « from » manquante ou invalide")
    criteria = tuple(raw.get("criteria") or ())
    unknown = [c for c in criteria if c not in CRITERIA]
    if not criteria or unknown:
        raise _problem(where, f"critères inconnus ou absents : {unknown or criteria}")
    kinds = tuple(raw.get("kinds") or KINDS)
    if sorted(kinds) != sorted(KINDS):
        raise _problem(where, f"« kinds » doit ranger exactement {', '.join(KINDS)}")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise _problem(where, "source obligatoire (article ou page officielle)")
    return AllocationOrder(
        scheme=scheme,
        start=start,
        criteria=criteria,
        kinds=kinds,
        items=tuple(raw.get("items") or ()),
        designation=bool(raw.get("designation", False)),
        source=source,
    )


def order_on(orders: Mapping[str, list[AllocationOrder]], scheme: str, on: date) -> AllocationOrder:
    """The order of `scheme` in force on `on` (the latest starting on or before it)."""
    found = None
    for order in orders.get(scheme, ()):
        if order.start <= on:
            found = order
    if found is None:
        raise DomainError.single(
            "on", f"aucun ordre d'imputation pour {scheme} au {on.isoformat()}", "parameter_gap"
        )
    return found
