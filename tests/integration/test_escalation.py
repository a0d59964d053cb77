"""Escalation of unpaid debts: holds, the ladder run by the daily cycle, its letters."""

from __future__ import annotations

from datetime import date

from recouvrement.services import collection_holds as holds
from recouvrement.services.unit_of_work import UnitOfWork

D = date(2024, 5, 1)


def test_a_hold_is_in_force_from_its_day_until_lifted_and_placing_it_again_places_nothing(engine):
    with UnitOfWork(engine) as uow:
        first = holds.place_hold(uow.conn, 7, "payment_plan", "payment_plan:1", D)
        again = holds.place_hold(uow.conn, 7, "payment_plan", "payment_plan:1", D)
        holds.place_hold(uow.conn, 8, "dispute", "complaint:3", D, period="2024-03")
        uow.commit()
    assert first == again
    with engine.connect() as conn:
        assert holds.active_holds(conn, [7, 8, 9], date(2024, 4, 30)) == {}
        on = holds.active_holds(conn, [7, 8, 9], D)
        assert sorted(on) == [7, 8]
        assert on[8][0]["period"] == "2024-03"
        assert len(on[7]) == 1
    with UnitOfWork(engine) as uow:
        assert holds.lift_hold(uow.conn, "payment_plan:1", date(2024, 6, 1)) == 1
        assert holds.lift_hold(uow.conn, "payment_plan:1", date(2024, 6, 2)) == 0
        uow.commit()
    with engine.connect() as conn:
        assert 7 in holds.active_holds(conn, [7], date(2024, 5, 31))
        assert 7 not in holds.active_holds(conn, [7], date(2024, 6, 1))
        assert len(holds.holds_of(conn, 7)) == 1


def test_a_hold_with_an_end_lapses_by_itself_after_its_last_day(engine):
    with UnitOfWork(engine) as uow:
        holds.place_hold(uow.conn, 5, "promise", "phone_reminder:1", D, until=date(2024, 5, 10))
        uow.commit()
    with engine.connect() as conn:
        assert 5 in holds.active_holds(conn, [5], date(2024, 5, 10))
        assert holds.active_holds(conn, [5], date(2024, 5, 11)) == {}
