"""The journal through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from recouvrement.adapters.cli import app as cli
from recouvrement.adapters.db.tables import (
    account_balance,
    audit_event,
    journal_entry,
    journal_posting,
)
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound
from recouvrement.domain.ledger import Entry, Posting, PostingKey, reversal_of, simple_entry
from recouvrement.services import authentication, ledger
from recouvrement.services.ledger_bulk import post_entries_bulk
from recouvrement.services.ledger_check import check_ledger
from recouvrement.services.unit_of_work import UnitOfWork

from .conftest import SYSTEM
from .ledger_helpers import assessment, counts, open_account, payment


@pytest.fixture
def books(world):
    """Two contributors of the joint organisation, one of Mayotte's fund, and an accountant."""
    authentication.create_agent(
        world.engine, SYSTEM, "comptable.urssaf", "Comptable", "URSSAF-REG", ["accounting_officer"]
    )
    world.accountant = authentication.actor_for_login(world.engine, "comptable.urssaf")
    world.a = open_account(world, 1)
    world.b = open_account(world, 2)
    world.mayotte = open_account(world, 3, "CSSM")
    return world


def test_an_entry_is_posted_once_and_the_balance_follows(books):
    e = assessment("decl-1", books.a, 120_000)
    first = ledger.post_entry(books.engine, books.accountant, e)
    assert first.posted and first.status == "posted"
    assert ledger.balance(books.engine, books.accountant, books.a) == 120_000
    before = counts(books.engine)
    again = ledger.post_entry(books.engine, books.accountant, e)
    assert (again.entry_id, again.posted, again.status) == (first.entry_id, False, "already_posted")
    assert counts(books.engine) == before
    assert ledger.balance(books.engine, books.accountant, books.a) == 120_000


def test_a_reused_key_with_other_content_is_a_conflict_naming_the_key(books):
    ledger.post_entry(books.engine, SYSTEM, assessment("decl-1", books.a, 120_000))
    before = counts(books.engine)
    with pytest.raises(Conflict) as err:
        ledger.post_entry(books.engine, SYSTEM, assessment("decl-1", books.a, 120_001))
    assert "decl-1" in str(err.value)
    assert err.value.problems[0].code == "idempotency_conflict"
    assert counts(books.engine) == before


@pytest.mark.parametrize(
    "entry, code",
    [
        (
            Entry(
                "bad-1",
                date(2024, 3, 1),
                "assessment",
                (
                    Posting("receivable", 1, "unedic", "x", "2024-02", 100),
                    Posting("fund_revenue", None, "unedic", "x", "2024-02", -99),
                ),
            ),
            "unbalanced",
        ),
        (
            Entry(
                "bad-2",
                date(2024, 3, 1),
                "assessment",
                (
                    Posting("receivable", 1, "unedic", "x", "2024-02", 100.5),
                    Posting("fund_revenue", None, "unedic", "x", "2024-02", -100.5),
                ),
            ),
            "fractional_cents",
        ),
    ],
)
def test_bad_entries_are_refused_and_change_nothing(books, entry, code):
    before = counts(books.engine)
    with pytest.raises(DomainError) as err:
        ledger.post_entry(books.engine, SYSTEM, entry)
    assert code in [p.code for p in err.value.problems]
    assert counts(books.engine) == before


def test_negative_and_fractional_amounts_never_reach_the_journal(books):
    before = counts(books.engine)
    for amount in (-100, 10.5):
        with pytest.raises(DomainError):
            ledger.post_entry(
                books.engine,
                SYSTEM,
                simple_entry(
                    "neg",
                    date(2024, 3, 1),
                    "payment",
                    PostingKey("bank"),
                    PostingKey("receivable", books.a),
                    amount,
                ),
            )
    assert counts(books.engine) == before


def test_a_posting_to_an_unknown_contributor_is_refused(books):
    before = counts(books.engine)
    with pytest.raises(NotFound) as err:
        ledger.post_entry(books.engine, SYSTEM, assessment("x-1", 999_999, 100))
    assert "999999" in str(err.value)
    assert counts(books.engine) == before


def test_posting_needs_the_right_and_the_reach(books):
    with pytest.raises(Forbidden):
        ledger.post_entry(books.engine, books.urssaf_agent, assessment("x-1", books.a, 100))
    with pytest.raises(Forbidden):
        ledger.post_entry(books.engine, books.accountant, assessment("x-2", books.mayotte, 100))
    assert counts(books.engine)[0] == 0


