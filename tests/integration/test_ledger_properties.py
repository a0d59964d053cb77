"""Ledger invariants under any sequence of entries, on SQLite and PostgreSQL.

Whatever is posted, by the one-by-one path or the bulk path, refused or accepted, replayed or not:
every entry in the journal balances, `ledger check` stays green, the cache equals the balances the
domain computes from the accepted entries, and a replay changes nothing.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recouvrement.domain.errors import DomainError
from recouvrement.domain.ledger import Entry, Posting, balance_by_key, reversal_of
from recouvrement.services import ledger
from recouvrement.services.ledger_bulk import post_entries_bulk
from recouvrement.services.ledger_check import check_ledger

from .conftest import SYSTEM
from .ledger_helpers import counts, open_account

_keys = itertools.count()
FUNDS = st.sampled_from([("unedic", "unemployment_employer"), ("ags", "wage_guarantee")])
PERIODS = st.sampled_from(["2024-01", "2024-02", "2024-Q1", "2023"])
ACCOUNTS = st.sampled_from(["receivable", "fund_revenue", "bank", "suspense", "write_off"])


@st.composite
def postings(draw, cids):
    account = draw(ACCOUNTS)
    fund, item = draw(FUNDS)
    with_contributor = account == "receivable" or draw(st.booleans())
    return Posting(
        account,
        draw(st.sampled_from(cids)) if with_contributor else None,
        fund,
        item,
        draw(PERIODS),
        draw(st.integers(1, 10**9)) * draw(st.sampled_from([1, -1])),
    )


@st.composite
def entries(draw, cids, balanced=True):
    lines = draw(st.lists(postings(cids), min_size=1, max_size=4))
    rest = -sum(p.amount for p in lines)
    if rest:
        lines.append(lines[0]._replace(amount=rest))
    else:
        lines.append(lines[0]._replace(amount=7))
        lines.append(lines[0]._replace(amount=-7))
    if not balanced:
        lines[-1] = lines[-1]._replace(amount=lines[-1].amount + draw(st.sampled_from([1, -1])))
    day = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 400)))
    return Entry(
        f"p-{next(_keys)}", day, draw(st.sampled_from(["assessment", "payment"])), tuple(lines)
    )


@pytest.fixture
def cids(world):
    return [open_account(world, n) for n in (11, 12, 13)]


def _expected(accepted: list[Entry]) -> dict:
    return {
        k: v
        for k, v in balance_by_key(p for e in accepted for p in e.postings).items()
        if k[1] is not None
    }


def _cache(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT ledger_account, contributor_id, fund, item, period, balance "
            "FROM account_balance WHERE balance <> 0"
        ).all()
    return {tuple(r[:5]): r[5] for r in rows}


PROPERTY = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _plus(before: dict, accepted: list[Entry]) -> dict:
    out = dict(before)
    for k, v in _expected(accepted).items():
        out[k] = out.get(k, 0) + v
    return {k: v for k, v in out.items() if v}


@PROPERTY
@given(data=st.data())
def test_any_sequence_of_entries_keeps_the_journal_balanced(world, cids, data):
    # Each example adds to the same database with fresh keys; expectations are deltas.
    cache_before, (entries_before, *_) = _cache(world.engine), counts(world.engine)
    accepted: list[Entry] = []
    steps = data.draw(
        st.lists(
            st.tuples(st.sampled_from(["one", "bulk", "bad", "reverse"]), st.integers(1, 5)),
            min_size=1,
            max_size=5,
        )
    )
    for kind, n in steps:
        batch = data.draw(st.lists(entries(cids), min_size=n, max_size=n))
        if kind == "one":
            for e in batch:
                assert ledger.post_entry(world.engine, SYSTEM, e).posted
            accepted.extend(batch)
        elif kind == "bulk":
            res = post_entries_bulk(world.engine, SYSTEM, batch, batch_size=2)
            assert (res.posted, res.already_posted) == (len(batch), 0)
            accepted.extend(batch)
        elif kind == "bad":
            batch.insert(data.draw(st.integers(0, n)), data.draw(entries(cids, balanced=False)))
            before = counts(world.engine)
            with pytest.raises(DomainError):
                post_entries_bulk(world.engine, SYSTEM, batch, batch_size=2)
            with pytest.raises(DomainError):
                ledger.post_entries(world.engine, SYSTEM, batch)
            assert counts(world.engine) == before
        else:
            pick = data.draw(st.integers(0, 10**6))
            targets = [e for e in accepted if e.reverses is None]
            reversed_keys = {e.reverses for e in accepted}
            targets = [e for e in targets if e.idempotency_key not in reversed_keys]
            if targets:
                target = targets[pick % len(targets)]
                r = reversal_of(target, f"r-{next(_keys)}", target.value_date)
                assert ledger.post_entry(world.engine, SYSTEM, r).posted
                accepted.append(r)
    report = check_ledger(world.engine)
    assert report.ok, report
    assert report.entries == entries_before + len(accepted)
    assert _cache(world.engine) == _plus(cache_before, accepted)


@PROPERTY
@given(data=st.data())
def test_any_replay_of_posted_entries_changes_nothing(world, cids, data):
    posted = data.draw(st.lists(entries(cids), min_size=1, max_size=10))
    post_entries_bulk(world.engine, SYSTEM, posted, batch_size=4)
    before = counts(world.engine), _cache(world.engine)
    picks = data.draw(st.lists(st.integers(0, len(posted) - 1), min_size=1, max_size=15))
    replay = [posted[i] for i in picks]
    if data.draw(st.booleans()):
        res = post_entries_bulk(
            world.engine, SYSTEM, replay, batch_size=data.draw(st.integers(1, 8))
        )
        assert (res.posted, res.already_posted) == (0, len(replay))
    else:
        results = ledger.post_entries(world.engine, SYSTEM, list(dict.fromkeys(replay)))
        assert not any(r.posted for r in results)
    assert (counts(world.engine), _cache(world.engine)) == before
    assert check_ledger(world.engine).ok
