"""Taking over the CACM's debt stock at 31 December 2012: import, reconciliation and report.

Avenant du 18 décembre 2013, art. 3.2.1: the unemployment contributions on pay before 1 January
2013 « sont recouvrées par la CSSM dans les formes et conditions applicables selon les dispositions
en vigueur avant cette date », from the stock the CACM handed over with its debit pieces, « y
compris par voie contentieuse, ainsi que … la gestion des incidents de paiement ».

Each valid piece becomes an **opening entry** (cause `opening`, key `legacy:<piece reference>`,
value date the stock date): the principal on its item and the surcharges the CACM had counted on
`surcharge_legacy`, on the Unédic fund and the piece's own period. The debt's due date is carried
by a call of kind `legacy_stock` for (employer, period), created `overdue` (no notice is issued).
Because the entries are dated at the stock date, the late-surcharge step finds nothing unpaid
before it: it charges nothing the CACM already counted, and after it the additional surcharge runs
at the scale of the debt's period — the pre-2013 rules, through the dated parameters already in
`late_surcharges.yaml`. Every (employer, period) is a debt file for the escalation ladder (a
`payment_incident` row `unpaid_at_due_date` the day after the stock date); a payment incident is
also recorded as `cacm_payment_incident`; an enforced piece puts its file at the ladder's
enforcement order (a `collection_step` row dated by the piece's state), so the CSSM goes on with
the enforced collection rather than start over, and records that order as a limitation act.

All valid lines are applied in one transaction, or none: a malformed file applies nothing.
Rejected lines are kept with their line, field and reason. The same file again changes nothing;
a piece already applied is counted, not posted again.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, and_, func, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.collection_tables import collection_step
from recouvrement.adapters.db.cycle_tables import payment_incident
from recouvrement.adapters.db.legacy_tables import legacy_debt, legacy_import, legacy_reject
from recouvrement.adapters.db.tables import account_balance, contributor, establishment
from recouvrement.adapters.files.legacy_stock import (
    FUND,
    SURCHARGE_ITEM,
    LegacyFile,
    LegacyLine,
    LegacyStatus,
    read_legacy_file,
)
from recouvrement.agreements.loader import shipped_agreements
from recouvrement.domain.actors import (
    Actor,
    Permission,
    Role,
    may_reach_contributor,
    require,
    system_actor,
)
from recouvrement.domain.allocation import CREDIT_ITEM
from recouvrement.domain.errors import DomainError, NotFound, Problem
from recouvrement.domain.escalation import letter_reference
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import audit, calls, escalation, limitation
from recouvrement.services.ledger import post_entries
from recouvrement.services.unit_of_work import UnitOfWork

AGREEMENT = "unedic-mayotte"
CALL_KIND = "legacy_stock"
INCIDENT_UNPAID = "unpaid_at_due_date"  # the daily cycle's kind: a debt file for escalation
INCIDENT_CACM = "cacm_payment_incident"
ENFORCEMENT_STEP = "enforcement_order"  # the step of rules/escalation.yaml, and the limitation act
MAYOTTE = "976"


def stock_date() -> date:
    """The date of the stock the amendment names (setting `legacy.stock_date`)."""
    return shipped_agreements().resolve(AGREEMENT).setting("legacy.stock_date")


def _insert(conn: Connection, table):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _fingerprint(line: LegacyLine, contributor_id: int) -> str:
    text = json.dumps(
        [contributor_id, line.period, line.item, line.principal, line.surcharges,
         line.piece_date.isoformat(), line.due_date.isoformat(), line.status.value],
        separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def opening_entry(line: LegacyLine, contributor_id: int, on: date) -> Entry:
    """The debt as the CSSM takes it over: principal and the CACM's surcharges, same period.

    A credit (trop versé) goes to the account's credit key, value-dated on the day the CACM
    cashed it: the refunds module measures its limitation from that day and refunds it only
    under the Mayotte parameter `refunds.pre_transfer_receipts_refundable`."""
    if line.is_credit:
        cashed = line.status_date or line.piece_date
        return Entry(
            f"legacy:{line.piece_reference}",
            cashed,
            Cause.OPENING.value,
            (
                Posting(
                    LedgerAccount.RECEIVABLE, contributor_id, "", CREDIT_ITEM, "", -line.principal
                ),
                Posting(
                    LedgerAccount.FUND_REVENUE, None, FUND, line.item, line.period, line.principal
                ),
            ),
            f"Reprise du stock CACM : trop versé encaissé le {cashed:%d/%m/%Y}, "
            f"pièce {line.piece_reference}",
        )
    postings = []
    for item, amount in ((line.item, line.principal), (SURCHARGE_ITEM, line.surcharges)):
        if amount:
            postings.append(
                Posting(LedgerAccount.RECEIVABLE, contributor_id, FUND, item, line.period, amount)
            )
            postings.append(
                Posting(LedgerAccount.FUND_REVENUE, None, FUND, item, line.period, -amount)
            )
    return Entry(
        f"legacy:{line.piece_reference}",
        on,
        Cause.OPENING.value,
        tuple(postings),
        f"Reprise du stock CACM au {on:%d/%m/%Y}, pièce {line.piece_reference}",
    )


def _employers(conn: Connection, lines: list[LegacyLine]) -> tuple[dict, dict]:
    sirens = sorted({x.siren for x in lines})
    by_siren = {
        r.siren: r
        for r in conn.execute(
            select(contributor.c.id, contributor.c.siren, contributor.c.territory,
                   contributor.c.organisation_id).where(contributor.c.siren.in_(sirens))
        )
    }  # fmt: skip
    sirets = sorted({x.siret for x in lines if x.siret})
    by_siret = dict(
        conn.execute(
            select(establishment.c.siret, establishment.c.contributor_id).where(
                establishment.c.siret.in_(sirets)
            )
        ).all()
    )
    return by_siren, by_siret


def _line_problem(line, employer, by_siret, actor, applied, calls_there) -> Problem | str | None:
    """Why a line cannot be applied; "already" for a piece applied before with the same content."""
    if employer is None:
        return Problem(
            "siren", f"employeur {line.siren} inconnu de la plateforme", "unknown_employer"
        )
    if employer.territory != MAYOTTE:
        return Problem(
            "siren",
            f"employeur {line.siren} hors de Mayotte (territoire {employer.territory}) : le stock "
            "de la CACM ne concerne que les employeurs mahorais (avenant, art. 2.1)",
            "not_mayotte",
        )
    if line.siret and by_siret.get(line.siret) != employer.id:
        return Problem("siret", f"établissement {line.siret} inconnu pour ce SIREN", "bad_siret")
    if not may_reach_contributor(actor, employer.id, employer.organisation_id):
        return Problem("siren", "ce compte cotisant n'est pas accessible", "forbidden")
    done = applied.get(line.piece_reference)
    if done is not None:
        if done == _fingerprint(line, employer.id):
            return "already"
        return Problem(
            "piece_reference",
            f"pièce {line.piece_reference} déjà reprise avec un autre contenu",
            "piece_conflict",
        )
    kind = calls_there.get((employer.id, line.period))
    if kind is not None and kind != CALL_KIND and not line.is_credit:
        return Problem(
            "period",
            f"la période {line.period} de cet employeur est déjà appelée ({kind}) : la pièce "
            "ne peut pas s'y ajouter",
            "period_already_called",
        )
    return None


def import_legacy_file(
    engine: Engine,
    actor: Actor,
    data: bytes,
    file_name: str,
    today: date,
    *,
    file_format: str | None = None,
    control_total: int | None = None,
) -> dict:
    """Import a stock file; returns the import's report (see `import_report`)."""
    require(actor, Permission.LEGACY_IMPORT)
    parsed = read_legacy_file(data, file_name, file_format)
    expected = stock_date()
    if parsed.header["stock_date"] != expected:
        raise DomainError.single(
            "stock_date",
            f"stock daté du {parsed.header['stock_date']:%d/%m/%Y} : l'avenant du 18 décembre "
            f"2013 (art. 3.2.1) reprend le stock au {expected:%d/%m/%Y}",
            "bad_stock_date",
        )
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        known = conn.scalar(
            select(legacy_import.c.id).where(legacy_import.c.file_sha256 == parsed.sha256)
        )
        if known is not None:
            return {**_report_of(conn, known), "status": "already_imported"}
        import_id = _apply(conn, actor, parsed, file_name, today, control_total)
        uow.commit()
        return {**_report_of(conn, import_id), "status": "imported"}


