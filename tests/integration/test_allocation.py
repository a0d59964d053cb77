"""Receipts and credits allocated to debts in the legal order, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.tables import audit_event, journal_entry
from recouvrement.domain.allocation import CREDIT_ITEM, Debt
from recouvrement.domain.contributors import Activity, ContributorDraft, ContributorKind
from recouvrement.domain.errors import Forbidden
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services import allocation, contributors, ledger
from recouvrement.services.allocation_batch import ReceiptToAllocate, allocation_postings_many
from recouvrement.services.ledger_check import check_ledger
from recouvrement.services.unit_of_work import UnitOfWork

from .conftest import SYSTEM
from .ledger_helpers import assessment, counts, open_account

NIR = "180017512345660"
JAN, FEB, MAR = "2024-01", "2024-02", "2024-03"
DUE = {JAN: date(2024, 2, 15), FEB: date(2024, 3, 15), MAR: date(2024, 4, 15)}


def add_call(engine, cid: int, period: str, amount: int = 0) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(call).values(
                contributor_id=cid,
                period=period,
                kind="employer_monthly",
                reference=f"RF-{cid}-{period}",
                issue_date=DUE[period].replace(day=1),
                due_date=DUE[period],
                amount=amount,
                status="issued",
                created_at=datetime.now(UTC),
            )
        )


def owe(engine, cid: int, period: str, amount: int, item: str = "unemployment_employer") -> None:
    fund = "ags" if item == "ags" else "unedic"
    day = DUE[period].replace(day=5)
    ledger.post_entry(
        engine,
        SYSTEM,
        assessment(f"decl:{cid}:{period}:{item}", cid, amount, day, fund, item, period),
    )


def receive(engine, cid: int, key: str, amount: int, on: date, designation=None) -> Entry:
    """What the receipts service does: the allocation's credits and the bank's debit, one entry."""
    with UnitOfWork(engine) as uow:
        postings = allocation.allocation_postings(uow.conn, cid, amount, designation, on)
        entry = Entry(
            key, on, "payment", (Posting("bank", None, "", "", "", amount), *postings), "Virement"
        )
        ledger.post_entries(uow.conn, SYSTEM, [entry])
        uow.commit()
    return entry


def balances(engine, cid: int) -> dict[tuple[str, str, str], int]:
    return {
        (r["fund"], r["item"], r["period"]): r["balance"]
        for r in ledger.balances(engine, SYSTEM, cid, ledger_account="receivable")
    }


@pytest.fixture
def employer(world):
    """An employer owing January and February, with their calls, and a January surcharge."""
    cid = open_account(world, 1)
    for period in (JAN, FEB):
        add_call(world.engine, cid, period)
        owe(world.engine, cid, period, 100_000)
    owe(world.engine, cid, JAN, 5_000, "surcharge_initial")
    world.cid = cid
    return world


def test_open_debts_carry_the_due_date_of_their_call_or_their_first_value_date(employer):
    e, cid = employer.engine, employer.cid
    ledger.post_entry(e, SYSTEM, assessment("no-call", cid, 700, date(2024, 4, 9), period=MAR))
    with e.connect() as conn:
        debts = allocation.open_debts(conn, cid)
        earlier = allocation.open_debts(conn, cid, as_of=date(2024, 2, 28))
    assert debts == [
        Debt("unedic", "surcharge_initial", JAN, DUE[JAN], 5_000),
        Debt("unedic", "unemployment_employer", JAN, DUE[JAN], 100_000),
        Debt("unedic", "unemployment_employer", FEB, DUE[FEB], 100_000),
        Debt("unedic", "unemployment_employer", MAR, date(2024, 4, 9), 700),
    ]
    assert [(d.period, d.item) for d in earlier] == [
        (JAN, "surcharge_initial"),
        (JAN, "unemployment_employer"),
    ]


def test_a_partial_payment_pays_the_oldest_principal_first_then_surcharges(employer):
    e, cid = employer.engine, employer.cid
    receive(e, cid, "receipt:1", 150_000, date(2024, 3, 20))
    assert balances(e, cid) == {
        ("unedic", "surcharge_initial", JAN): 5_000,
        ("unedic", "unemployment_employer", FEB): 50_000,
    }
    receive(e, cid, "receipt:2", 53_000, date(2024, 3, 21))
    assert balances(e, cid) == {("unedic", "surcharge_initial", JAN): 2_000}


def test_the_remainder_becomes_a_credit(employer):
    e, cid = employer.engine, employer.cid
    receive(e, cid, "receipt:1", 230_000, date(2024, 3, 20))
    assert balances(e, cid) == {("", CREDIT_ITEM, ""): -25_000}
    assert check_ledger(e).ok


def test_the_designated_period_is_paid_first(employer):
    e, cid = employer.engine, employer.cid
    receive(e, cid, "receipt:1", 100_000, date(2024, 3, 20), designation=[FEB])
    assert balances(e, cid) == {
        ("unedic", "surcharge_initial", JAN): 5_000,
        ("unedic", "unemployment_employer", JAN): 100_000,
    }


def test_a_payment_before_the_due_date_pays_what_is_due_then_the_next_call(employer):
    e, cid = employer.engine, employer.cid
    add_call(e, cid, MAR)
    owe(e, cid, MAR, 100_000)
    receive(e, cid, "receipt:1", 260_000, date(2024, 3, 1))  # February is not yet due
    assert balances(e, cid) == {("unedic", "unemployment_employer", MAR): 45_000}


def test_credit_pays_the_next_debt_on_the_day_it_falls_due_once(employer):
    e, cid = employer.engine, employer.cid
    receive(e, cid, "receipt:1", 305_000, date(2024, 3, 14))  # pays all, 100 000 of credit
    add_call(e, cid, MAR)
    owe(e, cid, MAR, 80_000)
    assert balances(e, cid)[("", CREDIT_ITEM, "")] == -100_000

    before = counts(e)
    report = allocation.apply_credits_step(e, date(2024, 4, 14))  # not yet due
    assert report.counts == {} and counts(e) == before

    seen = []
    report = allocation.apply_credits_step(
        e, DUE[MAR], lambda done, total: seen.append((done, total))
    )
    assert report.name == "apply_credits"
    assert report.counts == {"credits_applied": 1}
    assert report.amounts == {"credits_applied": 80_000}
    assert seen == [(1, 1)]
    assert balances(e, cid) == {("", CREDIT_ITEM, ""): -20_000}
    with e.connect() as conn:
        entry = conn.execute(
            select(journal_entry.c.cause, journal_entry.c.value_date).where(
                journal_entry.c.idempotency_key == f"credit-allocation:{cid}:2024-04-15"
            )
        ).one()
    assert tuple(entry) == ("allocation", DUE[MAR])

    after = counts(e)
    again = allocation.apply_credits_step(e, DUE[MAR])
    assert again.counts == {} and counts(e) == after  # nothing left to pay: not a candidate
    assert check_ledger(e).ok


def test_a_rerun_of_the_day_skips_the_contributor_already_done(employer):
    e, cid = employer.engine, employer.cid
    receive(e, cid, "receipt:1", 255_000, date(2024, 3, 14))  # 50 000 of credit
    add_call(e, cid, MAR)
    owe(e, cid, MAR, 80_000)
    allocation.apply_credits_step(e, DUE[MAR])
    assert balances(e, cid) == {("unedic", "unemployment_employer", MAR): 30_000}
    receive(e, cid, "receipt:2", 40_000, date(2024, 4, 15))  # 30 000 pay March, 10 000 credit
    # A debt without a call, due on its value date: the contributor is a candidate again.
    ledger.post_entry(e, SYSTEM, assessment("adj", cid, 4_000, date(2024, 4, 10), period="2024-04"))
    before = counts(e)
    report = allocation.apply_credits_step(e, DUE[MAR])
    assert report.counts == {"credits_already_applied": 1}
    assert counts(e) == before
    report = allocation.apply_credits_step(e, date(2024, 4, 16))
    assert report.amounts == {"credits_applied": 4_000}
    assert balances(e, cid) == {("", CREDIT_ITEM, ""): -6_000}
    assert check_ledger(e).ok


def test_reversal_of_a_receipt_whose_credit_was_used_reopens_the_debts_exactly(employer):
    e, cid = employer.engine, employer.cid
    receive(e, cid, "receipt:1", 205_000, date(2024, 3, 14))  # all paid, no credit
    receive(e, cid, "receipt:2", 60_000, date(2024, 3, 20))  # all credit
    add_call(e, cid, MAR)
    owe(e, cid, MAR, 80_000)
    allocation.apply_credits_step(e, DUE[MAR])  # 60 000 of credit pay March
    assert balances(e, cid) == {("unedic", "unemployment_employer", MAR): 20_000}

    # The direct debit of receipt 2 is rejected: its entry is reversed, the credit goes positive.
    ledger.reverse_entry(e, SYSTEM, "receipt:2", "reject:2", date(2024, 4, 20))
    assert balances(e, cid)[("", CREDIT_ITEM, "")] == 60_000
    with UnitOfWork(e) as uow:
        postings = allocation.reallocate(uow.conn, SYSTEM, cid, date(2024, 4, 20))
        again = allocation.reallocate(uow.conn, SYSTEM, cid, date(2024, 4, 20))
        uow.commit()
    assert again == []
    assert sorted(p.amount for p in postings) == [-60_000, 60_000]
    assert balances(e, cid) == {("unedic", "unemployment_employer", MAR): 80_000}
    assert check_ledger(e).ok
    with e.connect() as conn:
        assert (
            conn.scalar(select(func.count()).where(audit_event.c.action == "allocation.reopen"))
            == 1
        )


def test_reversal_of_a_receipt_that_paid_debts_directly_needs_nothing_more(employer):
    e, cid = employer.engine, employer.cid
    receive(e, cid, "receipt:1", 150_000, date(2024, 3, 20))
    ledger.reverse_entry(e, SYSTEM, "receipt:1", "reject:1", date(2024, 3, 25))
    with UnitOfWork(e) as uow:
        assert allocation.reallocate(uow.conn, SYSTEM, cid, date(2024, 3, 25)) == []
    assert balances(e, cid) == {
        ("unedic", "surcharge_initial", JAN): 5_000,
        ("unedic", "unemployment_employer", JAN): 100_000,
        ("unedic", "unemployment_employer", FEB): 100_000,
    }


def test_an_agent_without_the_posting_right_cannot_reallocate(employer):
    with UnitOfWork(employer.engine) as uow, pytest.raises(Forbidden):
        allocation.reallocate(uow.conn, employer.urssaf_agent, employer.cid, date(2024, 4, 20))


def test_a_self_employed_person_uses_the_self_employed_order(world):
    draft = ContributorDraft(
        kind=ContributorKind.SELF_EMPLOYED,
        name="Jeanne Martin",
        territory="69",
        organisation_code="URSSAF-REG",
        nir=NIR,
        activity=Activity.CRAFT,
        activity_start=date(2020, 1, 1),
    )
    cid = contributors.create_contributor(
        world.engine, world.urssaf_agent, draft, date(2024, 1, 2)
    )["id"]
    add_call(world.engine, cid, JAN)
    for fund, item in (("self_employed_scheme", "health"), ("csg_crds", "crds")):
        ledger.post_entry(
            world.engine,
            SYSTEM,
            assessment(f"se:{item}", cid, 1_000, date(2024, 1, 5), fund, item, JAN),
        )
    with world.engine.connect() as conn:
        postings = allocation.allocation_postings(conn, cid, 1_000, on=date(2024, 3, 1))
    assert [(p.item, p.amount) for p in postings] == [("crds", -1_000)]


def test_only_the_part_of_the_credit_already_used_is_reopened(employer):
    e, cid = employer.engine, employer.cid
    receive(e, cid, "receipt:1", 205_000, date(2024, 3, 14))  # all paid
    receive(e, cid, "receipt:2", 60_000, date(2024, 3, 20))  # all credit
    add_call(e, cid, MAR)
    owe(e, cid, MAR, 40_000)
    allocation.apply_credits_step(e, DUE[MAR])  # 40 000 used, 20 000 left
    ledger.reverse_entry(e, SYSTEM, "receipt:2", "reject:2", date(2024, 4, 20))
    with UnitOfWork(e) as uow:
        allocation.reallocate(uow.conn, SYSTEM, cid, date(2024, 4, 20))
        uow.commit()
    assert balances(e, cid) == {("unedic", "unemployment_employer", MAR): 40_000}
    assert check_ledger(e).ok


def test_money_owed_back_that_no_allocation_explains_stays_a_debt_paid_last(employer):
    e, cid = employer.engine, employer.cid
    receive(e, cid, "receipt:1", 215_000, date(2024, 3, 14))  # 10 000 of credit
    refund = Entry(
        "refund:1",
        date(2024, 3, 20),
        "refund",
        (
            Posting("receivable", cid, "", CREDIT_ITEM, "", 10_000),
            Posting("refund_payable", cid, "", "", "", -10_000),
        ),
    )
    ledger.post_entry(e, SYSTEM, refund)
    ledger.reverse_entry(e, SYSTEM, "receipt:1", "reject:1", date(2024, 3, 25))
    with UnitOfWork(e) as uow:
        assert allocation.reallocate(uow.conn, SYSTEM, cid, date(2024, 3, 25)) == []
        debts = allocation.open_debts(uow.conn, cid)
    assert debts[-1] == Debt("", CREDIT_ITEM, "", date(2024, 3, 20), 10_000)
    receive(e, cid, "receipt:2", 210_000, date(2024, 3, 26))
    assert balances(e, cid) == {("", CREDIT_ITEM, ""): 5_000}


def test_many_receipts_at_once_give_what_posting_them_one_by_one_gives(employer):
    e, cid = employer.engine, employer.cid
    other = open_account(employer, 2)
    owe(e, other, JAN, 30_000)  # no call: due on its value date
    owe(e, other, FEB, 20_000, "ags")
    plan = [
        ReceiptToAllocate(cid, 120_000, None, date(2024, 3, 20)),
        ReceiptToAllocate(other, 10_000, ("2024-02",), date(2024, 3, 20)),
        ReceiptToAllocate(cid, 90_000, None, date(2024, 3, 21)),  # sees what the first paid
        ReceiptToAllocate(other, 50_000, None, date(2024, 3, 22)),
    ]
    with e.connect() as conn:
        batch = allocation_postings_many(conn, plan)
    for n, r in enumerate(plan):
        entry = receive(e, r.contributor_id, f"receipt:{n}", r.amount, r.on, r.designation)
        assert list(entry.postings[1:]) == batch[n]
    assert balances(e, cid) == {("", CREDIT_ITEM, ""): -5_000}
    assert balances(e, other) == {("", CREDIT_ITEM, ""): -10_000}
