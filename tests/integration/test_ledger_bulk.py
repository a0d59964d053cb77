"""The bulk path's cache: summed across the whole call, added once, all or nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from recouvrement.adapters.db.tables import account_balance
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.domain.ledger import reversal_of
from recouvrement.services import authentication, ledger, ledger_bulk
from recouvrement.services.ledger_bulk import post_entries_bulk
from recouvrement.services.ledger_check import check_ledger

from .conftest import SYSTEM
from .ledger_helpers import assessment, counts, open_account, payment


@pytest.fixture
def books(world):
    world.a = open_account(world, 1)
    world.b = open_account(world, 2)
    return world


def cache_rows(engine) -> dict[tuple, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                account_balance.c.contributor_id,
                account_balance.c.ledger_account,
                account_balance.c.fund,
                account_balance.c.item,
                account_balance.c.period,
                account_balance.c.balance,
            )
        ).all()
    return {tuple(r[:5]): r[5] for r in rows}


def journal_sums(entries) -> dict[tuple, int]:
    sums: dict[tuple, int] = {}
    for e in entries:
        for p in e.postings:
            if p.contributor_id is not None:
                k = (p.contributor_id, p.ledger_account, p.fund, p.item, p.period)
                sums[k] = sums.get(k, 0) + p.amount
    return sums


def test_a_key_hit_in_several_batches_gets_one_cache_row_with_the_journal_sum(books):
    entries = [
        assessment(f"s-{i}", books.a if i % 2 else books.b, 1_000 + i, period="2024-03")
        for i in range(30)
    ]
    res = post_entries_bulk(books.engine, SYSTEM, entries, batch_size=4)
    assert (res.posted, res.batches) == (30, 8)
    assert cache_rows(books.engine) == journal_sums(entries)
    assert check_ledger(books.engine).ok


def test_a_key_that_nets_to_zero_within_the_call_leaves_no_cache_row(books):
    """Summed over the call, a debt called and paid in the same call adds nothing to the cache
    (the old per-batch upsert left a row at zero); the journal holds both entries."""
    entries = [
        assessment("z-call", books.a, 5_000, period="2024-05"),
        assessment("z-other", books.b, 700, period="2024-05"),
        payment("z-paid", books.a, 5_000, period="2024-05"),
    ]
    res = post_entries_bulk(books.engine, SYSTEM, entries, batch_size=1)
    assert res.posted == 3
    assert cache_rows(books.engine) == {
        (books.b, "receivable", "unedic", "unemployment_employer", "2024-05"): 700
    }
    assert ledger.balance(books.engine, SYSTEM, books.a) == 0
    assert ledger.balance(books.engine, SYSTEM, books.a, as_of=entries[2].value_date) == 0
    assert check_ledger(books.engine).ok


def test_the_cache_is_added_in_several_rounds_when_the_keys_outgrow_the_limit(books, monkeypatch):
    monkeypatch.setattr(ledger_bulk, "MAX_PENDING_KEYS", 3)
    entries = [
        assessment(
            f"r-{i}", books.a if i % 3 else books.b, 100 + i, period=f"2023-{1 + i % 12:02d}"
        )
        for i in range(40)
    ]
    post_entries_bulk(books.engine, SYSTEM, entries, batch_size=5)
    assert cache_rows(books.engine) == journal_sums(entries)
    assert check_ledger(books.engine).ok


def test_a_refusal_in_a_late_batch_leaves_the_cache_as_it_was(books):
    post_entries_bulk(books.engine, SYSTEM, [assessment("k-0", books.a, 900)])
    before, cache = counts(books.engine), cache_rows(books.engine)
    entries = [assessment(f"k-{i}", books.a, 1_000 + i) for i in range(1, 12)]
    entries.append(assessment("k-0", books.a, 901))  # the key reused for another entry
    with pytest.raises(DomainError):
        post_entries_bulk(books.engine, SYSTEM, entries, batch_size=3)
    assert counts(books.engine) == before
    assert cache_rows(books.engine) == cache


def test_replays_and_reversals_in_a_call_keep_the_cache_equal_to_the_journal(books):
    first = [payment(f"p-{i}", books.b, 300 + i, period="2024-01") for i in range(6)]
    post_entries_bulk(books.engine, SYSTEM, first, batch_size=2)
    mixed = [
        *first[2:],
        *[assessment(f"q-{i}", books.b, 300 + i, period="2024-01") for i in range(6)],
        reversal_of(first[0], "rev-p-0", date(2024, 6, 1)),
    ]
    res = post_entries_bulk(books.engine, SYSTEM, mixed, batch_size=3)
    assert (res.posted, res.already_posted) == (7, 4)
    assert ledger.balance(books.engine, SYSTEM, books.b) == 300
    assert check_ledger(books.engine).ok


def test_posting_in_bulk_needs_the_right(books):
    authentication.create_agent(books.engine, SYSTEM, "lecteur", "Lecteur", "URSSAF-REG", ["agent"])
    reader = authentication.actor_for_login(books.engine, "lecteur")
    with pytest.raises(Forbidden):
        post_entries_bulk(books.engine, reader, [assessment("f-1", books.a, 1)])
    assert counts(books.engine) == (0, 0, 0, 0)


def test_replays_between_new_batches_are_set_aside_and_conflicts_refused(books):
    old = [assessment(f"o-{i}", books.a, 10 + i, period="2024-07") for i in range(6)]
    post_entries_bulk(books.engine, SYSTEM, old, batch_size=3)
    new = [assessment(f"n-{i}", books.b, 20 + i, period="2024-07") for i in range(9)]
    calls = [*new[:3], *old[:3], *new[3:6], *old[3:5], new[6], *new[7:]]
    res = post_entries_bulk(books.engine, SYSTEM, calls, batch_size=3)
    assert (res.posted, res.already_posted) == (9, 5)
    assert cache_rows(books.engine) == journal_sums(old + new)
    assert check_ledger(books.engine).ok
    before = counts(books.engine)
    with pytest.raises(Conflict) as err:
        post_entries_bulk(
            books.engine,
            SYSTEM,
            [assessment("x-1", books.a, 1), assessment("o-4", books.a, 99, period="2024-07")],
            batch_size=1,
        )
    assert "o-4" in str(err.value)
    assert counts(books.engine) == before
