"""The daily cycle: idempotent day by day, catching up, resuming a crashed day; calls issued with
their notice and payment incidents found the day after the due date, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from recouvrement.adapters.cli import app
from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.cycle_tables import cycle_day, document, payment_incident
from recouvrement.adapters.db.engine import make_engine
from recouvrement.adapters.db.tables import audit_event
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.services import daily_cycle, ledger
from recouvrement.services.call_issuing import issue_calls_step, payment_incidents_step
from recouvrement.services.daily_cycle_report import StepReport
from recouvrement.services.ledger_check import check_ledger
from tests.conftest import _postgres_engine

from .conftest import SYSTEM
from .cycle_world import FIRST_DAY, build_cycle_world, call_states, canonical_journal

CYCLE = system_actor("cycle quotidien")
D60 = FIRST_DAY + timedelta(days=59)
CALL_STEPS = (
    "recouvrement.services.call_issuing:issue_calls_step",
    "recouvrement.services.call_issuing:payment_incidents_step",
)
_explosions: list[date] = []


def exploding_step(engine, day, progress=None) -> StepReport:
    """A step that fails once on the days listed in `_explosions`, like a process killed."""
    if day in _explosions:
        _explosions.remove(day)
        raise RuntimeError("arrêt brutal simulé")
    return StepReport("exploding")


@pytest.fixture(autouse=True)
def documents(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "documents"
    monkeypatch.setenv("RECOUVREMENT_DOCUMENTS_DIR", str(path))
    return path


@pytest.fixture
def another(engine, request, tmp_path):
    """Another empty database on the same backend as `engine`."""
    made = []

    def make():
        if engine.dialect.name == "sqlite":
            path = tmp_path / f"copy{len(made)}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            eng, drop = make_engine(f"sqlite:///{path}"), None
        else:
            eng, drop = _postgres_engine(request)
        made.append((eng, drop))
        return eng

    yield make
    for eng, drop in made:
        eng.dispose()
        if drop:
            drop()


def _days(first: date, last: date):
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def test_each_day_once_twice_or_caught_up_leaves_the_same_journal(engine, another):
    once, twice, caught_up = engine, another(), another()
    for eng in (once, twice, caught_up):
        build_cycle_world(eng)
    assert canonical_journal(once) == canonical_journal(twice) == canonical_journal(caught_up)

    for day in _days(FIRST_DAY, D60):
        daily_cycle.run_day(once, CYCLE, day)
        daily_cycle.run_day(twice, CYCLE, day)
        again = daily_cycle.run_day(twice, CYCLE, day)
        assert again.already_done
        assert not again.counts.get("calls_issued") and not again.counts.get("calls_overdue")
    reports = daily_cycle.run_until(caught_up, CYCLE, D60, start=FIRST_DAY)

    assert [r.day for r in reports] == _days(FIRST_DAY, D60)
    journal = canonical_journal(once)
    assert canonical_journal(twice) == journal
    assert canonical_journal(caught_up) == journal
    assert call_states(twice) == call_states(once) == call_states(caught_up)
    for eng in (once, twice, caught_up):
        assert check_ledger(eng).ok


def test_payment_incidents_are_judged_at_the_due_date_and_paid_calls_close(engine):
    ids = build_cycle_world(engine)
    daily_cycle.run_until(engine, CYCLE, D60, start=FIRST_DAY, steps=CALL_STEPS)
    with engine.connect() as conn:
        status = {
            (r.contributor_id, r.period): (r.status, r.due_date) for r in conn.execute(select(call))
        }
        incidents = {
            (r.contributor_id, r.period): (r.detected_on, r.unpaid_amount)
            for r in conn.execute(select(payment_incident))
        }
    on_time, late, never, half = ids
    assert status[(on_time, "2024-01")][0] == "paid" and (on_time, "2024-01") not in incidents
    # paid ten days late: an incident the day after the due date, for the whole principal
    due = status[(late, "2024-01")][1]
    assert incidents[(late, "2024-01")] == (due + timedelta(days=1), 21675)
    assert status[(late, "2024-01")][0] == "paid"
    assert status[(never, "2024-01")][0] == "overdue"
    assert incidents[(never, "2024-01")][1] == 21675
    assert status[(half, "2024-01")][0] == "overdue"
    assert incidents[(half, "2024-01")][1] == 21675 - 21675 * 50 // 100


def test_a_call_is_issued_once_with_one_notice(engine, documents):
    build_cycle_world(engine)
    day = date(2024, 2, 10)
    first = issue_calls_step(engine, day)
    again = issue_calls_step(engine, day + timedelta(days=1))
    assert first.counts == {"calls_issued": 4, "call_notices": 4}
    assert first.amounts["calls_issued"] == 4 * 21675
    assert again.counts.get("calls_issued", 0) == 0
    with engine.connect() as conn:
        docs = conn.execute(select(document)).all()
        issued = conn.execute(select(call.c.issued_on).where(call.c.status == "issued")).all()
    assert len(docs) == 4 and {r.issued_on for r in issued} == {day}
    for d in docs:
        content = (documents / d.path).read_bytes()
        assert content.startswith(b"%PDF") and len(content) == d.size


def test_a_crashed_day_stays_running_and_run_until_resumes_it(engine):
    build_cycle_world(engine)
    steps = (*CALL_STEPS, "tests.integration.test_daily_cycle:exploding_step")
    crash = date(2024, 2, 16)
    _explosions.append(crash)
    with pytest.raises(RuntimeError):
        daily_cycle.run_until(engine, CYCLE, D60, start=FIRST_DAY, steps=steps)
    with engine.connect() as conn:
        state = dict(conn.execute(select(cycle_day.c.day, cycle_day.c.status)).all())
    assert state[crash] == "running" and max(state) == crash
    assert daily_cycle.resume_day(engine) == crash

    reports = daily_cycle.run_until(engine, CYCLE, D60, steps=steps)
    assert reports[0].day == crash and reports[-1].day == D60
    with engine.connect() as conn:
        assert (
            conn.scalar(
                select(func.count()).select_from(cycle_day).where(cycle_day.c.status != "done")
            )
            == 0
        )
        runs = conn.scalar(select(cycle_day.c.runs).where(cycle_day.c.day == crash))
    assert runs == 2


def test_the_first_run_needs_a_start_and_no_day_is_skipped(engine):
    with pytest.raises(DomainError) as err:
        daily_cycle.run_until(engine, CYCLE, D60, steps=CALL_STEPS)
    assert err.value.problems[0].field == "from"
    daily_cycle.run_until(engine, CYCLE, FIRST_DAY, start=FIRST_DAY, steps=CALL_STEPS)
    with pytest.raises(DomainError) as err:
        daily_cycle.run_until(engine, CYCLE, D60, start=D60, steps=CALL_STEPS)
    assert err.value.problems[0].code == "gap"
    assert daily_cycle.run_until(engine, CYCLE, FIRST_DAY - timedelta(days=1)) == []


def test_a_step_not_installed_is_named_and_nothing_runs(engine):
    with pytest.raises(DomainError) as err:
        daily_cycle.run_day(
            engine, CYCLE, FIRST_DAY, steps=[*CALL_STEPS, "recouvrement.services.nulle_part:step"]
        )
    assert err.value.problems[0].code == "step_missing"
    assert "recouvrement.services.nulle_part" in err.value.problems[0].reason
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(cycle_day)) == 0


def test_only_the_administrator_and_the_system_run_the_cycle(world):
    with pytest.raises(Forbidden):
        daily_cycle.run_day(world.engine, world.urssaf_agent, FIRST_DAY, steps=CALL_STEPS)
    report = daily_cycle.run_day(world.engine, CYCLE, FIRST_DAY, steps=CALL_STEPS)
    with world.engine.connect() as conn:
        events = conn.execute(
            select(audit_event.c.actor, audit_event.c.outcome, audit_event.c.detail).where(
                audit_event.c.action.in_(("cycle.run", "cycle.day_run"))
            )
        ).all()
    assert ("agent.urssaf", "refused") in {(e.actor, e.outcome) for e in events}
    done = [e for e in events if e.outcome == "done"]
    assert len(done) == 1 and done[0].detail["counts"] == report.counts


def test_payment_incidents_step_changes_nothing_when_run_again(engine):
    build_cycle_world(engine)
    daily_cycle.run_until(engine, CYCLE, D60, start=FIRST_DAY, steps=CALL_STEPS)
    before = call_states(engine)
    report = payment_incidents_step(engine, D60)
    assert report.counts == {"calls_overdue": 0, "calls_paid": 0}
    assert call_states(engine) == before


@pytest.fixture
def cli(engine, monkeypatch):
    monkeypatch.setenv(
        "RECOUVREMENT_DATABASE_URL", engine.url.render_as_string(hide_password=False)
    )
    monkeypatch.setattr(daily_cycle, "STEPS", CALL_STEPS)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_run_until_prints_progress_and_a_french_summary(engine, cli):
    build_cycle_world(engine)
    first = cli("run-until", "2024-02-20", "--from", FIRST_DAY.isoformat())
    assert first.exit_code == 0, first.output
    assert "2024-02-16 terminé en" in first.stderr
    assert "Cycle quotidien du 2024-02-01 au 2024-02-20 : 20 jour(s) traité(s)." in first.stdout
    assert "appels de cotisations émis" in first.stdout and "867,00 €" in first.stdout
    again = cli("run-day", "2024-02-20")
    assert again.exit_code == 0
    assert "déjà traité" in again.stdout and "déjà traité" in again.stderr


def test_a_bad_date_is_refused_in_french(engine, cli):
    result = cli("run-day", "2024-02-30")
    assert result.exit_code == 2
    assert "date invalide « 2024-02-30 »" in result.stderr
    result = cli("run-until", "2024-03-01")
    assert result.exit_code == 2 and "--from" in result.stderr


def test_a_call_paid_on_time_whose_receipt_is_reversed_becomes_overdue_without_incident(engine):
    on_time = build_cycle_world(engine)[0]
    with engine.connect() as conn:
        due = conn.scalar(
            select(call.c.due_date).where(
                call.c.contributor_id == on_time, call.c.period == "2024-01"
            )
        )
    rejected = due + timedelta(days=1)
    ledger.reverse_entry(engine, SYSTEM, f"receipt:test-{on_time}-2024-01", "reject-1", rejected)
    daily_cycle.run_until(
        engine, CYCLE, rejected + timedelta(days=1), start=FIRST_DAY, steps=CALL_STEPS
    )
    with engine.connect() as conn:
        status = conn.scalar(
            select(call.c.status).where(
                call.c.contributor_id == on_time, call.c.period == "2024-01"
            )
        )
        incidents = conn.scalar(
            select(func.count())
            .select_from(payment_incident)
            .where(payment_incident.c.contributor_id == on_time)
        )
    assert status == "overdue" and incidents == 0