def test_a_reversal_cancels_an_entry_once(books):
    e = assessment("decl-1", books.a, 120_000)
    ledger.post_entry(books.engine, SYSTEM, e)
    r = ledger.reverse_entry(books.engine, SYSTEM, "decl-1", "annul-1", date(2024, 5, 1))
    assert r.posted
    assert ledger.balance(books.engine, SYSTEM, books.a) == 0
    assert ledger.balance(books.engine, SYSTEM, books.a, as_of=date(2024, 4, 30)) == 120_000
    # replaying the same reversal is a no-op; a second reversal under another key is refused
    assert not ledger.reverse_entry(
        books.engine, SYSTEM, "decl-1", "annul-1", date(2024, 5, 1)
    ).posted
    before = counts(books.engine)
    with pytest.raises(Conflict) as err:
        ledger.reverse_entry(books.engine, SYSTEM, "decl-1", "annul-2", date(2024, 5, 2))
    assert err.value.problems[0].code == "already_reversed"
    assert counts(books.engine) == before
    with books.engine.connect() as conn:
        ids = dict(conn.execute(select(journal_entry.c.idempotency_key, journal_entry.c.id)).all())
        reverses = conn.scalar(
            select(journal_entry.c.reverses_id).where(journal_entry.c.id == r.entry_id)
        )
    assert reverses == ids["decl-1"]


def test_a_reversal_must_name_a_posted_entry_and_mirror_it(books):
    e = assessment("decl-1", books.a, 120_000)
    with pytest.raises(NotFound):
        ledger.post_entry(books.engine, SYSTEM, reversal_of(e, "annul-1", date(2024, 5, 1)))
    ledger.post_entry(books.engine, SYSTEM, e)
    half = reversal_of(assessment("decl-1", books.a, 60_000), "annul-1", date(2024, 5, 1))
    with pytest.raises(DomainError) as err:
        ledger.post_entry(books.engine, SYSTEM, half)
    assert err.value.problems[0].code == "reversal_mismatch"


def test_posting_inside_the_callers_transaction_commits_or_rolls_back_with_it(books):
    with UnitOfWork(books.engine) as uow:
        ledger.post_entries(uow.conn, SYSTEM, [assessment("t-1", books.a, 500)])
        uow.rollback()
    assert counts(books.engine)[0] == 0
    with UnitOfWork(books.engine) as uow:
        results = ledger.post_entries(
            uow.conn, SYSTEM, [assessment("t-1", books.a, 500), payment("t-2", books.a, 200)]
        )
        uow.commit()
    assert [r.posted for r in results] == [True, True]
    assert ledger.balance(books.engine, SYSTEM, books.a) == 300


def test_balances_by_fund_item_period_and_as_of_a_date(books):
    ledger.post_entries(
        books.engine,
        SYSTEM,
        [
            assessment("d-1", books.a, 10_000, date(2024, 2, 15), period="2024-01"),
            assessment("d-2", books.a, 20_000, date(2024, 3, 15), period="2024-02"),
            assessment("d-3", books.a, 3_000, date(2024, 3, 15), fund="ags", item="wage_guarantee"),
            payment("p-1", books.a, 4_000, date(2024, 4, 2), period="2024-01"),
        ],
    )
    eng = books.engine
    assert ledger.balance(eng, SYSTEM, books.a) == 29_000
    assert ledger.balance(eng, SYSTEM, books.a, fund="unedic") == 26_000
    assert ledger.balance(eng, SYSTEM, books.a, fund="unedic", period="2024-01") == 6_000
    assert ledger.balance(eng, SYSTEM, books.a, item="wage_guarantee") == 3_000
    assert ledger.balance(eng, SYSTEM, books.a, as_of=date(2024, 2, 28)) == 10_000
    assert ledger.balance(eng, SYSTEM, books.a, as_of=date(2024, 3, 31)) == 33_000
    assert ledger.balance(eng, SYSTEM, books.b) == 0
    rows = ledger.balances(eng, SYSTEM, books.a)
    assert {(r["fund"], r["period"]): r["balance"] for r in rows} == {
        ("ags", "2024-02"): 3_000,
        ("unedic", "2024-01"): 6_000,
        ("unedic", "2024-02"): 20_000,
    }
    assert ledger.balances(eng, SYSTEM, books.a, as_of=date(2024, 3, 31)) == [
        r | {"balance": 10_000} if r["period"] == "2024-01" and r["fund"] == "unedic" else r
        for r in rows
    ]
    with pytest.raises(DomainError):
        ledger.balance(eng, SYSTEM, books.a, ledger_account="nowhere")


def test_reading_a_balance_follows_the_reach_of_the_actor(books):
    ledger.post_entry(books.engine, SYSTEM, assessment("d-1", books.a, 10_000))
    assert ledger.balance(books.engine, books.rsi_agent, books.a) == 10_000  # joint organisation
    with pytest.raises(Forbidden):
        ledger.balance(books.engine, books.outsider, books.a)
    with pytest.raises(Forbidden):
        ledger.balance(books.engine, books.cssm_agent, books.a)
    with pytest.raises(NotFound):
        ledger.balance(books.engine, SYSTEM, 999_999)


