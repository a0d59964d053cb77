"""Reading a contributor's credit for a refund: its layers by payment, the law of the territory,
what open refund requests already claim, and the daily follow-up of credits nearing limitation.

Shared by the refund workflow (services/refunds.py) and its daily step; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, select

from recouvrement.adapters.db.tables import account_balance, case_table, contributor
from recouvrement.adapters.db.tables import journal_posting as posting
from recouvrement.domain import refunds as rules
from recouvrement.domain.errors import DomainError, NotFound
from recouvrement.domain.ledger import LedgerAccount
from recouvrement.rules.parameters import ParameterError, load_parameters

RECEIVABLE = LedgerAccount.RECEIVABLE.value
REFUND_PAYABLE = LedgerAccount.REFUND_PAYABLE.value
# States of a refund case whose amount is claimed on the credit but not yet posted.
PENDING_STATES = ("requested", "waiting_for_contributor", "checked")


def contributor_row(conn: Connection, contributor_id: int):
    row = conn.execute(
        select(
            contributor.c.id,
            contributor.c.name,
            contributor.c.organisation_id,
            contributor.c.territory,
        ).where(contributor.c.id == contributor_id)
    ).first()
    if row is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    return row


def refund_rules(territory: str, on: date) -> rules.RefundRules:
    """The limitation and the transfer rule in force on `on` for the territory."""
    params = load_parameters()
    try:
        years = params.value("refunds.limitation_years", on, territory)
        transfer = params.value("refunds.collection_transfer_date", on, territory)
        covered = params.value("refunds.pre_transfer_receipts_refundable", on, territory)
    except ParameterError as err:
        raise DomainError.single("on", str(err), "no_parameter") from None
    return rules.RefundRules(
        limitation_years=years,
        transfer_date=date.fromisoformat(transfer) if transfer else None,
        pre_transfer_refundable=bool(covered),
    )


def parameter(name: str, on: date, territory: str):
    try:
        return load_parameters().value(name, on, territory)
    except ParameterError as err:
        raise DomainError.single("on", str(err), "no_parameter") from None


def _credit_key():
    return (
        posting.c.ledger_account == RECEIVABLE,
        posting.c.fund == "",
        posting.c.item == rules.CREDIT_ITEM,
        posting.c.period == "",
    )


def credit_movements(conn: Connection, contributor_ids: Iterable[int]) -> dict[int, list]:
    """Postings on each contributor's credit key, in the order they happened."""
    ids = list(contributor_ids)
    out: dict[int, list] = {cid: [] for cid in ids}
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            select(posting.c.contributor_id, posting.c.value_date, posting.c.amount)
            .where(posting.c.contributor_id.in_(ids[i : i + 500]), *_credit_key())
            .order_by(
                posting.c.contributor_id,
                posting.c.value_date,
                posting.c.entry_id,
                posting.c.line_no,
            )
        )
        for cid, value_date, amount in rows:
            out[cid].append((value_date, int(amount)))
    return out


def credit_layers(conn: Connection, contributor_id: int) -> list[rules.CreditLayer]:
    return rules.credit_layers(credit_movements(conn, [contributor_id])[contributor_id])


def cached_balance(conn: Connection, contributor_id: int, account: str, item: str = "") -> int:
    value = conn.scalar(
        select(account_balance.c.balance).where(
            account_balance.c.contributor_id == contributor_id,
            account_balance.c.ledger_account == account,
            account_balance.c.fund == "",
            account_balance.c.item == item,
            account_balance.c.period == "",
        )
    )
    return int(value or 0)


def credit(conn: Connection, contributor_id: int) -> int:
    """The account's credit in cents (0 when the credit key is not negative)."""
    return max(0, -cached_balance(conn, contributor_id, RECEIVABLE, rules.CREDIT_ITEM))


def pending_claims(conn: Connection, contributor_id: int, except_case: int | None = None) -> int:
    """Cents already asked for by the contributor's refund requests not yet approved."""
    total = 0
    for case_id, payload in conn.execute(
        select(case_table.c.id, case_table.c.payload).where(
            case_table.c.case_type == "refund",
            case_table.c.contributor_id == contributor_id,
            case_table.c.state.in_(PENDING_STATES),
        )
    ):
        amount = (payload or {}).get("amount")
        if case_id != except_case and isinstance(amount, int):
            total += amount
    return total


def check_amount(
    conn: Connection,
    contributor_id: int,
    territory: str,
    amount: object,
    requested_on: date,
    except_case: int | None = None,
) -> dict:
    """Refuse an amount above the credit left free by other requests, or beyond limitation on
    the request date; returns the figures the decision rests on."""
    layers = credit_layers(conn, contributor_id)
    pending = pending_claims(conn, contributor_id, except_case)
    available = credit(conn, contributor_id) - pending
    refundable = rules.refundable_amount(
        layers, requested_on, refund_rules(territory, requested_on)
    )
    rules.require_refundable(amount, available, refundable - pending)
    return {"credit": available + pending, "pending": pending, "refundable": refundable}


def negative_credits(conn: Connection) -> list[tuple[int, str, int]]:
    """(contributor, territory, credit) of every account in credit."""
    rows = conn.execute(
        select(account_balance.c.contributor_id, contributor.c.territory, account_balance.c.balance)
        .join(contributor, contributor.c.id == account_balance.c.contributor_id)
        .where(
            account_balance.c.ledger_account == RECEIVABLE,
            account_balance.c.fund == "",
            account_balance.c.item == rules.CREDIT_ITEM,
            account_balance.c.period == "",
            account_balance.c.balance < 0,
        )
        .order_by(account_balance.c.contributor_id)
    )
    return [(cid, territory, -int(balance)) for cid, territory, balance in rows]
