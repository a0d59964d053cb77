"""Self-employed calls: provisional instalments, recalculation, regularisation (CSS L131-6-2).

Year N is assessed on a provisional income (N-2, or the contributor's estimate) with the
existing assessment, less any approved exemption, and posted to the ledger split into
instalments: one ledger period per instalment (`2024-01`… or `2024-Q1`…), one call per instalment.

Every posting is a difference. What the year already carries is read back from the journal (the
entries under the keys `se-call:<contributor>:<year>:…`), the new target is computed, and only the
change is posted, under the key `se-call:<contributor>:<year>:v<version>:<fingerprint>`: calling
the year again with the same inputs is a replay and posts nothing; a recalculation (the income of
N-1 declared, an exemption approved) changes only the instalments due at least 15 days later
(R131-5), and what was already called beyond the new total becomes a credit on the account.
Regularisation of N-1 (`se-reg:…`) posts definitive minus called on the year key (`2023`), or a
credit when the contributor paid too much (R613-1-3), with its own call.

Entry layout and reading a year back: services/self_employed_ledger.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from recouvrement.adapters.db.call_tables import call, exemption, self_employed_year
from recouvrement.adapters.db.tables import contributor
from recouvrement.domain.actors import Actor, Permission, require, require_contributor, system_actor
from recouvrement.domain.assessment.business_creator_exemption import business_creator_relief
from recouvrement.domain.assessment.self_employed import assess_year
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.calls import (
    CREDIT_SLOT,
    CallKind,
    adjustment_cutoff,
    differences,
    instalment_periods,
    notice_date,
    provisional_plan,
    regularisation_due,
    regularisation_plan,
    self_employed_dues,
)
from recouvrement.domain.errors import Conflict, DomainError, NotFound, Problem
from recouvrement.domain.ledger import Cause
from recouvrement.domain.self_employed_calendar import Frequency
from recouvrement.rules.parameters import ParameterError, load_parameters
from recouvrement.services import audit
from recouvrement.services.calls import record_call
from recouvrement.services.ledger import post_entries
from recouvrement.services.self_employed_ledger import entry, fingerprint, state
from recouvrement.services.unit_of_work import UnitOfWork

BASES = ("n-2", "n-1", "estimate")


def _contributor(conn: Connection, actor: Actor, contributor_id: int):
    row = conn.execute(
        select(
            contributor.c.id,
            contributor.c.organisation_id,
            contributor.c.kind,
            contributor.c.territory,
            contributor.c.activity,
        ).where(contributor.c.id == contributor_id)
    ).first()
    if row is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    require_contributor(actor, contributor_id, row.organisation_id)
    if row.kind != "self_employed" or not row.activity:
        raise DomainError.single(
            "contributor_id",
            "appel réservé aux travailleurs indépendants dont l'activité est connue",
            "not_self_employed",
        )
    return row


def approved_exemptions(conn: Connection, contributor_id: int) -> list[date]:
    """Start dates of the contributor's approved business-creator exemptions."""
    return list(
        conn.scalars(
            select(exemption.c.start_date)
            .where(
                exemption.c.contributor_id == contributor_id,
                exemption.c.kind == "business_creator",
                exemption.c.status == "approved",
            )
            .order_by(exemption.c.start_date)
        )
    )


def _amounts(params, year: int, activity: str, income: int, exemptions: list[date]) -> dict:
    """The year's contributions per item on `income`, less the exemptions' relief."""
    try:
        lines = assess_year(params, year, activity, income)
        relief: dict[str, int] = {}
        for start in exemptions:
            if start.year <= year:
                for item, cents in business_creator_relief(
                    params, year, start, income, lines
                ).items():
                    relief[item] = relief.get(item, 0) + cents
    except ParameterError as err:
        raise DomainError.single("year", str(err), "parameter_gap") from None
    return {line.item: max(line.amount - relief.get(line.item, 0), 0) for line in lines}


def _year_row(conn: Connection, contributor_id: int, year: int):
    return conn.execute(
        select(self_employed_year).where(
            self_employed_year.c.contributor_id == contributor_id,
            self_employed_year.c.year == year,
        )
    ).first()


def _dues(params, year: int, frequency: str, day: int | None, territory: str):
    try:
        return self_employed_dues(params, year, Frequency(frequency), day, calendar_for(territory))
    except ParameterError as err:
        raise DomainError.single("year", str(err), "parameter_gap") from None


