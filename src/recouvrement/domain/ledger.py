"""The journal: immutable, balanced entries in integer cents.

A posting names where money sits: a ledger account (receivable, bank, a fund's revenue…) and the key
contributor · fund · contribution item · period. An entry's postings sum to zero, so the ledger as a
whole always balances; a correction is a new reversing entry, never an edit.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
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
    FEE_RECEIVABLE = "fee_receivable"  # management fees billed to a fund, not yet paid
    FEE_REVENUE = "fee_revenue"  # management fees earned by the collector


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
    FEE = "fee"


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
# Column widths of journal_posting: a longer code is an input error, not a database error.
MAX_FUND = 32
MAX_ITEM = 48
# Accounts that only make sense for one contributor.
CONTRIBUTOR_ACCOUNTS = frozenset({LedgerAccount.RECEIVABLE.value})


_CODE = re.compile(r"[A-Za-z0-9_.\-]*")


@lru_cache(maxsize=4096)
def _good_code(value: object, width: int) -> bool:
    """Fund and item codes are identifiers: no spaces, nothing to escape anywhere."""
    return isinstance(value, str) and len(value) <= width and _CODE.fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _period_problems(text: str, where: str) -> tuple[Problem, ...]:
    """Problems of a period written on a posting; cached, since a batch repeats a few periods."""
    try:
        parsed = Period.parse(text, where)
    except DomainError as err:
        return err.problems
    if str(parsed) != text:
        return (
            Problem(where, f"période à écrire sous sa forme canonique : {parsed}", "bad_period"),
        )
    return ()


def _amount_problem(amount: object, where: str) -> Problem | None:
    """Integer cents only: a float or a decimal with a fraction of a cent is refused, never rounded."""
    if type(amount) is int:
        return None
    if isinstance(amount, (float, Decimal)) and not isinstance(amount, bool):
        try:
            fractional = amount != int(amount)
        except (ValueError, OverflowError):  # nan, inf
            fractional = True
        if fractional:
            return Problem(
                where,
                f"montant avec des fractions de centime : {amount!r} (centimes entiers attendus)",
                "fractional_cents",
            )
    return Problem(where, f"montant en centimes entiers obligatoire : {amount!r}", "not_cents")


def _posting_problems(p: Posting, where: str) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(p.ledger_account, str) or p.ledger_account not in _ACCOUNTS:
        problems.append(
            Problem(
                f"{where}.ledger_account",
                f"compte comptable inconnu : {p.ledger_account!r}",
                "unknown_account",
            )
        )
    cid = p.contributor_id
    if cid is not None and (type(cid) is not int or cid <= 0):
        problems.append(
            Problem(
                f"{where}.contributor_id",
                f"identifiant de cotisant invalide : {cid!r}",
                "bad_contributor",
            )
        )
    elif (
        cid is None
        and isinstance(p.ledger_account, str)
        and p.ledger_account in CONTRIBUTOR_ACCOUNTS
    ):
        problems.append(
            Problem(
                f"{where}.contributor_id",
                f"le compte {p.ledger_account} se tient par cotisant : cotisant manquant",
                "contributor_required",
            )
        )
    for name, value, width in (("fund", p.fund, MAX_FUND), ("item", p.item, MAX_ITEM)):
        if not isinstance(value, str) or not _good_code(value, width):
            problems.append(
                Problem(
                    f"{where}.{name}",
                    f"code {name} invalide : {value!r} (lettres, chiffres, « _ . - », "
                    f"{width} caractères au plus)",
                    f"bad_{name}",
                )
            )
    if not isinstance(p.period, str):
        problems.append(
            Problem(f"{where}.period", f"période invalide : {p.period!r}", "bad_period")
        )
    elif p.period:
        problems.extend(_period_problems(p.period, f"{where}.period"))
    return problems


_KNOWN: dict[str, set[str]] = {"fund": {""}, "item": {""}, "period": {""}}
_KNOWN_MAX = 10_000


def _known(kind: str, value: str) -> bool:
    """Fund, item and period texts already found valid (a batch repeats a few of them)."""
    known = _KNOWN[kind]
    if value in known:
        return True
    if kind == "period":
        ok = type(value) is str and not _period_problems(value, "")
    else:
        ok = _good_code(value, MAX_FUND if kind == "fund" else MAX_ITEM)
    if ok and len(known) < _KNOWN_MAX:
        known.add(value)
    return ok


def _is_clean(entry: Entry) -> bool:
    """A quick test that an ordinary entry breaks no rule.

    It accepts a subset of what entry_problems accepts (anything unusual gets the full check), so
    a batch of a million entries is validated in a second or two.
    """
    try:
        key = entry.idempotency_key
        if (
            type(key) is not str
            or not 0 < len(key) <= 200
            or key.isspace()
            or type(entry.value_date) is not date
            or entry.cause not in _CAUSES
            or type(entry.description) is not str
            or entry.reverses is not None
        ):
            return False
        postings = entry.postings
        if type(postings) is not tuple or len(postings) < 2:
            return False
        total = 0
        for p in postings:
            if type(p) is not Posting:
                return False
            account, cid, fund, item, period, amount = p
            if (
                account not in _ACCOUNTS
                or type(amount) is not int
                or amount == 0
                or not -MAX_ABS_CENTS <= amount <= MAX_ABS_CENTS
                or not _known("fund", fund)
                or not _known("item", item)
                or not _known("period", period)
            ):
                return False
            if cid is None:
                if account in CONTRIBUTOR_ACCOUNTS:
                    return False
            elif type(cid) is not int or cid <= 0:
                return False
            total += amount
        return total == 0
    except TypeError:  # an unhashable code: the full check names it
        return False


def entry_problems(entry: Entry) -> list[Problem]:
    """Every rule an entry breaks; an empty list means it may be posted."""
    if _is_clean(entry):
        return []
    return _all_problems(entry)


def _all_problems(entry: Entry) -> list[Problem]:
    problems: list[Problem] = []
    key = entry.idempotency_key
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        problems.append(
            Problem("idempotency_key", "clé d'idempotence vide ou trop longue (200 max)", "bad_key")
        )
    if not isinstance(entry.value_date, date) or isinstance(entry.value_date, datetime):
        problems.append(Problem("value_date", "date de valeur manquante", "required"))
    if not isinstance(entry.cause, str) or entry.cause not in _CAUSES:
        problems.append(Problem("cause", f"cause inconnue : {entry.cause!r}", "unknown_cause"))
    if not isinstance(entry.description, str):
        problems.append(Problem("description", "libellé à donner en texte", "bad_description"))
    if entry.reverses is not None and (
        not isinstance(entry.reverses, str) or not entry.reverses.strip()
    ):
        problems.append(Problem("reverses", "clé de l'écriture annulée invalide", "bad_reverses"))
    if entry.reverses is not None and entry.reverses == key:
        problems.append(
            Problem("reverses", "une écriture ne s'annule pas elle-même", "bad_reverses")
        )
    postings = entry.postings
    if not isinstance(postings, (tuple, list)):
        problems.append(Problem("postings", "lignes d'écriture manquantes", "required"))
        return problems
    if len(postings) < 2:
        problems.append(Problem("postings", "une écriture a au moins deux lignes", "too_few"))
    total = 0
    all_cents = True
    for i, p in enumerate(postings):
        where = f"postings[{i}]"
        if not isinstance(p, Posting):
            problems.append(Problem(where, "ligne d'écriture invalide", "bad_posting"))
            all_cents = False
            continue
        problems.extend(_posting_problems(p, where))
        bad_amount = _amount_problem(p.amount, f"{where}.amount")
        if bad_amount is not None:
            problems.append(bad_amount)
            all_cents = False
            continue
        if p.amount == 0:
            problems.append(Problem(f"{where}.amount", "ligne à montant nul", "zero_amount"))
        if abs(p.amount) > MAX_ABS_CENTS:
            problems.append(Problem(f"{where}.amount", "montant hors limites", "out_of_range"))
        total += p.amount
    if all_cents and total != 0:
        problems.append(
            Problem(
                "postings",
                f"écriture déséquilibrée : la somme des lignes fait {total} centimes au lieu de 0",
                "unbalanced",
            )
        )
    return problems


def validate_entry(entry: Entry) -> Entry:
    problems = entry_problems(entry)
    if problems:
        raise DomainError(*problems)
    return entry


_NULL = "\\N"


def posting_line(p: Posting) -> str:
    """A posting as one tab-separated line, as PostgreSQL's COPY reads it (\\N: no contributor).

    Codes never contain a tab or a backslash (see _good_code), so nothing needs escaping; the bulk
    path sends these very lines, and the fingerprint is computed from them.
    """
    cid = _NULL if p.contributor_id is None else p.contributor_id
    return f"{p.ledger_account}\t{cid}\t{p.fund}\t{p.item}\t{p.period}\t{p.amount}"


def fingerprint_of_lines(
    value_date: str, cause: str, reverses: str | None, lines: list[str]
) -> str:
    """The fingerprint from the posting lines already formatted (the bulk path formats them once)."""
    head = f"{value_date}|{cause}|{reverses or ''}|"
    return hashlib.sha256((head + "|".join(sorted(lines))).encode()).hexdigest()


def fingerprint(entry: Entry) -> str:
    """A digest of what the entry says, to tell a true replay from a reused key.

    The order of the postings and the description do not count: the same lines in another order
    are the same entry.
    """
    return fingerprint_of_lines(
        entry.value_date.isoformat(),
        entry.cause,
        entry.reverses,
        [posting_line(p) for p in entry.postings],
    )


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


def reversal_problems(original: Sequence[Posting], reversal: Entry) -> list[Problem]:
    """A reversal cancels the original line by line: the same keys with opposite amounts.

    A partial correction is not a reversal; it is a new entry of its own cause.
    """
    expected = Counter(p._replace(amount=-p.amount) for p in original)
    if Counter(reversal.postings) != expected:
        return [
            Problem(
                "postings",
                f"l'annulation de {reversal.reverses} doit reprendre ses lignes "
                "en sens inverse, à l'identique",
                "reversal_mismatch",
            )
        ]
    return []


class PostingKey(NamedTuple):
    """Where an amount sits: ledger account · contributor · fund · item · period."""

    ledger_account: str
    contributor_id: int | None = None
    fund: str = NOT_APPLICABLE
    item: str = NOT_APPLICABLE
    period: str = NOT_APPLICABLE


def simple_entry(
    idempotency_key: str,
    value_date: date,
    cause: str,
    debit: PostingKey,
    credit: PostingKey,
    amount: object,
    description: str = "",
) -> Entry:
    """The usual two-line entry: `amount` (positive integer cents) debited to one key, credited
    to another. A negative amount or a fraction of a cent is refused: the sides say the direction.
    """
    if type(amount) is int:
        if amount <= 0:
            raise DomainError(
                Problem(
                    "amount",
                    f"montant négatif ou nul refusé : {amount} (le sens est donné par "
                    "le débit et le crédit)",
                    "negative_amount" if amount < 0 else "zero_amount",
                )
            )
    else:
        problem = _amount_problem(amount, "amount")
        raise DomainError(problem)  # type: ignore[arg-type]
    entry = Entry(
        idempotency_key=idempotency_key,
        value_date=value_date,
        cause=cause,
        postings=(Posting(*debit, amount), Posting(*credit, -amount)),
        description=description,
    )
    return validate_entry(entry)


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
