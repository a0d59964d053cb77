"""Disbursing approved refunds: the accounting officer's SEPA credit transfer file.

One pain.001 file pays one or many approved refunds from the disbursement account of the
accounting officer of the refunds' territory (parameters `refunds.disbursement_account.*`); each
refund is posted `refund_payable` → `bank` under the key `refund:<case>:disbursement` and its case
closed. The amount is checked once more against what is still payable to the contributor; a refund
already disbursed is refused with the reference of its file, and nothing is posted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select

from recouvrement.adapters.db.refund_tables import refund_file
from recouvrement.adapters.documents.refund_transfers import RefundPayment, refund_transfer_file
from recouvrement.adapters.documents.sepa import bank_account
from recouvrement.domain import refunds as rules
from recouvrement.domain.actors import Actor, Permission, require, system_actor
from recouvrement.domain.errors import Conflict, DomainError, NotFound
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.services import audit, cases, ledger
from recouvrement.services import refund_credits as credits
from recouvrement.services.refund_cases import prepare, record_step
from recouvrement.services.unit_of_work import UnitOfWork


def disburse_refunds(
    engine: Engine,
    actor: Actor,
    case_ids: Sequence[int],
    *,
    on: date,
    execution_date: date | None = None,
) -> dict:
    """One SEPA credit transfer file paying the approved refunds; each is posted
    `refund_payable` → `bank` and closed. Returns the file's reference."""
    ids = sorted({int(i) for i in case_ids})
    execution_date = execution_date or on
    with cases.refusals_audited(engine, actor, "refund.disburse", ",".join(map(str, ids))[:100]):
        require(actor, Permission.REFUNDS_APPROVE)
        rules.require_accounting_officer(actor)
        if not ids:
            raise DomainError.single("case_ids", "au moins un remboursement attendu", "required")
        if execution_date < on:
            raise DomainError.single(
                "execution_date", "date d'exécution antérieure à la date d'émission", "in_the_past"
            )
        with UnitOfWork(engine) as uow:
            result = _disburse_in(uow.conn, actor, ids, on, execution_date)
            uow.commit()
    return result


def _disburse_in(
    conn: Connection, actor: Actor, ids: list[int], on: date, execution_date: date
) -> dict:
    rows, payments, entries, owed = [], [], [], {}
    territories = set()
    for case_id in ids:
        row, who, _agreement = prepare(
            conn, actor, case_id, "approved", "décaisser", on, assignee_only=False
        )
        amount = row["payload"]["amount"]
        owed[who.id] = owed.get(who.id, 0) + amount
        payable = -credits.cached_balance(conn, who.id, credits.REFUND_PAYABLE)
        if owed[who.id] > payable:
            raise Conflict.single(
                "case_ids",
                f"remboursement {case_id} : le montant approuvé n'est plus dû au cotisant "
                f"({payable} centimes restent à rembourser)",
                "not_payable",
            )
        territories.add(row["calendar"])
        rows.append(row)
        p = row["payload"]
        payments.append(
            RefundPayment(
                f"RMB-{case_id}",
                p["holder"],
                p["iban"],
                p["bic"],
                amount,
                f"Remboursement de cotisations - dossier {case_id}",
            )
        )
        entries.append(
            Entry(
                f"refund:{case_id}:disbursement",
                on,
                Cause.REFUND,
                (
                    Posting(LedgerAccount.REFUND_PAYABLE, who.id, "", "", "", amount),
                    Posting(LedgerAccount.BANK, None, "", "", "", -amount),
                ),
                f"Remboursement {case_id} décaissé",
            )
        )
    if len(territories) > 1:
        raise DomainError.single(
            "case_ids",
            "remboursements de plusieurs agences comptables : un fichier par compte de départ",
            "mixed_accounts",
        )
    territory = territories.pop()
    debtor = bank_account(
        "refunds.disbursement_account",
        {
            name: credits.parameter(f"refunds.disbursement_account.{name}", on, territory)
            for name in ("holder", "iban", "bic")
        },
    )
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:10].upper()
    message_id = f"RMB-{on:%Y%m%d}-{digest}"
    content = refund_transfer_file(
        debtor=debtor, payments=payments, execution_date=execution_date, message_id=message_id
    )
    total = sum(p.amount for p in payments)
    file_id = conn.execute(
        insert(refund_file).values(
            message_id=message_id,
            territory=territory,
            issued_on=on,
            execution_date=execution_date,
            issued_by=actor.login,
            issued_at=datetime.now(UTC),
            payment_count=len(payments),
            total=total,
            case_ids=ids,
            content=content,
        )
    ).inserted_primary_key[0]
    ledger.post_entries(conn, system_actor(f"refunds:{actor.login}"), entries)
    now = datetime.now(UTC)
    for row, entry in zip(rows, entries, strict=True):
        payload = dict(row["payload"]) | {
            "disbursed_by": actor.login,
            "disbursed_on": on.isoformat(),
            "file_id": file_id,
            "message_id": message_id,
        }
        values = {"payload": payload, "closed_on": on, "closed_at": now}
        detail = {"amount": payload["amount"], "file_id": file_id, "message_id": message_id}
        detail["entry"] = entry.idempotency_key
        record_step(conn, actor, row, "disburse", "disbursed", on, values, detail)
    audit.record(
        conn,
        actor,
        "refund.file.issue",
        "refund_file",
        file_id,
        {"message_id": message_id, "payments": len(payments), "total": total, "case_ids": ids},
    )
    return {
        "file_id": file_id,
        "message_id": message_id,
        "payment_count": len(payments),
        "total": total,
        "execution_date": execution_date.isoformat(),
        "case_ids": ids,
    }


def refund_file_content(engine: Engine, actor: Actor, file_id: int) -> dict:
    """A disbursement file as issued (the XML), for the accounting officer's bank channel."""
    require(actor, Permission.REFUNDS_APPROVE)
    with engine.connect() as conn:
        row = (
            conn.execute(select(refund_file).where(refund_file.c.id == file_id)).mappings().first()
        )
    if row is None:
        raise NotFound.single("file_id", f"fichier de remboursement {file_id} inconnu", "not_found")
    return dict(row)