def test_each_posted_entry_leaves_an_audit_event(books):
    ledger.post_entry(books.engine, books.accountant, assessment("d-1", books.a, 10_000))
    ledger.post_entry(books.engine, books.accountant, assessment("d-1", books.a, 10_000))
    with books.engine.connect() as conn:
        rows = conn.execute(
            select(audit_event.c.actor, audit_event.c.object_id).where(
                audit_event.c.action == "ledger.post"
            )
        ).all()
    assert rows == [("comptable.urssaf", "d-1")]


# ---------------------------------------------------------------------------------------------
# Bulk


def many(cids, n, prefix="b"):
    return [
        assessment(f"{prefix}-{i}", cids[i % len(cids)], 100 + i, period=f"2024-{1 + i % 12:02d}")
        if i % 3
        else payment(f"{prefix}-{i}", cids[i % len(cids)], 50 + i)
        for i in range(n)
    ]


def test_the_bulk_path_posts_everything_and_a_replay_posts_nothing(books):
    cids = [books.a, books.b, books.mayotte]
    entries = many(cids, 250)
    res = post_entries_bulk(books.engine, SYSTEM, entries, batch_size=60)
    assert (res.posted, res.already_posted, res.batches) == (250, 0, 5)
    assert res.last_id - res.first_id == 249
    expected = {c: 0 for c in cids}
    for e in entries:
        for p in e.postings:
            if p.ledger_account == "receivable":
                expected[p.contributor_id] += p.amount
    assert {c: ledger.balance(books.engine, SYSTEM, c) for c in cids} == expected
    assert check_ledger(books.engine).ok
    before = counts(books.engine)
    again = post_entries_bulk(books.engine, SYSTEM, entries[::-1], batch_size=100)
    assert (again.posted, again.already_posted) == (0, 250)
    assert counts(books.engine) == before
    with books.engine.connect() as conn:
        events = (
            conn.execute(
                select(audit_event.c.detail).where(audit_event.c.action == "ledger.post_bulk")
            )
            .scalars()
            .all()
        )
    assert sum(e["posted"] for e in events) == 250
    assert len(events) == 5 + 3


def test_the_bulk_path_mixes_new_entries_replays_and_reversals(books):
    first = many([books.a], 10)
    post_entries_bulk(books.engine, SYSTEM, first)
    mixed = [
        *first[:5],
        assessment("n-1", books.b, 700),
        assessment("n-1", books.b, 700),  # twice in one call: posted once
        reversal_of(first[1], "r-1", date(2024, 6, 1)),
        reversal_of(assessment("n-1", books.b, 700), "r-2", date(2024, 6, 1)),
    ]
    res = post_entries_bulk(books.engine, SYSTEM, mixed)
    assert (res.posted, res.already_posted) == (3, 6)
    assert ledger.balance(books.engine, SYSTEM, books.b) == 0
    assert check_ledger(books.engine).ok


def test_one_bad_entry_refuses_the_whole_bulk_call(books):
    entries = many([books.a], 100)
    entries[57] = entries[57]._replace(
        postings=(entries[57].postings[0], entries[57].postings[1]._replace(amount=-1))
    )
    before = counts(books.engine)
    with pytest.raises(DomainError) as err:
        post_entries_bulk(books.engine, SYSTEM, entries, batch_size=20)
    assert err.value.problems[0].field == "entries[57].postings"
    assert err.value.problems[0].code == "unbalanced"
    assert counts(books.engine) == before


def test_a_bulk_call_reusing_a_key_for_other_content_is_refused_whole(books):
    ledger.post_entry(books.engine, SYSTEM, assessment("b-7", books.a, 1))
    before = counts(books.engine)
    with pytest.raises(Conflict) as err:
        post_entries_bulk(books.engine, SYSTEM, many([books.a], 30), batch_size=10)
    assert "b-7" in str(err.value)
    assert counts(books.engine) == before
    with pytest.raises(DomainError) as err:
        post_entries_bulk(
            books.engine, SYSTEM, [assessment("z", books.a, 1), assessment("z", books.a, 2)]
        )
    assert err.value.problems[0].code == "duplicate_key"
    with pytest.raises(NotFound):
        post_entries_bulk(books.engine, SYSTEM, [assessment("z", 424_242, 1)])
    assert counts(books.engine) == before


# ---------------------------------------------------------------------------------------------
# Append-only and the check


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE journal_entry SET description = 'x'",
        "DELETE FROM journal_entry",
        "UPDATE journal_posting SET amount = amount + 1",
        "DELETE FROM journal_posting",
    ],
)
def test_the_database_refuses_to_change_or_remove_journal_rows(books, statement):
    ledger.post_entry(books.engine, SYSTEM, assessment("d-1", books.a, 10_000))
    before = counts(books.engine)
    with pytest.raises(DBAPIError) as err, books.engine.begin() as conn:
        conn.execute(text(statement))
    assert "append-only" in str(err.value)
    assert counts(books.engine) == before


