"""The convergence action plan is kept by the central agency and reported to every party."""

from datetime import date

import pytest
from sqlalchemy import func, select

from recouvrement.adapters.db.tables import audit_event
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.services import action_plan, authentication, organisations

SYSTEM = system_actor("tests")
MAYOTTE = "unedic-mayotte"


@pytest.fixture
def parties(world):
    engine = world.engine
    organisations.create_organisation(engine, SYSTEM, "ACOSS", "Acoss", "central_agency", None)
    authentication.create_agent(engine, SYSTEM, "dir.acoss", "dir.acoss", "ACOSS", ["director"])
    authentication.create_agent(engine, SYSTEM, "agent.acoss", "agent.acoss", "ACOSS", ["agent"])
    authentication.create_agent(engine, SYSTEM, "agent.unedic", "agent.unedic", "UNEDIC", ["agent"])
    a = authentication.actor_for_login
    return (
        a(engine, "dir.acoss"),
        a(engine, "agent.acoss"),
        a(engine, "agent.unedic"),
    )


def _add(engine, actor, code, due, on=date(2014, 3, 1), topic="statistics"):
    return action_plan.add_action(
        engine,
        actor,
        agreement=MAYOTTE,
        code=code,
        topic=topic,
        title=f"Action {code}",
        owner="ACOSS",
        due_on=due,
        on=on,
    )


def test_the_report_shows_progress_lateness_and_difficulties_as_of_a_day(world, parties):
    director, _, unedic = parties
    engine = world.engine
    _add(engine, director, "STAT-1", date(2014, 9, 30))
    _add(engine, director, "TRF-1", date(2014, 12, 31), topic="transfers")
    action_plan.record_presentation(
        engine, director, agreement=MAYOTTE, presented_on=date(2014, 6, 20), presented_to="Comité"
    )
    action_plan.update_action(
        engine,
        director,
        agreement=MAYOTTE,
        code="STAT-1",
        status="in_progress",
        on=date(2014, 6, 1),
        note="",
    )
    action_plan.update_action(
        engine,
        director,
        agreement=MAYOTTE,
        code="TRF-1",
        status="blocked",
        on=date(2014, 11, 1),
        note="flux comptables non disponibles",
    )
    action_plan.update_action(
        engine,
        director,
        agreement=MAYOTTE,
        code="STAT-1",
        status="done",
        on=date(2014, 12, 1),
        note="",
    )
    october = action_plan.progress_report(engine, unedic, agreement=MAYOTTE, on=date(2014, 10, 1))
    assert october["late"] == ["STAT-1"]
    assert october["blocked"] == []
    assert october["plan_late"] is False and october["presented_on"] == "2014-06-20"
    year_end = action_plan.progress_report(engine, unedic, agreement=MAYOTTE, on=date(2015, 1, 2))
    assert year_end["late"] == ["TRF-1"]
    assert year_end["blocked"] == ["TRF-1"]
    assert year_end["done_late"] == ["STAT-1"]
    assert year_end["completion"] == {"done": 1, "total": 2}


def test_only_the_central_agency_keepers_change_the_plan(world, parties):
    _, acoss_agent, unedic = parties
    for actor in (acoss_agent, unedic, world.cssm_agent):
        with pytest.raises(Forbidden):
            _add(world.engine, actor, "X-1", date(2014, 9, 30))
    with pytest.raises(Forbidden):
        action_plan.progress_report(
            world.engine, world.urssaf_agent, agreement=MAYOTTE, on=date(2014, 7, 1)
        )
    with world.engine.connect() as conn:
        refusals = conn.execute(
            select(func.count()).where(audit_event.c.action == "action_plan.add")
        ).scalar()
    assert refusals == 3


def test_bad_input_is_refused_and_replays_change_nothing(world, parties):
    director, _, _ = parties
    engine = world.engine
    first = _add(engine, director, "STAT-1", date(2014, 9, 30))
    assert _add(engine, director, "STAT-1", date(2014, 9, 30)) == first
    with pytest.raises(Conflict):
        _add(engine, director, "STAT-1", date(2014, 10, 30))
    with pytest.raises(DomainError, match="difficulté"):
        action_plan.update_action(
            engine,
            director,
            agreement=MAYOTTE,
            code="STAT-1",
            status="blocked",
            on=date(2014, 5, 1),
            note=" ",
        )
    with pytest.raises(DomainError, match="impossible"):
        action_plan.update_action(
            engine,
            director,
            agreement=MAYOTTE,
            code="STAT-1",
            status="done",
            on=date(2014, 5, 1),
            note="",
        )
    with pytest.raises(DomainError) as err:
        action_plan.add_action(
            engine,
            director,
            agreement=MAYOTTE,
            code="Z-1",
            topic="statistics",
            title="x",
            owner="NOBODY",
            due_on=date(2014, 1, 1),
            on=date(2014, 3, 1),
        )
    assert {p.field for p in err.value.problems} == {"owner", "due_on"}
