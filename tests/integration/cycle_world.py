"""A small collection world for the daily-cycle tests: employers, declarations, calls, receipts.

Built the same way twice, it gives the same ids, so two databases can be compared entry by entry.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select
from stdnum import luhn

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.cycle_tables import payment_incident
from recouvrement.adapters.db.tables import account_balance, journal_entry, journal_posting
from recouvrement.domain.contributors import ContributorDraft, ContributorKind, Establishment
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.domain.payment_reference import account_reference
from recouvrement.services import contributors, ledger, payroll

from .conftest import SYSTEM, build_world

OPENED = date(2024, 1, 2)
PERIODS = {
    # period: (declared on, issue date, due date) — the call's own dates win where the declaration
    # already records the call.
    "2024-01": (date(2024, 2, 5), date(2024, 2, 6), date(2024, 2, 15)),
    "2024-02": (date(2024, 3, 5), date(2024, 3, 6), date(2024, 3, 15)),
}
FIRST_DAY = date(2024, 2, 1)
LINES = [
    {"nir": "180017512345660", "birth_date": "1980-01-01", "gross_pay": "2000.00"},
    {"nir": "283027512345673", "birth_date": "1983-02-01", "gross_pay": "3100.00"},
]
# How each employer pays each period: (days after the due date, share of the principal in %).
PAYERS = {
    0: {"2024-01": (-3, 100), "2024-02": (-1, 130)},  # on time, the second time in excess
    1: {"2024-01": (10, 100), "2024-02": (14, 100)},  # late
    2: {},  # never
    3: {"2024-01": (0, 50)},  # half, on the due date
}


def siren(n: int) -> str:
    base = f"{70000000 + n:08d}"
    return base + luhn.calc_check_digit(base)


def siret(n: int) -> str:
    base = siren(n) + "0001"
    return base + luhn.calc_check_digit(base)


def build_cycle_world(engine, employers: int = 4) -> list[int]:
    """The contributors' ids; calls scheduled for each declared month; receipts posted by hand
    with their value dates (the cycle must judge them as of each day, not as of now)."""
    world = build_world(engine)
    ids = []
    for n in range(employers):
        draft = ContributorDraft(
            kind=ContributorKind.EMPLOYER,
            name=f"Employeur {n}",
            territory="69",
            organisation_code="URSSAF-REG",
            siren=siren(n),
            establishments=(Establishment(siret(n), "69", f"Établissement {n}"),),
        )
        cid = contributors.create_contributor(engine, SYSTEM, draft, OPENED)["id"]
        ids.append(cid)
        for period, (declared_on, issue, due) in PERIODS.items():
            payroll.declare(engine, world.urssaf_agent, siret(n), period, LINES, declared_on)
            schedule_call(engine, cid, period, issue, due)
    for n, cid in enumerate(ids):
        for period, (days, share) in PAYERS.get(n % len(PAYERS), {}).items():
            paid_on = due_date(engine, cid, period) + timedelta(days=days)
            ledger.post_entry(engine, SYSTEM, receipt(cid, period, paid_on, share, engine))
    return ids


def schedule_call(engine, cid: int, period: str, issue: date, due: date) -> None:
    """The call of the period, unless the declaration recorded it already."""
    with engine.begin() as conn:
        if conn.scalar(
            select(call.c.id).where(call.c.contributor_id == cid, call.c.period == period)
        ):
            return
    owed = principal(engine, cid, period)
    with engine.begin() as conn:
        conn.execute(
            insert(call).values(
                contributor_id=cid,
                period=period,
                kind="employer_monthly",
                reference=f"{account_reference(cid)}-{period}",
                issue_date=issue,
                due_date=due,
                amount=sum(owed.values()),
                status="scheduled",
                created_at=datetime(2024, 1, 2, tzinfo=UTC),
            )
        )


def due_date(engine, cid: int, period: str) -> date:
    with engine.connect() as conn:
        return conn.scalar(
            select(call.c.due_date).where(call.c.contributor_id == cid, call.c.period == period)
        )


def principal(engine, cid: int, period: str) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(account_balance.c.fund, account_balance.c.item, account_balance.c.balance).where(
                account_balance.c.contributor_id == cid,
                account_balance.c.ledger_account == "receivable",
                account_balance.c.period == period,
            )
        ).all()
    return {(r.fund, r.item): r.balance for r in rows if r.balance}


def receipt(cid: int, period: str, paid_on: date, share: int, engine) -> Entry:
    """A bank receipt paying `share` % of the period's principal, any excess left as a credit."""
    owed = principal(engine, cid, period)
    total = sum(owed.values()) * share // 100
    postings = [Posting("bank", None, "", "", "", total)]
    left = total
    for (fund, item), amount in sorted(owed.items()):
        paid = min(amount, left)
        if paid:
            postings.append(Posting("receivable", cid, fund, item, period, -paid))
            left -= paid
    if left:
        postings.append(Posting("receivable", cid, "", "credit", "", -left))
    return Entry(f"receipt:test-{cid}-{period}", paid_on, "payment", tuple(postings))


def canonical_journal(engine) -> list[tuple]:
    """The journal without its surrogate ids and clock times: entry by idempotency key, with its
    value date, cause, reversed key and postings in a fixed order."""
    e, p = journal_entry, journal_posting
    with engine.connect() as conn:
        keys = dict(conn.execute(select(e.c.id, e.c.idempotency_key)).all())
        entries = {
            r.id: [r.idempotency_key, r.value_date.isoformat(), r.cause, keys.get(r.reverses_id)]
            for r in conn.execute(
                select(e.c.id, e.c.idempotency_key, e.c.value_date, e.c.cause, e.c.reverses_id)
            )
        }
        postings: dict[int, list[tuple]] = {i: [] for i in entries}
        for r in conn.execute(
            select(
                p.c.entry_id,
                p.c.ledger_account,
                p.c.contributor_id,
                p.c.fund,
                p.c.item,
                p.c.period,
                p.c.value_date,
                p.c.amount,
            )
        ):
            line = (r.ledger_account, r.contributor_id, r.fund, r.item, r.period)
            postings[r.entry_id].append((*line, str(r.value_date), r.amount))
    return sorted((*entries[i], tuple(sorted(postings[i]))) for i in entries)


def call_states(engine) -> list[tuple]:
    """Calls and payment incidents without their clock times: what the cycle decided."""
    with engine.connect() as conn:
        calls = conn.execute(
            select(call.c.reference, call.c.status, call.c.issued_on).order_by(call.c.reference)
        ).all()
        incidents = conn.execute(
            select(
                payment_incident.c.call_id,
                payment_incident.c.kind,
                payment_incident.c.detected_on,
                payment_incident.c.unpaid_amount,
            ).order_by(payment_incident.c.call_id)
        ).all()
    return [tuple(r) for r in calls] + [tuple(r) for r in incidents]
