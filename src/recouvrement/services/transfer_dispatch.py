"""Carrying out a planned transfer: its SEPA file, then the e-mail to the annex-3 recipients.

A transfer the central agency pays (the advance, a complement owed) gets one pain.001 file from
the payer's account (annex 2) to the fund's (annex 1); the message identifier is stored so the file
is issued once, and the file itself is kept in the documents directory (`transfers/<message id>.xml`)
so it can be handed to the bank again. The e-mail follows the file and quotes its reference; an overpayment is asked back
by e-mail only, since the fund makes that transfer (art. 5.2). An e-mail is recorded as sent only
once the SMTP server has accepted it; sending after the announcement deadline is done, but the
audit event says it was late.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, select, update

from recouvrement.adapters.db.transfer_tables import transfer
from recouvrement.adapters.documents import email, sepa
from recouvrement.agreements.loader import shipped_agreements
from recouvrement.domain.actors import Actor, Permission, require, system_actor
from recouvrement.domain.errors import Conflict, DomainError, NotFound
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.services import audit
from recouvrement.services.call_issuing import documents_dir
from recouvrement.services.ledger import post_entries
from recouvrement.services.transfers import as_utc, rules_for
from recouvrement.services.unit_of_work import UnitOfWork

PAID_BY_AGENCY = ("payment", "owed")
LABELS = {"advance": "acompte annuel", "regularisation": "complément de régularisation"}


def _load(engine: Engine, transfer_id: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(transfer).where(transfer.c.id == transfer_id)).mappings().first()
    if row is None:
        raise NotFound.single("transfer_id", f"reversement inconnu : {transfer_id}", "not_found")
    return dict(row) | {"announce_before": as_utc(row["announce_before"])}


def _resolved(row: dict):
    registry = shipped_agreements()
    start = max(date(row["year"], 1, 1), registry.get(row["agreement"]).valid_from)
    return registry.resolve(row["agreement"], start)


def _annex(resolved, name: str) -> object:
    return resolved.annexes.get(name, (None, ""))[0]


def message_id_of(row: dict) -> str:
    """Stable and readable: the bank's return quotes it, and it names the transfer."""
    return f"{row['agreement']}-{row['year']}-{row['kind']}".upper()


def _fund(resolved) -> str:
    setting = resolved.settings.get("transfers.receipts")
    if setting is None or not isinstance(setting.value, dict) or not setting.value.get("fund"):
        raise DomainError.single(
            "transfers.receipts", "fonds attributaire du reversement non précisé", "setting_missing"
        )
    return setting.value["fund"]


def _transfer_entry(row: dict, fund: str, reference: str, on: date, outgoing: bool) -> Entry:
    """Cash leaves the bank for the fund (or comes back from it): the fund's payable moves with it,
    once per transfer, whatever the number of attempts (the key is the transfer's reference)."""
    amount = row["amount"] if outgoing else -row["amount"]
    label = LABELS.get(row["kind"], row["kind"])
    return Entry(
        f"transfer:{reference}",
        on,
        Cause.TRANSFER,
        (
            Posting(LedgerAccount.FUND_PAYABLE, None, fund, "", str(row["year"]), amount),
            Posting(LedgerAccount.BANK, None, "", "", "", -amount),
        ),
        f"Reversement {fund} : {label} {row['year']}"
        + ("" if outgoing else " (trop versé remboursé par le fonds)"),
    )


