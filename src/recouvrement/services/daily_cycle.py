"""The daily cycle: everything that falls due on a date, step by step, idempotent and catching up.

Each step is a function `step(engine, day, progress=None) -> StepReport` that commits its own
batches and is idempotent on its own (deterministic idempotency keys, "already done" checks), so
the runner keeps no state but the `cycle_day` row: `running` while the day runs, `done` once every
step has returned. A day that crashed stays `running` and `run_until` starts again from it; running a
day already done is allowed and changes nothing (the report says so).

First run: `run_until` resumes from the earliest day left `running`, or from the day after the last
day `done`; when no day has ever been run it needs the start date (`--from`), the day the
collection system takes over the accounts. A start date after the resume day is refused, so no day
is silently skipped; one before it re-runs days already done, which changes nothing.

Steps are named "module:function" and imported when the day runs, so a step whose module is not
installed is named in a clear error before anything runs.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, insert, select, text, update

from recouvrement.adapters.db.cycle_tables import cycle_day
from recouvrement.domain.actors import Actor, Permission, require, system_actor
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, Problem
from recouvrement.services import audit
from recouvrement.services.daily_cycle_report import Progress, StepReport
from recouvrement.services.unit_of_work import UnitOfWork

STEPS: tuple[str, ...] = (
    "recouvrement.services.call_issuing:issue_calls_step",
    "recouvrement.services.allocation:apply_credits_step",
    "recouvrement.services.write_off_recovery:recoveries_step",
    "recouvrement.services.call_issuing:payment_incidents_step",
    "recouvrement.services.payment_plans:payment_plans_step",
    "recouvrement.services.surcharges:surcharges_step",
    "recouvrement.services.remission:automatic_remission_step",
    "recouvrement.services.escalation:escalation_step",
    "recouvrement.services.refunds:refunds_step",
    "recouvrement.services.transfer_steps:transfers_step",
    "recouvrement.services.limitation:limitation_step",
    "recouvrement.services.daily_cycle:commitments_step",
)

CYCLE_LOCK = 727_010  # advisory-lock key reserved for the daily cycle (PostgreSQL)

Step = Callable[..., StepReport]
DayProgress = Callable[[date, str, int, int], None]
"""`progress(day, step_name, done, total)`, called as a long step commits its batches."""


@dataclass
class DayReport:
    """What the cycle did on one day.

    Attributes:
        day: the day run.
        steps: each step's report, in the order run.
        seconds: wall-clock time of each step, by step name.
        already_done: the day had already been run to the end before this run.
        runs: how many times the day has been started, this run included.
    """

    day: date
    steps: list[StepReport] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    already_done: bool = False
    runs: int = 1

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for step in self.steps:
            for kind, n in step.counts.items():
                out[kind] = out.get(kind, 0) + n
        return out

    @property
    def amounts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for step in self.steps:
            for kind, cents in step.amounts.items():
                out[kind] = out.get(kind, 0) + cents
        return out

    def summary(self) -> dict:
        return {
            "steps": [s.as_dict() for s in self.steps],
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "counts": self.counts,
            "amounts": self.amounts,
            "already_done": self.already_done,
        }


def commitments_step(engine: Engine, day: date, progress: Progress | None = None) -> StepReport:
    """Service-commitment breaches of the collection cases (ISU agreement, service commitments)."""
    result = _commitments(engine, day)
    report = StepReport("commitments")
    report.add("commitment_breaches_found", int(result["new_breaches"]))
    return report


def _commitments(engine: Engine, day: date) -> dict:
    from recouvrement.services.case_queues import check_commitments

    return check_commitments(engine, day, system_actor("cycle quotidien"))


def resolve_steps(names: Sequence[str] = STEPS) -> list[tuple[str, Step]]:
    """The step functions, or a DomainError naming every step that is not installed."""
    found: list[tuple[str, Step]] = []
    problems: list[Problem] = []
    for name in names:
        module_name, _, function_name = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name is None or not module_name.startswith(err.name):
                raise
            problems.append(
                Problem(
                    "steps",
                    f"étape {name} absente : module {module_name} introuvable",
                    "step_missing",
                )
            )
            continue
        function = getattr(module, function_name, None)
        if function is None:
            problems.append(
                Problem(
                    "steps",
                    f"étape {name} absente : {function_name} introuvable dans {module_name}",
                    "step_missing",
                )
            )
            continue
        found.append((function_name.removesuffix("_step"), function))
    if problems:
        raise DomainError(*problems)
    return found


def available_steps(names: Sequence[str] = STEPS) -> tuple[str, ...]:
    """The steps whose module is installed and imports (for tests written while a step is built)."""
    out = []
    for name in names:
        try:
            resolve_steps([name])
        except (DomainError, ImportError):
            continue
        out.append(name)
    return tuple(out)


def _authorize(engine: Engine, actor: Actor, object_id: str) -> None:
    try:
        require(actor, Permission.CYCLE_RUN)
    except Forbidden as err:
        audit.record_refusal(engine, actor, "cycle.run", "cycle_day", object_id, str(err))
        raise


@contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    """One cycle at a time: on PostgreSQL a session lock, released even if the process dies."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": CYCLE_LOCK}):
            raise Conflict(Problem("", "un cycle quotidien est déjà en cours", "cycle_running"))
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": CYCLE_LOCK})
            conn.commit()


