"""Exports for the funds' portal (2010 convention art. 19; Mayotte amendment art. 9).

Each export carries, for the agreement's scope, what happened since the previous one: the journal
entries and the declarations between two watermarks (their ids), which are append-only, so nothing
is missed or sent twice; plus the contributors of the scope and their balances at the end of the
period, computed from the same slice of the journal. The watermarks are stored with the export, so
`reproduce_export` writes the very same files again, checked against the stored fingerprint.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, and_, func, insert, select
from sqlalchemy.exc import IntegrityError

from recouvrement.adapters.db.frames import query_frame
from recouvrement.adapters.db.payroll_tables import payroll_declaration, payroll_declaration_line
from recouvrement.adapters.db.portal_tables import portal_export
from recouvrement.adapters.db.tables import (
    account_balance,
    contributor,
    establishment,
    journal_entry,
    journal_posting,
)
from recouvrement.adapters.files.portal_files import SCHEMAS, write_dataset, write_manifest
from recouvrement.agreements.loader import AgreementError, shipped_agreements
from recouvrement.domain.actors import Actor, Permission, require
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.ledger import Cause, LedgerAccount
from recouvrement.domain.periods import Period
from recouvrement.services import audit
from recouvrement.services.journal_queries import effective_cause, room_for_large_reads
from recouvrement.services.unit_of_work import UnitOfWork

SETTING = "data_exchanges.scope"
_RECEIPT_CAUSES = (Cause.PAYMENT.value, Cause.ALLOCATION.value)


def _scope(agreement: str) -> dict:
    try:
        registry = shipped_agreements()
        resolved = registry.resolve(agreement, registry.get(agreement).valid_from)
    except AgreementError as err:
        raise NotFound.single("agreement", str(err), "unknown_agreement") from None
    setting = resolved.settings.get(SETTING)
    if setting is None or not isinstance(setting.value, dict):
        raise DomainError.single(
            "agreement", f"la convention {agreement} ne définit pas le périmètre des échanges"
        )
    return {"territory": str(setting.value["territory"]), "funds": list(setting.value["funds"])}


def _check_actor(actor: Actor) -> None:
    require(actor, Permission.LEDGER_READ)
    if actor.is_contributor:
        raise Forbidden(Problem("", "exports du portail réservés aux organismes", "forbidden"))


def _movements(conn: Connection, scope: dict, entry_from: int, entry_to: int):
    """The slice's receivable postings, split into receipts and the rest (debts)."""
    p, e = journal_posting, journal_entry
    cause = effective_cause(e).label("cause")
    query = (
        select(
            p.c.entry_id,
            p.c.line_no,
            p.c.contributor_id,
            p.c.fund,
            p.c.item,
            p.c.period,
            p.c.value_date,
            cause,
            p.c.amount,
        )
        .join(e, e.c.id == p.c.entry_id)
        .join(contributor, contributor.c.id == p.c.contributor_id)
        .where(
            p.c.entry_id > entry_from,
            p.c.entry_id <= entry_to,
            # the same bounds on the entries: the planner does not carry a range across a join
            e.c.id > entry_from,
            e.c.id <= entry_to,
            p.c.ledger_account == LedgerAccount.RECEIVABLE.value,
            p.c.fund.in_(scope["funds"]),
            contributor.c.territory == scope["territory"],
        )
    )
    frame = query_frame(conn, query, SCHEMAS["debts"])
    is_receipt = pl.col("cause").is_in(list(_RECEIPT_CAUSES))
    return frame.filter(~is_receipt), frame.filter(is_receipt)


def _declarations(conn: Connection, scope: dict, first: int, last: int) -> list[dict]:
    d, line = payroll_declaration, payroll_declaration_line
    rows = conn.execute(
        select(
            d.c.id.label("declaration_id"),
            d.c.contributor_id,
            establishment.c.siret,
            d.c.period,
            d.c.version,
            func.count(line.c.id).label("employees"),
            func.coalesce(func.sum(line.c.gross_pay), 0).label("gross_pay"),
            func.coalesce(func.sum(line.c.unemployment_employer), 0).label("unemployment_employer"),
            func.coalesce(func.sum(line.c.unemployment_employee), 0).label("unemployment_employee"),
            func.coalesce(func.sum(line.c.ags), 0).label("ags"),
        )
        .join(establishment, establishment.c.id == d.c.establishment_id)
        .outerjoin(line, line.c.declaration_id == d.c.id)
        .where(d.c.id > first, d.c.id <= last, establishment.c.territory == scope["territory"])
        .group_by(d.c.id, d.c.contributor_id, establishment.c.siret, d.c.period, d.c.version)
    ).mappings()
    return [
        {k: (int(v) if k not in ("siret", "period") else v) for k, v in r.items()} for r in rows
    ]


def _contributors(conn: Connection, scope: dict) -> pl.DataFrame:
    c = contributor
    query = select(
        c.c.id.label("contributor_id"),
        c.c.kind,
        c.c.name,
        c.c.territory,
        c.c.siren,
        c.c.public_sector,
        c.c.status,
    ).where(c.c.territory == scope["territory"], c.c.kind == "employer")
    return query_frame(conn, query, SCHEMAS["contributors"])