def provisional(
    conn: Connection,
    actor: Actor,
    person,
    year: int,
    frequency: str,
    day: int | None,
    income: int,
    basis: str,
    today: date,
) -> dict:
    """Call (or recall) year `year` in the caller's transaction; posts only the difference."""
    params = load_parameters()
    dues = _dues(params, year, frequency, day, person.territory)
    periods = instalment_periods(year, Frequency(frequency))
    exemptions = approved_exemptions(conn, person.id)
    amounts = _amounts(params, year, person.activity, income, exemptions)
    fp = fingerprint("provisional", year, frequency, day, income, basis, exemptions)
    row = _year_row(conn, person.id, year)
    if row is not None and row.fingerprint == fp:
        return {"status": "already_called", "year": year, "version": row.version, "posted": {}}
    if row is not None and (row.frequency != frequency or row.due_day != day):
        raise Conflict(
            Problem(
                "schedule",
                "changement de périodicité ou de jour de prélèvement en cours d'année"
                " non pris en charge",
                "schedule_change",
            )
        )
    cutoff = adjustment_cutoff(params, today)
    if row is None and all(d.due < cutoff for d in dues):
        raise DomainError.single(
            "year", f"toutes les échéances de {year} sont passées : régulariser l'année", "past"
        )
    version = 1 if row is None else row.version + 1
    prefix = f"se-call:{person.id}:{year}:"
    current = state(conn, person.id, prefix)
    plan = provisional_plan(amounts, periods, [d.due for d in dues], current, cutoff)
    diff = differences(plan, current)
    key = f"{prefix}v{version}:{fp[:16]}"
    if diff:
        label = "appel provisionnel" if version == 1 else f"recalcul n° {version - 1}"
        posted_entry = entry(
            key, person.id, year, diff, today, Cause.CALL, f"Cotisations {year}, {label}"
        )
        post_entries(conn, system_actor(f"appel:{actor.login}"), [posted_entry])
    existing = _existing_calls(conn, person.id, periods)
    for period, due in zip(periods, dues, strict=True):
        total = sum(plan.get((item, period), 0) for item in amounts)
        if total or period in existing:
            record_call(
                conn,
                contributor_id=person.id,
                period=period,
                kind=due.kind,
                issue_date=notice_date(params, due.due, today),
                due_date=due.due,
                amount=total,
            )
    values = {
        "frequency": frequency,
        "due_day": day,
        "income": income,
        "basis": basis,
        "fingerprint": fp,
        "version": version,
        "updated_by": actor.login,
        "updated_at": datetime.now(UTC),
    }
    if row is None:
        conn.execute(
            insert(self_employed_year).values(
                contributor_id=person.id, year=year, regularisation_version=0, **values
            )
        )
    else:
        conn.execute(
            update(self_employed_year).where(self_employed_year.c.id == row.id).values(**values)
        )
    credit = -sum(v for (_, slot), v in plan.items() if slot == CREDIT_SLOT)
    return {
        "status": "called" if version == 1 else "recalculated",
        "year": year,
        "version": version,
        "total": sum(amounts.values()),
        "credit": credit,
        "entry_key": key if diff else None,
        "posted": {f"{item}:{slot}": v for (item, slot), v in diff.items()},
    }


def _existing_calls(conn: Connection, contributor_id: int, periods: list[str]) -> set[str]:
    return set(
        conn.scalars(
            select(call.c.period).where(
                call.c.contributor_id == contributor_id, call.c.period.in_(periods)
            )
        )
    )


def regularise(
    conn: Connection, actor: Actor, person, year: int, declared_income: int, today: date
) -> dict:
    """Regularise `year` on its declared income, in the caller's transaction (R613-1-3)."""
    params = load_parameters()
    row = _year_row(conn, person.id, year)
    if row is None:
        raise NotFound.single("year", f"l'année {year} n'a pas été appelée", "not_called")
    exemptions = approved_exemptions(conn, person.id)
    fp = fingerprint("regularisation", year, declared_income, exemptions)
    if row.regularisation_fingerprint == fp:
        return {"status": "already_regularised", "year": year, "posted": {}}
    definitive = _amounts(params, year, person.activity, declared_income, exemptions)
    called: dict[str, int] = {}
    for (item, _), amount in state(conn, person.id, f"se-call:{person.id}:{year}:").items():
        called[item] = called.get(item, 0) + amount
    prefix = f"se-reg:{person.id}:{year}:"
    current = state(conn, person.id, prefix)
    plan = regularisation_plan(definitive, called, year)
    diff = differences(plan, current)
    version = row.regularisation_version + 1
    key = f"{prefix}v{version}:{fp[:16]}"
    if diff:
        posted_entry = entry(
            key, person.id, year, diff, today, Cause.ASSESSMENT, f"Régularisation {year}"
        )
        post_entries(conn, system_actor(f"régularisation:{actor.login}"), [posted_entry])
    owed = sum(v for (_, slot), v in plan.items() if slot == str(year))
    next_row = _year_row(conn, person.id, year + 1)
    frequency = next_row.frequency if next_row else Frequency.MONTHLY.value
    day = next_row.due_day if next_row else None
    dues = [d.due for d in _dues(params, year + 1, frequency, day, person.territory)]
    due = regularisation_due(params, dues, today, calendar_for(person.territory))
    if owed or _existing_calls(conn, person.id, [str(year)]):
        record_call(
            conn,
            contributor_id=person.id,
            period=str(year),
            kind=CallKind.SELF_EMPLOYED_REGULARISATION,
            issue_date=today,
            due_date=due,
            amount=owed,
        )
    conn.execute(
        update(self_employed_year)
        .where(self_employed_year.c.id == row.id)
        .values(
            declared_income=declared_income,
            regularisation_fingerprint=fp,
            regularisation_version=version,
            updated_by=actor.login,
            updated_at=datetime.now(UTC),
        )
    )
    return {
        "status": "regularised",
        "year": year,
        "owed": owed,
        "credit": -sum(v for (_, slot), v in plan.items() if slot == CREDIT_SLOT),
        "entry_key": key if diff else None,
        "posted": {f"{item}:{slot}": v for (item, slot), v in diff.items()},
    }