def _apply(conn, actor, parsed: LegacyFile, file_name, today, control_total) -> int:
    on = parsed.header["stock_date"]
    by_siren, by_siret = _employers(conn, list(parsed.lines))
    refs = [x.piece_reference for x in parsed.lines]
    applied = dict(
        conn.execute(
            select(legacy_debt.c.piece_reference, legacy_debt.c.fingerprint).where(
                legacy_debt.c.piece_reference.in_(refs)
            )
        ).all()
    )
    ids = sorted({r.id for r in by_siren.values()})
    calls_there = {
        (r.contributor_id, r.period): r.kind
        for r in conn.execute(
            select(call.c.contributor_id, call.c.period, call.c.kind).where(
                call.c.contributor_id.in_(ids)
            )
        )
    }
    rejects = [(r.line, r.problems, r.record, r.amount) for r in parsed.rejected]
    good: list[tuple[LegacyLine, int]] = []
    already = []
    for line in parsed.lines:
        employer = by_siren.get(line.siren)
        problem = _line_problem(line, employer, by_siret, actor, applied, calls_there)
        if problem == "already":
            already.append(line)
        elif problem is not None:
            rejects.append((line.line, (problem,), _record(line), line.amount))
        else:
            good.append((line, employer.id))
    control, source = control_total, "option" if control_total is not None else None
    if control is None and parsed.header.get("control_total") is not None:
        control, source = parsed.header["control_total"], "header"
    rejects.sort(key=lambda r: r[0])
    import_id = conn.execute(
        insert(legacy_import)
        .values(
            file_name=(file_name or "")[:255],
            file_sha256=parsed.sha256,
            format=parsed.format.value,
            issuer=str(parsed.header["issuer"])[:32],
            stock_date=on,
            control_total=control,
            control_source=source,
            lines=len(parsed.lines) + len(parsed.rejected),
            applied=len(good),
            already_applied=len(already),
            rejected=len(rejects),
            file_total=parsed.file_total,
            applied_total=sum(x.amount for x, _ in good) + sum(x.amount for x in already),
            rejected_total=sum(r[3] or 0 for r in rejects),
            imported_by=actor.login,
            imported_on=today,
            imported_at=datetime.now(UTC),
        )
        .returning(legacy_import.c.id)
    ).scalar_one()
    if rejects:
        conn.execute(
            insert(legacy_reject),
            [
                {"import_id": import_id, "line": n, "field": p.field[:64], "reason": p.reason,
                 "code": p.code[:32], "amount": amount, "record": record}
                for n, problems, record, amount in rejects
                for p in problems
            ],
        )  # fmt: skip
    if good:
        _post(conn, actor, import_id, good, on)
    audit.record(
        conn,
        actor,
        "legacy.import",
        "legacy_import",
        import_id,
        {"file": file_name, "sha256": parsed.sha256, "applied": len(good),
         "already_applied": len(already), "rejected": len(rejects), "control_total": control},
    )  # fmt: skip
    return import_id