def record_fund_repayment(
    engine: Engine, actor: Actor, transfer_id: int, received_on: date
) -> dict:
    """The fund pays back an overpaid regularisation to the agency's account (art. 5.2): the
    cash comes in and the fund's payable is restored, once."""
    require(actor, Permission.LEDGER_POST)
    row = _load(engine, transfer_id)
    action, object_id = "transfer.repayment.record", str(transfer_id)
    try:
        if row["direction"] != "overpaid":
            raise DomainError.single(
                "direction",
                "seul un trop versé est remboursé par le fonds (art. 5.2)",
                "not_overpaid",
            )
        if row["status"] == "repaid":
            raise Conflict.single("transfer_id", "remboursement déjà enregistré", "already_repaid")
        fund = _fund(_resolved(row))
    except DomainError as err:
        audit.record_refusal(engine, actor, action, "transfer", object_id, str(err))
        raise
    reference = f"{message_id_of(row)}-REPAID"
    with UnitOfWork(engine) as uow:
        done = uow.conn.execute(
            update(transfer)
            .where(transfer.c.id == transfer_id, transfer.c.status != "repaid")
            .values(status="repaid")
        )
        if done.rowcount != 1:
            raise Conflict.single("transfer_id", "remboursement enregistré entre-temps")
        post_entries(
            uow.conn,
            system_actor(f"reversement:{actor.login}"),
            [_transfer_entry(row, fund, reference, received_on, outgoing=False)],
        )
        audit.record(
            uow.conn,
            actor,
            action,
            "transfer",
            object_id,
            {"amount": row["amount"], "received_on": received_on.isoformat()},
        )
        uow.commit()
    return row | {"status": "repaid"}


def _stored_path(message_id: str) -> Path:
    return documents_dir() / "transfers" / f"{message_id}.xml"


