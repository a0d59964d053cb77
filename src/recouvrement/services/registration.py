"""Importing a registration flow (RI46): apply the good records, keep every bad one for an agent.

A file is processed in one unit of work, each record in its own SAVEPOINT, so a record either
applies whole or becomes a reject, and a crash leaves nothing behind. Replays are harmless twice
over: the same bytes (by SHA-256) give back the earlier import's report without touching anything,
and a record already applied by an earlier file (by record_id) is skipped and reported as such.

The import table has no owner column: the `registration.import` audit event says who imported a
file. An agent sees the imports (and their rejects) made within their joint organisation, and those
made by the system (the scheduled national flows), whose rejects any joint organisation may work.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from recouvrement.adapters.db.tables import (
    audit_event,
    organisation,
    registration_applied,
    registration_import,
    registration_reject,
)
from recouvrement.adapters.files.registration_files import (
    RawRecord,
    check_options,
    file_sha256,
    read_registration_file,
    refused,
)
from recouvrement.domain.actors import Actor, Permission, Role, require
from recouvrement.domain.errors import DomainError, NotFound, Problem
from recouvrement.domain.registration import parse_record
from recouvrement.services import audit
from recouvrement.services.registration_records import apply_record
from recouvrement.services.unit_of_work import UnitOfWork

MAX_PAGE = 1000
_CHUNK = 500  # ids per IN (...) lookup, well under SQLite's bound-parameter limit
# Built once: executing a prepared statement with a parameter dict skips per-row statement building.
_MARK_APPLIED = insert(registration_applied)
IMPORT_ACTION = "registration.import"


def import_registration_file(
    engine: Engine,
    actor: Actor,
    source: bytes | str | Path,
    file_name: str | None = None,
    today: date | None = None,
    *,
    file_format: str | None = None,
    encoding: str | None = None,
) -> dict:
    """Import a flow file (bytes, or a path) and return its report.

    Raises DomainError (field "file", "format" or "encoding") when the whole file is refused;
    then nothing is recorded.
    """
    require(actor, Permission.REGISTRATION_IMPORT)
    check_options(file_format, encoding)
    if today is None:
        raise DomainError.single("today", "date du traitement obligatoire", "required")
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as err:
            raise refused(f"fichier illisible : {err.strerror or err}", "unreadable") from None
        file_name = file_name or Path(source).name
    file_name = (file_name or "flux")[:255]
    earlier = _import_by_sha(engine, file_sha256(data))
    if earlier is not None:
        return _report(engine, earlier, replay=True)
    flow = read_registration_file(data, file_name, file_format, encoding)
    try:
        with UnitOfWork(engine) as uow:
            import_id = uow.conn.execute(
                insert(registration_import).values(
                    file_name=file_name,
                    file_sha256=flow.sha256,
                    format=flow.format.value,
                    imported_at=datetime.now(UTC),
                    records=len(flow.records),
                    applied=0,
                    rejected=0,
                )
            ).inserted_primary_key[0]
            outcome = _process(uow.conn, actor, import_id, flow.records, today)
            uow.conn.execute(
                update(registration_import)
                .where(registration_import.c.id == import_id)
                .values(applied=outcome["applied"], rejected=outcome["rejected"])
            )
            audit.record(
                uow.conn,
                actor,
                IMPORT_ACTION,
                "registration_import",
                import_id,
                {
                    "file_name": file_name,
                    "sha256": flow.sha256,
                    "format": flow.format.value,
                    "records": len(flow.records),
                    "applied": outcome["applied"],
                    "rejected": outcome["rejected"],
                    "already_applied": len(outcome["already_applied"]),
                },
            )
            uow.commit()
    except IntegrityError:
        # The same bytes were imported concurrently and committed first: that import stands.
        earlier = _import_by_sha(engine, flow.sha256)
        if earlier is None:
            raise
        return _report(engine, earlier, replay=True)
    report = _report(engine, import_id, replay=False)
    report["already_applied_records"] = outcome["already_applied"]
    return report


def _process(
    conn: Connection, actor: Actor, import_id: int, records: tuple[RawRecord, ...], today: date
) -> dict:
    seen: dict[str, int] = {}
    applied_before = _applied_among(conn, {_record_id(raw.values) for raw in records} - {None})
    applied = rejected = 0
    already: list[dict] = []
    for raw in records:
        problems = [raw.problem] if raw.problem else []
        record = None
        if not problems:
            record, problems = parse_record(raw.values)
        record_id = _record_id(raw.values)
        if record_id and record_id in seen:
            problems = [
                Problem(
                    "record_id",
                    f"identifiant {record_id!r} déjà utilisé à la ligne {seen[record_id]} "
                    "de ce fichier",
                    "duplicate_record",
                )
            ]
        elif record_id:
            seen[record_id] = raw.line
        if not problems and record.record_id in applied_before:
            already.append({"line": raw.line, "record_id": record.record_id})
            continue
        if not problems:
            problems = _apply(conn, actor, import_id, raw.line, record, today)
        if problems:
            _reject(conn, import_id, raw, problems)
            rejected += 1
        else:
            applied += 1
    return {"applied": applied, "rejected": rejected, "already_applied": already}


def _apply(conn: Connection, actor: Actor, import_id: int, line: int, record, today) -> list:
    """Apply one record in its own SAVEPOINT; the problems that made it a reject, if any."""
    source = {"record_id": record.record_id, "import_id": import_id, "line": line}
    try:
        with conn.begin_nested():
            contributor_id = apply_record(conn, actor, record, today, source)
            conn.execute(
                _MARK_APPLIED,
                {
                    "record_id": record.record_id,
                    "import_id": import_id,
                    "contributor_id": contributor_id,
                    "applied_at": datetime.now(UTC),
                },
            )
    except DomainError as err:
        return list(err.problems)
    except IntegrityError:
        return [
            Problem(
                "",
                "conflit avec une mise à jour simultanée du même cotisant : renvoyer l'enregistrement",
                "concurrent_update",
            )
        ]
    return []


def _record_id(values: dict) -> str | None:
    value = values.get("record_id")
    if isinstance(value, int | str) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _applied_among(conn: Connection, record_ids: set[str]) -> set[str]:
    """The record ids of the file already applied by earlier files, looked up in chunks."""
    ids = sorted(record_ids)
    found: set[str] = set()
    for i in range(0, len(ids), _CHUNK):
        found.update(
            conn.execute(
                select(registration_applied.c.record_id).where(
                    registration_applied.c.record_id.in_(ids[i : i + _CHUNK])
                )
            ).scalars()
        )
    return found


def _reject(conn: Connection, import_id: int, raw: RawRecord, problems: list[Problem]) -> None:
    conn.execute(
        insert(registration_reject),
        [
            {
                "import_id": import_id,
                "line": raw.line,
                "field": p.field[:64],
                "reason": p.reason,
                "code": p.code[:32],
                "record": raw.values,
                "status": "open",
            }
            for p in problems
        ],
    )


def _import_by_sha(engine: Engine, digest: str) -> int | None:
    with engine.connect() as conn:
        return conn.scalar(
            select(registration_import.c.id).where(registration_import.c.file_sha256 == digest)
        )


def _reject_view(row) -> dict:
    record = row["record"] or {}
    return {
        "id": row["id"],
        "import_id": row["import_id"],
        "line": row["line"],
        "record_id": _record_id(record),
        "field": row["field"],
        "reason": row["reason"],
        "code": row["code"],
        "status": row["status"],
        "record": record,
    }


def _report(engine: Engine, import_id: int, replay: bool) -> dict:
    with engine.connect() as conn:
        row = (
            conn.execute(select(registration_import).where(registration_import.c.id == import_id))
            .mappings()
            .one()
        )
        rejects = (
            conn.execute(
                select(registration_reject)
                .where(registration_reject.c.import_id == import_id)
                .order_by(registration_reject.c.line, registration_reject.c.id)
            )
            .mappings()
            .all()
        )
    return {
        "id": row["id"],
        "file_name": row["file_name"],
        "sha256": row["file_sha256"],
        "format": row["format"],
        "imported_at": row["imported_at"].isoformat(),
        "records": row["records"],
        "applied": row["applied"],
        "rejected": row["rejected"],
        "already_applied": row["records"] - row["applied"] - row["rejected"],
        "replay": replay,
        "rejects": [_reject_view(r) for r in rejects],
    }


def _visible_imports(conn: Connection, actor: Actor):
    """None when the actor sees every import; otherwise a select of the import ids they see."""
    if actor.is_system or Role.ADMINISTRATOR in actor.roles:
        return None
    codes = select(organisation.c.code).where(
        organisation.c.id.in_(sorted(actor.reachable_organisation_ids))
    )
    ids = (
        conn.execute(
            select(audit_event.c.object_id).where(
                audit_event.c.action == IMPORT_ACTION,
                audit_event.c.outcome == "done",
                audit_event.c.organisation_code.in_(codes)
                | audit_event.c.organisation_code.is_(None),
            )
        )
        .scalars()
        .all()
    )
    return sorted(int(i) for i in ids)


def get_import(engine: Engine, actor: Actor, import_id: int) -> dict:
    require(actor, Permission.REGISTRATION_IMPORT)
    with engine.connect() as conn:
        visible = _visible_imports(conn, actor)
        exists = conn.scalar(
            select(registration_import.c.id).where(registration_import.c.id == import_id)
        )
    if exists is None or (visible is not None and import_id not in visible):
        raise NotFound.single("import_id", f"import {import_id} inconnu", "not_found")
    return _report(engine, import_id, replay=False)


def list_rejects(
    engine: Engine,
    actor: Actor,
    *,
    status: str | None = "open",
    import_id: int | None = None,
    limit: int = 50,
    after: int | None = None,
) -> dict:
    """A page of rejects, oldest first, for the agents who work them; `next` is the cursor."""
    require(actor, Permission.REGISTRATION_IMPORT)
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError.single("limit", f"limit doit être entre 1 et {MAX_PAGE}", "bad_limit")
    with engine.connect() as conn:
        conds = []
        visible = _visible_imports(conn, actor)
        if visible is not None:
            conds.append(registration_reject.c.import_id.in_(visible))
        if status:
            conds.append(registration_reject.c.status == status)
        if import_id is not None:
            conds.append(registration_reject.c.import_id == import_id)
        total = conn.scalar(select(func.count()).select_from(registration_reject).where(*conds))
        query = select(registration_reject, registration_import.c.file_name).join(
            registration_import, registration_import.c.id == registration_reject.c.import_id
        )
        if after is not None:
            query = query.where(registration_reject.c.id > after)
        rows = (
            conn.execute(query.where(*conds).order_by(registration_reject.c.id).limit(limit + 1))
            .mappings()
            .all()
        )
    items = [{**_reject_view(r), "file_name": r["file_name"]} for r in rows[:limit]]
    nxt = str(items[-1]["id"]) if len(rows) > limit else None
    return {"items": items, "total": total, "next": nxt}