def _record(line: LegacyLine) -> dict:
    return {"siren": line.siren, "period": line.period, "item": line.item,
            "piece_reference": line.piece_reference}  # fmt: skip


def _post(conn: Connection, actor: Actor, import_id: int, good, on: date) -> None:
    """Calls, opening entries, debt rows and the escalation's debt files, in the caller's
    transaction."""
    files: dict[tuple[int, str], list[LegacyLine]] = defaultdict(list)
    for line, cid in good:
        if not line.is_credit:
            files[(cid, line.period)].append(line)
    call_ids: dict[tuple[int, str], int] = {}
    for (cid, period), lines in files.items():
        call_id = calls.record_call(
            conn,
            contributor_id=cid,
            period=period,
            kind=CALL_KIND,
            issue_date=min(x.piece_date for x in lines),
            due_date=min(x.due_date for x in lines),
            delta=sum(x.amount for x in lines),
        )
        # Already past due when taken over: no notice to issue; the daily cycle marks it paid.
        conn.execute(
            update(call)
            .where(call.c.id == call_id, call.c.status == "scheduled")
            .values(status="overdue", issued_on=call.c.issue_date)
        )
        call_ids[(cid, period)] = call_id
    post_entries(
        conn,
        system_actor(f"reprise CACM:{actor.login}"),
        [opening_entry(line, cid, on) for line, cid in good],
    )
    conn.execute(
        insert(legacy_debt),
        [
            {"import_id": import_id, "line": x.line, "piece_reference": x.piece_reference,
             "piece_date": x.piece_date, "contributor_id": cid, "siren": x.siren,
             "siret": x.siret, "period": x.period, "fund": FUND, "item": x.item,
             "principal": x.principal, "surcharges": x.surcharges, "due_date": x.due_date,
             "status": x.status.value, "status_date": x.status_date,
             "call_id": call_ids.get((cid, x.period)), "entry_key": f"legacy:{x.piece_reference}",
             "fingerprint": _fingerprint(x, cid)}
            for x, cid in good
        ],
    )  # fmt: skip
    incidents = []
    for (cid, period), lines in files.items():
        statuses = {x.status for x in lines}
        base = {"call_id": call_ids[(cid, period)], "contributor_id": cid, "period": period}
        unpaid = sum(x.amount for x in lines)
        incidents.append({**base, "kind": INCIDENT_UNPAID, "detected_on": on + timedelta(1),
                          "unpaid_amount": unpaid})  # fmt: skip
        if LegacyStatus.ENFORCED in statuses:
            enforced = [x for x in lines if x.status is LegacyStatus.ENFORCED]
            _enforced_file(conn, cid, period, enforced, unpaid, on)
        if LegacyStatus.PAYMENT_INCIDENT in statuses:
            first = min(x.status_date or x.piece_date for x in lines
                        if x.status is LegacyStatus.PAYMENT_INCIDENT)  # fmt: skip
            incidents.append({**base, "kind": INCIDENT_CACM, "detected_on": first,
                              "unpaid_amount": unpaid})  # fmt: skip
    stmt = _insert(conn, payment_incident).on_conflict_do_nothing(
        index_elements=["call_id", "kind"]
    )
    for row in incidents:
        conn.execute(stmt.values(**row))