def test_the_database_refuses_a_posting_without_its_entry(books):
    before = counts(books.engine)
    with pytest.raises(DBAPIError) as err, books.engine.begin() as conn:
        conn.execute(
            insert(journal_posting).values(
                entry_id=4242,
                line_no=1,
                ledger_account="bank",
                fund="",
                item="",
                period="",
                value_date=date(2024, 1, 1),
                amount=100,
            )
        )
    assert "entry" in str(err.value) and "does not exist" in str(err.value)
    assert counts(books.engine) == before


def test_the_service_layer_offers_no_way_to_change_an_entry():
    public = [n for n in dir(ledger) if not n.startswith("_")]
    assert not [n for n in public if n.split("_")[0] in {"update", "delete", "remove", "edit"}]


@pytest.fixture
def run_cli(database_url, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, list(args))

    return run


def test_ledger_check_is_green_on_a_sound_journal(books, run_cli):
    post_entries_bulk(books.engine, SYSTEM, many([books.a, books.b], 40))
    result = run_cli("ledger", "check")
    assert result.exit_code == 0, result.output
    assert "40 écritures, 80 lignes" in result.output
    assert "journal équilibré, cache conforme" in result.output


def test_a_tampered_cache_row_turns_the_check_red_naming_the_key(books, run_cli):
    post_entries_bulk(books.engine, SYSTEM, many([books.a, books.b], 40))
    with books.engine.begin() as conn:
        conn.execute(
            update(account_balance)
            .where(
                account_balance.c.contributor_id == books.a,
                account_balance.c.period == "2024-02",
                account_balance.c.ledger_account == "receivable",
            )
            .values(balance=account_balance.c.balance + 1)
        )
        conn.execute(
            account_balance.delete().where(
                account_balance.c.contributor_id == books.b, account_balance.c.period == "2024-06"
            )
        )
    result = run_cli("ledger", "check")
    assert result.exit_code == 1
    assert (
        f"cotisant {books.a} · receivable · unedic · unemployment_employer · 2024-02"
        in result.output
    )
    assert "cache absent" in result.output
    assert "Soldes en cache différents du journal : 2" in result.output
    report = check_ledger(books.engine)
    diff = next(d for d in report.cache_differences if d.contributor_id == books.a)
    assert diff.cached == diff.journal + 1


def test_an_entry_written_around_the_service_is_caught_by_the_check(books, run_cli):
    with books.engine.begin() as conn:
        eid = conn.execute(
            insert(journal_entry).values(
                idempotency_key="forged",
                fingerprint="0" * 64,
                value_date=date(2024, 1, 1),
                recorded_at=datetime(2024, 1, 1, tzinfo=UTC),
                cause="assessment",
                description="",
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(journal_posting).values(
                entry_id=eid,
                line_no=1,
                ledger_account="bank",
                contributor_id=None,
                fund="",
                item="",
                period="",
                value_date=date(2024, 1, 2),
                amount=100,
            )
        )
    result = run_cli("ledger", "check")
    assert result.exit_code == 1
    assert "écriture 1 (clé forged) : 1 ligne(s)" in result.output
    assert "Lignes datées autrement que leur écriture : 1" in result.output


def test_the_post_command_takes_euros_and_refuses_bad_lines_whole(books, run_cli, tmp_path):
    good = {
        "key": "f-1",
        "value_date": "2024-03-15",
        "cause": "payment",
        "postings": [
            {"account": "bank", "debit": "120.50"},
            {
                "account": "receivable",
                "contributor_id": books.a,
                "fund": "unedic",
                "item": "unemployment_employer",
                "period": "2024-02",
                "credit": "120.50",
            },
        ],
    }
    bad = json.loads(json.dumps(good))
    bad["key"] = "f-2"
    bad["postings"][0]["debit"] = "-3.001"
    path = tmp_path / "entries.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n", encoding="utf-8")
    result = run_cli("ledger", "post", str(path))
    assert result.exit_code == 2
    assert "ligne 3 : postings[0].debit" in result.output
    assert counts(books.engine)[0] == 0
    path.write_text(json.dumps(good) + "\n", encoding="utf-8")
    assert run_cli("ledger", "post", str(path)).exit_code == 0
    result = run_cli("ledger", "post", str(path))
    assert "0 écriture(s) passée(s), 1 déjà passée(s)" in result.output
    assert ledger.balance(books.engine, SYSTEM, books.a) == -12_050
    with books.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(journal_entry)) == 1
