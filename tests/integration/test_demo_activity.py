"""The demo region comes alive: months of declarations, payments and daily cycles, through the
same services as in production, with a sound ledger at the end."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.cycle_tables import document
from recouvrement.adapters.db.tables import journal_entry
from recouvrement.domain.demo_region import RegionSize
from recouvrement.services import demo, demo_activity
from recouvrement.services.ledger_check import check_ledger

from .conftest import SYSTEM

SMALL = RegionSize(self_employed=10, employers=12, mainland_employers=3)


def _count(engine, query):
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def test_the_region_is_played_from_declarations_to_reminders(engine):
    demo.load_region(engine, SYSTEM, size=SMALL)
    counts = demo_activity.simulate_activity(
        engine, SYSTEM, first_month=date(2026, 4, 1), until=date(2026, 6, 30)
    )
    employers = counts["employers"]
    assert employers == 15
    assert counts["declarations"] == 2 * employers  # April on 5 May, May on 5 June
    assert 0 < counts["receipts"] < 2 * employers  # some pay late, a few never
    causes = dict(
        _count_rows(
            engine, select(journal_entry.c.cause, func.count()).group_by(journal_entry.c.cause)
        )
    )
    # a public-sector employer that has not opted in owes nothing: no entry, no call
    assert 0 < causes["declaration"] <= 2 * employers
    assert causes["payment"] == counts["receipts"]
    assert causes.get("surcharge", 0) > 0  # the employers that never pay
    calls = _count(engine, select(func.count()).select_from(call))
    issued = _count(engine, select(func.count()).where(call.c.issued_on.is_not(None)))
    assert issued == calls == causes["declaration"]
    kinds = dict(
        _count_rows(engine, select(document.c.kind, func.count()).group_by(document.c.kind))
    )
    assert kinds["call_notice"] == calls
    assert any(kind != "call_notice" for kind in kinds)  # reminders went out
    assert check_ledger(engine).ok


def _count_rows(engine, query):
    with engine.connect() as conn:
        return conn.execute(query).all()