def _store(message_id: str, xml: bytes) -> None:
    path = _stored_path(message_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(xml)
    partial.replace(path)


def stored_transfer_file(engine: Engine, actor: Actor, transfer_id: int) -> tuple[dict, bytes]:
    """The pain.001 file of a transfer as it was issued (the bank received this one)."""
    require(actor, Permission.LEDGER_POST)
    row = _load(engine, transfer_id)
    if not row["message_id"]:
        raise NotFound.single("transfer_id", "aucun fichier émis pour ce reversement", "no_file")
    path = _stored_path(row["message_id"])
    if not path.exists():
        raise NotFound.single(
            "transfer_id", f"fichier {path} introuvable dans le répertoire des documents", "no_file"
        )
    return row, path.read_bytes()


def stored_or_none(engine: Engine, actor: Actor, transfer_id: int) -> dict | None:
    """The transfer if its file was already issued, else None (it is still to issue)."""
    require(actor, Permission.LEDGER_POST)
    row = _load(engine, transfer_id)
    return row if row["message_id"] else None


def issue_transfer_file(engine: Engine, actor: Actor, transfer_id: int) -> tuple[dict, bytes]:
    """The pain.001 file of a transfer the central agency pays; issued once."""
    require(actor, Permission.LEDGER_POST)
    row = _load(engine, transfer_id)
    action, object_id = "transfer.file.issue", str(transfer_id)
    try:
        if row["direction"] not in PAID_BY_AGENCY:
            raise DomainError.single(
                "direction",
                "aucun virement à émettre par l'Acoss : un trop versé est remboursé par l'Unédic, "
                "une régularisation nulle ne donne lieu à aucun virement (art. 5.2)",
                "not_paid_by_agency",
            )
        if row["message_id"]:
            raise Conflict.single(
                "transfer_id",
                f"le fichier de virement est déjà émis (référence {row['message_id']})",
                "already_issued",
            )
        resolved = _resolved(row)
        payer = resolved.setting("transfers.payer_account")
        debtor = sepa.bank_account(payer, _annex(resolved, payer))
        creditor = sepa.bank_account(row["account"], _annex(resolved, row["account"]))
        message_id = message_id_of(row)
        label = LABELS[row["kind"]]
        xml = sepa.credit_transfer_file(
            debtor=debtor,
            creditor=creditor,
            amount=row["amount"],
            execution_date=row["due_on"],
            message_id=message_id,
            remittance=f"Reversement assurance chomage Mayotte - {label} {row['year']}",
        )
    except DomainError as err:
        audit.record_refusal(engine, actor, action, "transfer", object_id, str(err))
        raise
    _store(message_id, xml)  # before the commit: a crash after it must not lose the file
    with UnitOfWork(engine) as uow:
        done = uow.conn.execute(
            update(transfer)
            .where(transfer.c.id == transfer_id, transfer.c.message_id.is_(None))
            .values(message_id=message_id, status="file_issued")
        )
        if done.rowcount != 1:
            raise Conflict.single("transfer_id", "fichier émis entre-temps", "already_issued")
        post_entries(
            uow.conn,
            system_actor(f"reversement:{actor.login}"),
            [_transfer_entry(row, _fund(resolved), message_id, row["due_on"], outgoing=True)],
        )
        audit.record(
            uow.conn,
            actor,
            action,
            "transfer",
            object_id,
            {
                "message_id": message_id,
                "amount": row["amount"],
                "debtor": debtor.annex,
                "creditor": creditor.annex,
                "execution_date": row["due_on"].isoformat(),
            },
        )
        uow.commit()
    return row | {"message_id": message_id, "status": "file_issued"}, xml


def announce_transfer(
    engine: Engine,
    actor: Actor,
    transfer_id: int,
    *,
    now: datetime,
    send: Callable[[EmailMessage], None] = email.send,
) -> dict:
    """E-mail the annex-3 recipients about a transfer: an announcement before a payment, a request
    to pay back an overpayment, or a notice that nothing moves. Sent once."""
    require(actor, Permission.LEDGER_POST)
    row = _load(engine, transfer_id)
    action, object_id = "transfer.announce", str(transfer_id)
    if row["status"] == "announced":
        return row
    try:
        if now.tzinfo is None:
            raise DomainError.single("now", "instant d'envoi sans fuseau horaire", "naive_time")
        if row["direction"] in PAID_BY_AGENCY and not row["message_id"]:
            raise DomainError.single(
                "message_id",
                "émettre d'abord le fichier de virement : l'annonce en cite la référence",
                "file_missing",
            )
        resolved = _resolved(row)
        rules = rules_for(row["agreement"], row["year"])
        account = _annex(resolved, row["account"]) if row["account"] else None
        notice = email.Notice(
            agreement_title=resolved.agreement.title,
            article="art. 5.1" if row["kind"] == "advance" else "art. 5.2",
            year=row["year"],
            kind=row["kind"],
            direction=row["direction"],
            amount=row["amount"],
            value_date=row["due_on"],
            basis=row["basis"],
            account_holder=account.get("holder") if isinstance(account, dict) else None,
            iban=account.get("iban") if isinstance(account, dict) else None,
            file_reference=row["message_id"],
        )
        msg = email.message(
            notice,
            sender=str(resolved.setting("transfers.announcement_sender")),
            recipients=rules.recipients,
            sent_at=now,
        )
    except DomainError as err:
        audit.record_refusal(engine, actor, action, "transfer", object_id, str(err))
        raise
    try:
        send(msg)
    except OSError as err:  # smtplib's errors are OSErrors too
        failure = DomainError.single(
            "smtp",
            f"envoi du courriel impossible ({err}) : rien n'est enregistré comme envoyé",
            "send_failed",
        )
        audit.record_refusal(engine, actor, action, "transfer", object_id, str(failure))
        raise failure from None
    deadline = as_utc(row["announce_before"])
    late = deadline is not None and now >= deadline
    with UnitOfWork(engine) as uow:
        uow.conn.execute(
            update(transfer).where(transfer.c.id == transfer_id).values(status="announced")
        )
        audit.record(
            uow.conn,
            actor,
            action,
            "transfer",
            object_id,
            {
                "message_id": msg["Message-ID"],
                "recipients": list(rules.recipients),
                "sent_at": now.isoformat(),
                "late": late,
                "file_reference": row["message_id"],
            },
        )
        uow.commit()
    return row | {"status": "announced", "late": late, "email_message_id": msg["Message-ID"]}
