"""A day's intake opened in bulk: a flow's rejects or an anomaly list become cases at once.

Same rules as `cases.open_case` (types, payloads, authorization, balanced assignment, due dates),
but set-based: the queue is balanced with `workload.Balancer` in memory, ids are reserved in one
statement, and the cases and their opening events are written with COPY on PostgreSQL or
executemany on SQLite, all in one transaction. One audit event records the call and its id range.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import NamedTuple

from sqlalchemy import Connection, Engine, select, text

from recouvrement.adapters.db.tables import case_table, organisation, registration_reject
from recouvrement.domain import cases as rules
from recouvrement.domain.actors import Actor
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.errors import DomainError, Forbidden, Problem
from recouvrement.domain.workload import Balancer, Candidate
from recouvrement.services import audit
from recouvrement.services.cases import (
    DEFAULT_AGREEMENT,
    _annex_list,
    activity_refusal,
    assignable_agents,
    queue_loads,
    resolve_agreement,
)
from recouvrement.services.unit_of_work import UnitOfWork

MAX_PROBLEMS = 100
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_CASE_COLUMNS = (
    "id, case_type, state, activity, agreement, owner_organisation_id, assignee_id, "
    "contributor_id, priority, calendar, opened_at, opened_on, opened_by, due_on, "
    "paused_business_days, last_event_on, payload"
)
_EVENT_COLUMNS = 'case_id, action, actor, from_state, to_state, "on", at, note, detail'


class CaseDraft(NamedTuple):
    """One case to open.

    Attributes:
        case_type: a `CaseType` value.
        payload: its opening fields (see `cases.OPENING_FIELDS`).
        contributor_id: the contributor concerned, if any (not checked one by one: the bulk
            path is for the system's own flows).
        priority: a `Priority` value.
    """

    case_type: str
    payload: dict
    contributor_id: int | None = None
    priority: str = "normal"


class BulkOpened(NamedTuple):
    opened: int
    first_id: int | None
    last_id: int | None
    per_organisation: dict[str, int]
    unassigned: int


def open_cases_bulk(
    engine: Engine,
    actor: Actor,
    drafts: Sequence[CaseDraft],
    *,
    on: date,
    agreement_code: str = DEFAULT_AGREEMENT,
    source: str = "",
) -> BulkOpened:
    """Open every draft received on `on`, or none if any is refused."""
    agreement = resolve_agreement(agreement_code, on)
    desks = {d["code"]: d for d in _annex_list(agreement, "reception_desks")}
    types: list[rules.CaseType] = []
    problems: list[Problem] = []
    for i, d in enumerate(drafts):
        t = rules.parse_case_type(d.case_type, f"drafts[{i}].case_type")
        rules.parse_priority(d.priority)
        types.append(t)
        problems += [
            Problem(f"drafts[{i}].{p.field}", p.reason, p.code)
            for p in rules.opening_problems(t, d.payload, desks)
        ]
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise DomainError(*problems[:MAX_PROBLEMS])
    with engine.connect() as conn:
        for activity in sorted({rules.ACTIVITY[t] for t in types}):
            refusal = activity_refusal(conn, actor, activity, on, agreement)
            if refusal is not None:
                err = Forbidden(Problem("drafts", refusal.reason, refusal.code))
                reason = f"{refusal.code} : {refusal.reason}"
                audit.record_refusal(engine, actor, "case.open_bulk", "activity", activity, reason)
                audit.mark_recorded(err)
                raise err
    if not drafts:
        return BulkOpened(0, None, None, {}, 0)

    with UnitOfWork(engine) as uow:
        conn = uow.conn
        orgs = {
            r.code: (r.id, r.territory or "FR")
            for r in conn.execute(
                select(organisation.c.code, organisation.c.id, organisation.c.territory)
            )
        }
        assignee_of, owner_of = _assign(conn, agreement, types, on, orgs)
        ids = _reserve_ids(conn, len(drafts))
        now = datetime.now(UTC)
        due_cache: dict[tuple[str, str], date | None] = {}
        case_rows, event_rows = [], []
        for i, (d, t) in enumerate(zip(drafts, types, strict=True)):
            activity = rules.ACTIVITY[t]
            owner_id, territory = owner_of[i]
            key = (activity, territory)
            if key not in due_cache:
                due_cache[key] = rules.due_date(
                    calendar_for(territory), on, rules.commitment_days(agreement, activity)
                )
            state = rules.INITIAL_STATE[t]
            payload = {k: v for k, v in d.payload.items() if v not in (None, "")}
            case_rows.append(
                (
                    ids[i],
                    t.value,
                    state,
                    activity,
                    agreement_code,
                    owner_id,
                    assignee_of[i],
                    d.contributor_id,
                    d.priority,
                    territory,
                    now,
                    on,
                    actor.login,
                    due_cache[key],
                    0,
                    on,
                    payload,
                )
            )
            event_rows.append((ids[i], "open", actor.login, None, state, on, now, "", {}))
        if conn.dialect.name == "postgresql":
            _copy(conn, '"case"', _CASE_COLUMNS, _copy_lines(case_rows))
            _copy(conn, "case_event", _EVENT_COLUMNS, _copy_lines(event_rows))
        else:
            _executemany(conn, '"case"', _CASE_COLUMNS, case_rows)
            _executemany(conn, "case_event", _EVENT_COLUMNS, event_rows)
        code_of = {v[0]: k for k, v in orgs.items()}
        per_org = Counter(code_of[owner_of[i][0]] for i in range(len(drafts)))
        unassigned = sum(a is None for a in assignee_of)
        detail = {
            "opened": len(drafts),
            "first_id": ids[0],
            "last_id": ids[-1],
            "per_organisation": dict(sorted(per_org.items())),
            "unassigned": unassigned,
        }
        audit.record(
            conn,
            actor,
            "case.open_bulk",
            "case_batch",
            f"{ids[0]}-{ids[-1]}",
            detail,
            source=source,
        )
        uow.commit()
    return BulkOpened(len(drafts), ids[0], ids[-1], dict(per_org), unassigned)


def _assign(conn: Connection, agreement, types, on: date, orgs: dict) -> tuple[list, list]:
    """Assignee id and (owner organisation id, territory) of each draft, queue by queue."""
    assignee_of: list[int | None] = [None] * len(types)
    owner_of: list[tuple[int, str]] = [(0, "FR")] * len(types)
    by_activity: dict[str, list[int]] = {}
    for i, t in enumerate(types):
        by_activity.setdefault(rules.ACTIVITY[t], []).append(i)
    for activity, indexes in by_activity.items():
        team = assignable_agents(conn, agreement, activity, on)
        per_agent, per_org = queue_loads(conn, activity)
        balancer = Balancer(
            [Candidate(a["id"], a["organisation_code"], per_agent.get(a["id"], 0)) for a in team],
            per_org,
        )
        org_of_agent = {a["id"]: a["organisation_code"] for a in team}
        fallback = orgs[rules.activity_organisations(agreement, activity)[0]]
        for i in indexes:
            agent_id = balancer.next()
            assignee_of[i] = agent_id
            owner_of[i] = orgs[org_of_agent[agent_id]] if agent_id is not None else fallback
    return assignee_of, owner_of


def _reserve_ids(conn: Connection, n: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        return list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('\"case\"', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": n},
            ).scalars()
        )
    # SQLite: take the write lock first, then allocate above the highest id.
    conn.exec_driver_sql('UPDATE "case" SET id = id WHERE 0')
    top = conn.scalar(text('SELECT coalesce(max(id), 0) FROM "case"'))
    return list(range(top + 1, top + n + 1))


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False).translate(_COPY_ESCAPES)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_lines(rows: list[tuple]) -> list[str]:
    """COPY text lines; values repeated from row to row (dates, codes) are formatted once."""
    seen: dict = {}

    def fmt(value) -> str:
        if isinstance(value, int | dict) and not isinstance(value, bool):
            return str(value) if isinstance(value, int) else _copy_value(value)
        key = (type(value), value)
        text_ = seen.get(key)
        if text_ is None:
            text_ = seen[key] = _copy_value(value)
        return text_

    return ["\t".join([fmt(v) for v in row]) + "\n" for row in rows]


def _copy(
    conn: Connection, table: str, columns: str, lines: list[str], chunk: int = 50_000
) -> None:
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for start in range(0, len(lines), chunk):
            copy.write("".join(lines[start : start + chunk]))


def _executemany(conn: Connection, table: str, columns: str, rows: list[tuple]) -> None:
    placeholders = ", ".join("?" for _ in columns.split(","))
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
        [
            tuple(
                json.dumps(v, ensure_ascii=False)
                if isinstance(v, dict)
                else v.replace(tzinfo=None).isoformat(sep=" ")
                if isinstance(v, datetime)
                else v.isoformat()
                if isinstance(v, date)
                else v
                for v in row
            )
            for row in rows
        ],
    )


def open_registration_reject_cases(
    engine: Engine, actor: Actor, import_id: int, *, on: date
) -> BulkOpened:
    """One case per open reject of a registration import (ISU agreement art. 4: the rejects of
    the RI46 flows are worked by the joint organisation). Rejects already opened as cases are
    skipped, so running it again after a crash or by mistake opens nothing twice."""
    with engine.connect() as conn:
        rejects = (
            conn.execute(
                select(registration_reject)
                .where(
                    registration_reject.c.import_id == import_id,
                    registration_reject.c.status == "open",
                )
                .order_by(registration_reject.c.line, registration_reject.c.id)
            )
            .mappings()
            .all()
        )
        done = set(
            conn.execute(
                select(case_table.c.payload["reject_id"].as_integer()).where(
                    case_table.c.case_type == rules.CaseType.REGISTRATION_REJECT.value,
                    case_table.c.payload["import_id"].as_integer() == import_id,
                )
            ).scalars()
        )
    drafts = [
        CaseDraft(
            rules.CaseType.REGISTRATION_REJECT.value,
            {
                "reason": r["reason"],
                "field": r["field"],
                "code": r["code"],
                "line": r["line"],
                "reject_id": r["id"],
                "import_id": import_id,
            },
        )
        for r in rejects
        if r["id"] not in done
    ]
    return open_cases_bulk(engine, actor, drafts, on=on, source=f"registration_import:{import_id}")