def run_day(
    engine: Engine,
    actor: Actor,
    day: date,
    progress: DayProgress | None = None,
    *,
    steps: Sequence[str] | None = None,
) -> DayReport:
    """Runs every step for `day`, in order, and records the day `done` once they all returned."""
    _authorize(engine, actor, day.isoformat())
    resolved = resolve_steps(STEPS if steps is None else steps)
    with _exclusive(engine):
        return _run_day(engine, actor, day, resolved, progress)


def _run_day(
    engine: Engine,
    actor: Actor,
    day: date,
    resolved: list[tuple[str, Step]],
    progress: DayProgress | None,
) -> DayReport:
    report = DayReport(day)
    with UnitOfWork(engine) as uow:
        row = uow.conn.execute(
            select(cycle_day.c.status, cycle_day.c.runs).where(cycle_day.c.day == day)
        ).first()
        now = datetime.now(UTC)
        if row is None:
            uow.conn.execute(
                insert(cycle_day).values(
                    day=day,
                    status="running",
                    runs=1,
                    started_at=now,
                    run_by=actor.login,
                    summary={},
                )
            )
        else:
            report.already_done = row.status == "done"
            report.runs = row.runs + 1
            uow.conn.execute(
                update(cycle_day)
                .where(cycle_day.c.day == day)
                .values(
                    runs=report.runs,
                    started_at=now,
                    run_by=actor.login,
                    status="done" if report.already_done else "running",
                )
            )
        uow.commit()
    for name, step in resolved:
        started = time.perf_counter()

        def step_progress(done: int, total: int, _name: str = name) -> None:
            if progress is not None:
                progress(day, _name, done, total)

        step_report = step(engine, day, step_progress)
        report.seconds[step_report.name or name] = time.perf_counter() - started
        report.steps.append(step_report)
    with UnitOfWork(engine) as uow:
        summary = report.summary()
        uow.conn.execute(
            update(cycle_day)
            .where(cycle_day.c.day == day)
            .values(status="done", finished_at=datetime.now(UTC), summary=summary)
        )
        audit.record(uow.conn, actor, "cycle.day_run", "cycle_day", day.isoformat(), summary)
        uow.commit()
    return report


def resume_day(engine: Engine) -> date | None:
    """The first day `run_until` must run: the earliest crashed day, else the day after the last
    day done; None when the cycle has never run."""
    with engine.connect() as conn:
        crashed = conn.scalar(select(func.min(cycle_day.c.day)).where(cycle_day.c.status != "done"))
        last_done = conn.scalar(
            select(func.max(cycle_day.c.day)).where(cycle_day.c.status == "done")
        )
    candidates = [d for d in (crashed, last_done and last_done + timedelta(days=1)) if d]
    return min(candidates) if candidates else None


def days_to_run(engine: Engine, day: date, start: date | None = None) -> list[date]:
    """The days `run_until(day, start)` would run, one after the other (see the module's rule)."""
    resume = resume_day(engine)
    if resume is None and start is None:
        raise DomainError.single(
            "from",
            "le cycle n'a encore jamais tourné : indiquez le premier jour à traiter (--from)",
            "required",
        )
    if resume is not None and start is not None and start > resume:
        raise DomainError.single(
            "from",
            f"commencer le {start.isoformat()} laisserait des jours non traités "
            f"depuis le {resume.isoformat()}",
            "gap",
        )
    first = start if start is not None else resume
    assert first is not None
    return [first + timedelta(days=i) for i in range((day - first).days + 1)]


def run_until(
    engine: Engine,
    actor: Actor,
    day: date,
    progress: DayProgress | None = None,
    *,
    start: date | None = None,
    steps: Sequence[str] | None = None,
    on_day: Callable[[DayReport], None] | None = None,
) -> list[DayReport]:
    """Runs each day from the resume day (or `start`) up to `day`, one after the other."""
    _authorize(engine, actor, day.isoformat())
    resolved = resolve_steps(STEPS if steps is None else steps)
    reports = []
    with _exclusive(engine):
        for each in days_to_run(engine, day, start):
            report = _run_day(engine, actor, each, resolved, progress)
            reports.append(report)
            if on_day is not None:
                on_day(report)
    return reports