def _enforced_file(conn: Connection, cid: int, period: str, lines, unpaid: int, on: date) -> None:
    """An enforced piece (contentieux engagé by the CACM) enters the escalation ladder at its
    enforcement order, so the next step is the hand-over to the bailiff, not a new reminder; the
    order interrupts the limitation (CSS L244-9), recorded for the limitation module."""
    reached = min(x.status_date or on for x in lines)
    ladders = escalation.load_rules().ladders.get("employer", ())
    ladder = next(
        (v for v in reversed(ladders) if v.start <= reached), ladders[0] if ladders else None
    )
    if ladder is None:
        return
    step = ladder.step(ENFORCEMENT_STEP)
    reference = f"CACM-{letter_reference(step, cid, period)}"[:64]
    conn.execute(
        _insert(conn, collection_step)
        .on_conflict_do_nothing(index_elements=["contributor_id", "period", "step"])
        .values(contributor_id=cid, period=period, scheme="employer", step=step.code,
                rank=step.rank, reached_on=reached, pay_by=None, amount=unpaid,
                reference=reference, document_id=None)
    )  # fmt: skip
    for x in lines:
        limitation.record_interruption(
            conn, cid, period, ENFORCEMENT_STEP, x.status_date or on, f"legacy:{x.piece_reference}"
        )


# ---------------------------------------------------------------------------------------------
# Reading


def _report_of(conn: Connection, import_id: int) -> dict:
    row = conn.execute(select(legacy_import).where(legacy_import.c.id == import_id)).first()
    if row is None:
        raise NotFound.single("import_id", f"reprise {import_id} inconnue", "not_found")
    rejects = conn.execute(
        select(legacy_reject.c.line, legacy_reject.c.field, legacy_reject.c.reason,
               legacy_reject.c.code, legacy_reject.c.amount)
        .where(legacy_reject.c.import_id == import_id)
        .order_by(legacy_reject.c.line, legacy_reject.c.id)
    ).all()  # fmt: skip
    difference = None if row.control_total is None else row.control_total - row.file_total
    return {
        "id": row.id,
        "file_name": row.file_name,
        "stock_date": row.stock_date.isoformat(),
        "lines": row.lines,
        "applied": row.applied,
        "already_applied": row.already_applied,
        "rejected": row.rejected,
        "control_total": row.control_total,
        "control_source": row.control_source,
        "file_total": row.file_total,
        "applied_total": row.applied_total,
        "rejected_total": row.rejected_total,
        "difference": difference,
        "reconciled": None
        if difference is None
        else difference == 0 and row.applied_total + row.rejected_total == row.file_total,
        "rejects": [
            {
                "line": r.line,
                "field": r.field,
                "reason": r.reason,
                "code": r.code,
                "amount": r.amount,
            }
            for r in rejects
        ],
    }


def import_report(engine: Engine, actor: Actor, import_id: int) -> dict:
    """One import: its counts, its reconciliation against the control total, its rejects."""
    require(actor, Permission.LEGACY_IMPORT)
    with engine.connect() as conn:
        return _report_of(conn, import_id)