def _check_inputs(year: int, schedule: str, due_day: int | None, income: int, basis: str):
    problems = []
    if schedule not in {f.value for f in Frequency}:
        problems.append(Problem("schedule", "périodicité « monthly » ou « quarterly »", "bad"))
    if schedule == Frequency.QUARTERLY and due_day is not None:
        problems.append(Problem("due_day", "pas de jour de prélèvement au trimestre", "bad"))
    if basis not in BASES:
        problems.append(Problem("basis", f"base parmi {', '.join(BASES)}", "bad_basis"))
    if not isinstance(income, int) or isinstance(income, bool):
        problems.append(Problem("income_basis_cents", "revenu en centimes entiers", "not_cents"))
    if not 2013 <= year <= 2100:
        problems.append(Problem("year", "année hors du champ des règles (2013 →)", "bad_year"))
    if problems:
        raise DomainError(*problems)


def call_year(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    year: int,
    *,
    schedule: str = "monthly",
    due_day: int | None = None,
    income_basis_cents: int,
    basis: str = "n-2",
    today: date,
) -> dict:
    """Call the provisional contributions of `year` (or recall them on new inputs)."""
    require(actor, Permission.CONTRIBUTORS_WRITE)
    _check_inputs(year, schedule, due_day, income_basis_cents, basis)
    with UnitOfWork(engine) as uow:
        person = _contributor(uow.conn, actor, contributor_id)
        result = provisional(
            uow.conn, actor, person, year, schedule, due_day, income_basis_cents, basis, today
        )
        if result["status"] != "already_called":
            audit.record(
                uow.conn, actor, "calls.self_employed", "contributor", contributor_id, result
            )
        uow.commit()
    return result


def declare_income(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    income_year: int,
    income_cents: int,
    *,
    today: date,
) -> dict:
    """The income of `income_year` is declared: regularise it, and recalculate the provisional
    contributions of the next year on it if that year is called (L131-6-2, R131-1)."""
    require(actor, Permission.CONTRIBUTORS_WRITE)
    _check_inputs(income_year, "monthly", None, income_cents, "n-1")
    with UnitOfWork(engine) as uow:
        person = _contributor(uow.conn, actor, contributor_id)
        result = {
            "regularisation": regularise(uow.conn, actor, person, income_year, income_cents, today)
        }
        nxt = _year_row(uow.conn, contributor_id, income_year + 1)
        if nxt is not None:
            result["recalculation"] = provisional(
                uow.conn,
                actor,
                person,
                income_year + 1,
                nxt.frequency,
                nxt.due_day,
                income_cents,
                "n-1",
                today,
            )
        audit.record(
            uow.conn, actor, "calls.income_declared", "contributor", contributor_id, result
        )
        uow.commit()
    return result


def reassess(conn: Connection, actor: Actor, contributor_id: int, today: date) -> list[dict]:
    """Re-run every called year of the contributor on its stored inputs (after an exemption is
    approved): each posts only what changed."""
    person = _contributor(conn, actor, contributor_id)
    results = []
    for row in conn.execute(
        select(self_employed_year)
        .where(self_employed_year.c.contributor_id == contributor_id)
        .order_by(self_employed_year.c.year)
    ).all():
        results.append(
            provisional(
                conn,
                actor,
                person,
                row.year,
                row.frequency,
                row.due_day,
                row.income,
                row.basis,
                today,
            )
        )
        if row.declared_income is not None:
            results.append(regularise(conn, actor, person, row.year, row.declared_income, today))
    return results
