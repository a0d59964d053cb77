"""The journal: immutable, balanced entries in integer cents.

A posting names where money sits: a ledger account (receivable, bank, a fund's revenue…) and the key
contributor · fund · contribution item · period. An entry's postings sum to zero, so the ledger as a
whole always balances; a correction is a new reversing entry, never an edit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.periods import Period

NOT_APPLICABLE = ""  # fund, item or period that does not apply to a posting (e.g. cash at the bank)
MAX_ABS_CENTS = 10**15  # a thousand billion euros: anything larger is an input error


class LedgerAccount(StrEnum):
    """The chart of accounts. Debit is positive, credit negative."""

    RECEIVABLE = "receivable"  # what a contributor owes, per fund · item · period
    FUND_REVENUE = "fund_revenue"  # contributions assessed for a fund
    BANK = "bank"  # cash at the collector's bank
    SUSPENSE = "suspense"  # receipts not yet matched to a contributor
    FUND_PAYABLE = "fund_payable"  # cash owed on to a beneficiary fund
    REFUND_PAYABLE = "refund_payable"  # refunds approved, not yet disbursed
    WRITE_OFF = "write_off"  # debts written off (admission en non-valeur)


class Cause(StrEnum):
    """Why an entry exists; every entry carries one."""

    DECLARATION = "declaration"
    ASSESSMENT = "assessment"
    CALL = "call"
    PAYMENT = "payment"
    ALLOCATION = "allocation"
    SURCHARGE = "surcharge"
    REFUND = "refund"
    WRITE_OFF = "write_off"
    TRANSFER = "transfer"
    BATCH = "batch"
    DECISION = "decision"
    REVERSAL = "reversal"
    OPENING = "opening"


class Posting(NamedTuple):
    """One line of an entry.

    Attributes:
        ledger_account: where in the chart of accounts.
        contributor_id: the contributor whose account it concerns, or None for the collector's own.
        fund: the fund the money belongs to ("unedic", "ags", "self_employed_scheme"…) or "".
        item: the contribution item ("unemployment_employer", "health"…) or "".
        period: the period of the debt as text ("2014-03", "2014-Q1", "2014") or "".
        amount: integer cents, debit positive, credit negative.
    """

    ledger_account: str
    contributor_id: int | None
    fund: str
    item: str
    period: str
    amount: int


class Entry(NamedTuple):
    """A balanced set of postings, posted once.

    Attributes:
        idempotency_key: unique forever; replaying the same key posts nothing more.
        value_date: the date the entry takes effect (as-of queries use it).
        cause: why the entry exists.
        postings: at least two, summing to zero.
        description: a short French label for statements.
        reverses: idempotency key of the entry this one reverses, if any.
    """

    idempotency_key: str
    value_date: date
    cause: str
    postings: tuple[Posting, ...]
    description: str = ""
    reverses: str | None = None


_ACCOUNTS = frozenset(a.value for a in LedgerAccount)
_CAUSES = frozenset(c.value for c in Cause)


def entry_problems(entry: Entry) -> list[Problem]:
    """Every rule an entry breaks; an empty list means it may be posted."""
    problems: list[Problem] = []
    key = entry.idempotency_key
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        problems.append(
            Problem("idempotency_key", "clé d'idempotence vide ou trop longue (200 max)", "bad_key")
        )
    if not isinstance(entry.value_date, date):
        problems.append(Problem("value_date", "date de valeur manquante", "required"))
    if entry.cause not in _CAUSES:
        problems.append(Problem("cause", f"cause inconnue : {entry.cause!r}", "unknown_cause"))
    if len(entry.postings) < 2:
        problems.append(Problem("postings", "une écriture a au moins deux lignes", "too_few"))
    total = 0
    for i, p in enumerate(entry.postings):
        where = f"postings[{i}]"
        if p.ledger_account not in _ACCOUNTS:
            problems.append(
                Problem(
                    f"{where}.ledger_account",
                    f"compte comptable inconnu : {p.ledger_account!r}",
                    "unknown_account",
                )
            )
        if type(p.amount) is not int:
            problems.append(
                Problem(f"{where}.amount", "montant en centimes entiers obligatoire", "not_cents")
            )
            continue
        if p.amount == 0:
            problems.append(Problem(f"{where}.amount", "ligne à montant nul", "zero_amount"))
        if abs(p.amount) > MAX_ABS_CENTS:
            problems.append(Problem(f"{where}.amount", "montant hors limites", "out_of_range"))
        if p.period:
            try:
                Period.parse(p.period, f"{where}.period")
            except DomainError as err:
                problems.extend(err.problems)
        total += p.amount
    if not any(pr.code == "not_cents" for pr in problems) and total != 0:
        problems.append(
            Problem(
                "postings",
                f"écriture déséquilibrée : la somme des lignes fait {total} centimes",
                "unbalanced",
            )
        )
    return problems


def validate_entry(entry: Entry) -> Entry:
    problems = entry_problems(entry)
    if problems:
        raise DomainError(*problems)
    return entry


def fingerprint(entry: Entry) -> str:
    """A digest of what the entry says, to tell a true replay from a reused key."""
    h = hashlib.sha256()
    h.update(f"{entry.value_date.isoformat()}|{entry.cause}|{entry.reverses or ''}".encode())
    for p in sorted(entry.postings, key=lambda p: (p[0], p[1] or 0, p[2], p[3], p[4], p[5])):
        h.update(
            f"|{p.ledger_account},{p.contributor_id or ''},{p.fund},{p.item},{p.period},{p.amount}".encode()
        )
    return h.hexdigest()


def reversal_of(
    original: Entry, idempotency_key: str, value_date: date, description: str = ""
) -> Entry:
    """The entry that cancels another, line by line."""
    return Entry(
        idempotency_key=idempotency_key,
        value_date=value_date,
        cause=Cause.REVERSAL.value,
        postings=tuple(p._replace(amount=-p.amount) for p in original.postings),
        description=description or f"Annulation de {original.idempotency_key}",
        reverses=original.idempotency_key,
    )


def balance_by_key(postings: Iterable[Posting]) -> dict[tuple, int]:
    """Pure balance computation, the reference the database figures are checked against."""
    out: dict[tuple, int] = {}
    for p in postings:
        k = (p.ledger_account, p.contributor_id, p.fund, p.item, p.period)
        out[k] = out.get(k, 0) + p.amount
    return {k: v for k, v in out.items() if v != 0}


def unbalanced(entries: Sequence[Entry]) -> list[str]:
    """Idempotency keys of entries whose postings do not sum to zero."""
    return [e.idempotency_key for e in entries if sum(p.amount for p in e.postings) != 0]