def stock_report(engine: Engine, actor: Actor) -> dict:
    """The stock taken over and where it stands now, by state at the stock date (cents).

    `outstanding` is what the legacy periods still owe on the Unédic fund (principal, the CACM's
    surcharges and those accrued since); `settled` is what was taken over and is no longer owed
    (paid, remitted or written off)."""
    require(actor, Permission.LEGACY_IMPORT)
    d = legacy_debt
    with engine.connect() as conn:
        scope = select(d.c.contributor_id, d.c.period).distinct()
        if not (actor.is_system or Role.ADMINISTRATOR in actor.roles):
            reach = sorted(actor.reachable_organisation_ids)
            scope = scope.join(contributor, contributor.c.id == d.c.contributor_id).where(
                contributor.c.organisation_id.in_(reach)
            )
            taken_where = d.c.contributor_id.in_(
                select(contributor.c.id).where(contributor.c.organisation_id.in_(reach))
            )
        else:
            taken_where = true()
        taken = conn.execute(
            select(d.c.status, func.count(), func.sum(d.c.principal), func.sum(d.c.surcharges))
            .where(taken_where)
            .group_by(d.c.status)
            .order_by(d.c.status)
        ).all()
        keys = scope.subquery()
        b = account_balance
        rows = conn.execute(
            select(b.c.item, func.sum(b.c.balance))
            .join(keys, and_(keys.c.contributor_id == b.c.contributor_id,
                             keys.c.period == b.c.period))
            .where(b.c.ledger_account == "receivable", b.c.fund == FUND, b.c.balance > 0)
            .group_by(b.c.item)
        ).all()  # fmt: skip
        imports = conn.execute(select(legacy_import.c.id).order_by(legacy_import.c.id)).scalars()
        import_reports = [_report_of(conn, i) for i in imports]
    by_status = {
        s: {"pieces": int(n), "principal": int(p or 0), "surcharges": int(m or 0)}
        for s, n, p, m in taken
    }
    debts = {k: v for k, v in by_status.items() if k != LegacyStatus.OVERPAID.value}
    principal = sum(v["principal"] for v in debts.values())
    surcharges = sum(v["surcharges"] for v in debts.values())
    outstanding_principal = sum(int(v) for item, v in rows if not item.startswith("surcharge"))
    outstanding_surcharges = sum(int(v) for item, v in rows if item.startswith("surcharge"))
    return {
        "stock_date": stock_date().isoformat(),
        "by_status": by_status,
        "taken_over": {"principal": principal, "surcharges": surcharges},
        "outstanding": {"principal": outstanding_principal, "surcharges": outstanding_surcharges},
        "settled_principal": principal - outstanding_principal,
        "credits_taken_over": by_status.get("overpaid", {}).get("principal", 0),
        "imports": import_reports,
    }


def format_report(report: dict) -> list[str]:
    """The stock report in French, for the command line."""
    labels = {
        "amicable": "amiable",
        "enforced": "contentieux",
        "payment_incident": "incident de paiement",
        "overpaid": "trop versé (crédit)",
    }
    out = [f"Stock de la CACM au {date.fromisoformat(report['stock_date']):%d/%m/%Y}"]
    for status, v in report["by_status"].items():
        out.append(
            f"  {labels.get(status, status)} : {v['pieces']} pièce(s), principal "
            f"{format_euros_fr(v['principal'])}, majorations {format_euros_fr(v['surcharges'])}"
        )
    t, o = report["taken_over"], report["outstanding"]
    out.append(
        f"Repris : principal {format_euros_fr(t['principal'])}, majorations "
        f"{format_euros_fr(t['surcharges'])}"
    )
    out.append(
        f"Restant dû : principal {format_euros_fr(o['principal'])}, majorations "
        f"{format_euros_fr(o['surcharges'])} ; principal soldé "
        f"{format_euros_fr(report['settled_principal'])}"
    )
    for imp in report["imports"]:
        out.extend(format_import(imp))
    return out


def format_import(imp: dict) -> list[str]:
    control = (
        "aucun total de contrôle"
        if imp["control_total"] is None
        else f"total de contrôle {format_euros_fr(imp['control_total'])} ({imp['control_source']})"
    )
    state = {True: "rapproché", False: "NON RAPPROCHÉ", None: "non rapproché"}[imp["reconciled"]]
    out = [
        f"Reprise n° {imp['id']} ({imp['file_name']}) : {imp['lines']} ligne(s), "
        f"{imp['applied']} appliquée(s), {imp['already_applied']} déjà reprise(s), "
        f"{imp['rejected']} rejetée(s)",
        f"  total du fichier {format_euros_fr(imp['file_total'])} = appliqué "
        f"{format_euros_fr(imp['applied_total'])} + rejeté "
        f"{format_euros_fr(imp['rejected_total'])} ; {control} : {state}",
    ]
    if imp["difference"]:
        out.append(f"  écart avec le total de contrôle : {format_euros_fr(imp['difference'])}")
    out.extend(
        f"  ligne {r['line']} · {r['field'] or 'ligne'} : {r['reason']} [{r['code']}]"
        for r in imp["rejects"]
    )
    return out