def _balances(conn: Connection, scope: dict, entry_to: int, period: Period) -> list[dict]:
    """Balances at the period's end as the slice's journal gives them: the cached balances (the
    whole journal, proved equal to it by `ledger check`) less what was posted after the slice or
    dated after the period — usually little, so an export need not re-add the whole history."""
    p, b = journal_posting, account_balance
    keys = (b.c.contributor_id, b.c.fund, b.c.item, b.c.period)
    in_scope = (contributor.c.territory == scope["territory"],)
    balances: dict[tuple, int] = {
        tuple(row[:4]): int(row[4])
        for row in conn.execute(
            select(*keys, b.c.balance)
            .join(contributor, contributor.c.id == b.c.contributor_id)
            .where(
                b.c.ledger_account == LedgerAccount.RECEIVABLE.value,
                b.c.fund.in_(scope["funds"]),
                *in_scope,
            )
        )
    }
    later = conn.execute(
        select(p.c.contributor_id, p.c.fund, p.c.item, p.c.period, func.sum(p.c.amount))
        .join(contributor, contributor.c.id == p.c.contributor_id)
        .where(
            (p.c.entry_id > entry_to) | (p.c.value_date > period.end),
            p.c.ledger_account == LedgerAccount.RECEIVABLE.value,
            p.c.fund.in_(scope["funds"]),
            *in_scope,
        )
        .group_by(p.c.contributor_id, p.c.fund, p.c.item, p.c.period)
    )
    for *key, amount in later:
        balances[tuple(key)] = balances.get(tuple(key), 0) - int(amount)
    return [
        {"contributor_id": c, "fund": f, "item": i, "period": per, "balance": amount}
        for (c, f, i, per), amount in balances.items()
        if amount
    ]


def _side_datasets(engine: Engine, scope: dict, slice_: dict, period: Period) -> dict:
    with engine.begin() as conn:
        room_for_large_reads(conn)
        return {
            "contributors": _contributors(conn, scope),
            "declarations": _declarations(
                conn, scope, slice_["declaration_from"], slice_["declaration_to"]
            ),
            "balances": _balances(conn, scope, slice_["entry_to"], period),
        }


def _write(conn: Connection, slice_: dict, directory: Path) -> tuple[dict, str]:
    scope = _scope(slice_["agreement"])
    period = Period.parse(slice_["period"])
    directory.mkdir(parents=True, exist_ok=True)
    # The slice of the journal is the big read; the rest is read meanwhile on a second
    # connection (both are bounded by the watermarks, so the order of the reads does not matter).
    with ThreadPoolExecutor(max_workers=1) as pool:
        others = pool.submit(_side_datasets, conn.engine, scope, slice_, period)
        debts, receipts = _movements(conn, scope, slice_["entry_from"], slice_["entry_to"])
        side = others.result()
    datasets = {
        "contributors": side["contributors"],
        "declarations": side["declarations"],
        "debts": debts,
        "receipts": receipts,
        "balances": side["balances"],
    }
    manifest = {
        **{k: slice_[k] for k in ("agreement", "sequence", "period")},
        "scope": scope,
        "watermarks": {
            "journal_entry": [slice_["entry_from"], slice_["entry_to"]],
            "payroll_declaration": [slice_["declaration_from"], slice_["declaration_to"]],
        },
        "datasets": {name: write_dataset(name, rows, directory) for name, rows in datasets.items()},
    }
    return manifest, write_manifest(directory, manifest)


def _summary(manifest: dict) -> dict:
    return {name: d["rows"] for name, d in manifest["datasets"].items()}


def export_portal(
    engine: Engine, actor: Actor, *, agreement: str, period: str, directory: Path
) -> dict:
    """The next export of the agreement: everything since the previous one, balances at the end of
    `period`. Writes the Parquet files and the manifest in `directory`."""
    _check_actor(actor)
    parsed = Period.parse(period)
    _scope(agreement)
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        room_for_large_reads(conn)
        last = (
            conn.execute(
                select(portal_export)
                .where(portal_export.c.agreement == agreement)
                .order_by(portal_export.c.sequence.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        slice_ = {
            "agreement": agreement,
            "sequence": 1 if last is None else last["sequence"] + 1,
            "period": str(parsed),
            "entry_from": 0 if last is None else last["entry_to"],
            "entry_to": conn.execute(
                select(func.coalesce(func.max(journal_entry.c.id), 0))
            ).scalar(),
            "declaration_from": 0 if last is None else last["declaration_to"],
            "declaration_to": conn.execute(
                select(func.coalesce(func.max(payroll_declaration.c.id), 0))
            ).scalar(),
        }
        manifest, fingerprint = _write(conn, slice_, directory)
        summary = _summary(manifest)
        conn.execute(
            insert(portal_export).values(
                **slice_,
                manifest_sha256=fingerprint,
                summary=json.dumps(summary, sort_keys=True),
                created_by=actor.login,
                created_at=datetime.now(UTC),
            )
        )
        audit.record(
            conn,
            actor,
            "portal.export",
            "portal_export",
            f"{agreement}/{slice_['sequence']}",
            {"period": slice_["period"], "rows": summary, "manifest_sha256": fingerprint},
        )
        try:
            uow.commit()
        except IntegrityError as err:  # a concurrent export took the same sequence
            raise Conflict.single("sequence", "un autre export vient d'être produit") from err
    return {**slice_, "manifest_sha256": fingerprint, "rows": summary}


def reproduce_export(
    engine: Engine, actor: Actor, *, agreement: str, sequence: int, directory: Path
) -> dict:
    """Write export `sequence` again, byte for byte: the fingerprint must match the stored one."""
    _check_actor(actor)
    with engine.begin() as conn:
        room_for_large_reads(conn)
        row = (
            conn.execute(
                select(portal_export).where(
                    and_(
                        portal_export.c.agreement == agreement, portal_export.c.sequence == sequence
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound.single("sequence", f"export n° {sequence} inconnu pour {agreement}")
        manifest, fingerprint = _write(conn, dict(row), directory)
    if fingerprint != row["manifest_sha256"]:
        raise DomainError.single(
            "sequence", "l'export reproduit diffère de l'export d'origine", "not_reproducible"
        )
    return {**dict(row), "rows": _summary(manifest)}
