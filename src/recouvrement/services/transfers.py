"""Transfers to Unédic for Mayotte: the facts they rest on and the transfers they make.

The first advance rests on Unédic's notification of the 2012 receipts (amendment art. 5.3), each
regularisation on the central agency's closing of its accounts (art. 5.2). Both are recorded once,
by an actor allowed to post to the ledger (the accounting officer), and every change or refusal
goes to the audit trail. A transfer is recorded once per agreement, year and kind: replaying the
same request returns it, a different amount is refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select

from recouvrement.adapters.db.transfer_tables import accounts_closing, fund_notification, transfer
from recouvrement.agreements.loader import AgreementError, shipped_agreements
from recouvrement.domain.actors import Actor, Permission, require
from recouvrement.domain.errors import Conflict, DomainError, NotFound
from recouvrement.domain.money import format_euros_fr
from recouvrement.domain.transfer_schedule import (
    TransferRules,
    accounts_closing_deadline,
    regularisation_due,
    transfer_rules,
)
from recouvrement.domain.transfers import (
    TransferKind,
    annual_advance,
    check_notification_day,
    notification_is_late,
    regularise,
)
from recouvrement.services import audit
from recouvrement.services.fund_accounts import fund_receipts
from recouvrement.services.unit_of_work import UnitOfWork

MAYOTTE = "unedic-mayotte"
CHANNELS = ("letter", "email", "letter_and_email")  # « par courrier et par mail » (art. 5.3)


def rules_for(agreement: str, year: int | None = None) -> TransferRules:
    """The schedule of an agreement as in force on 1 January of the year (or at its start)."""
    try:
        registry = shipped_agreements()
        valid_from = registry.get(agreement).valid_from
        start = valid_from if year is None else max(date(year, 1, 1), valid_from)
        return transfer_rules(registry.resolve(agreement, start))
    except AgreementError as err:
        raise NotFound.single("agreement", str(err), "unknown_agreement") from None


def _refuse(engine: Engine, actor: Actor, action: str, object_id: str, err: DomainError):
    audit.record_refusal(engine, actor, action, "transfer", object_id, str(err))
    raise err


def record_fund_notification(
    engine: Engine,
    actor: Actor,
    *,
    amount: int,
    notified_on: date,
    notified_by: str,
    channel: str,
    reference: str = "",
    accept_late: bool = False,
    agreement: str = MAYOTTE,
) -> dict:
    """Record the fund's notification of the receipts the first advance equals (art. 5.3).

    A notification on or after the day the agreement sets (31 May 2013) is refused unless the
    agent accepts it as late; it is then recorded with the late flag, so the breach stays visible.
    """
    require(actor, Permission.LEDGER_POST)
    rules = rules_for(agreement)
    action, object_id = "transfer.notification.record", f"{agreement}/{rules.notified_year}"
    try:
        problems = []
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            problems.append(("amount", "montant en centimes entier et positif attendu"))
        if not isinstance(notified_on, date):
            raise DomainError.single("notified_on", "date de notification attendue (AAAA-MM-JJ)")
        if not notified_by or not notified_by.strip():
            problems.append(("notified_by", "indiquer qui a notifié (service de l'Unédic)"))
        if channel not in CHANNELS:
            problems.append(
                ("channel", f"canal inconnu {channel!r} (attendu : {', '.join(CHANNELS)})")
            )
        if problems:
            raise DomainError.single(*problems[0])
        check_notification_day(rules, notified_on)
        late = notification_is_late(rules, notified_on)
        if late and not accept_late:
            raise DomainError.single(
                "notified_on",
                f"notification du {notified_on.isoformat()} : l'avenant la prévoit avant le "
                f"{rules.notification_before.isoformat()} (art. 5.3) ; l'enregistrer comme tardive "
                "demande une confirmation expresse",
                "late",
            )
    except DomainError as err:
        _refuse(engine, actor, action, object_id, err)
    with UnitOfWork(engine) as uow:
        existing = find_notification(uow.conn, agreement, rules.notified_year)
        if existing is not None:
            err = Conflict.single(
                "notified_year",
                f"la notification des encaissements {rules.notified_year} est déjà enregistrée "
                f"(le {existing['notified_on'].isoformat()}, {format_euros_fr(existing['amount'])})",
                "duplicate",
            )
            uow.rollback()
            _refuse(engine, actor, action, object_id, err)
        row = {
            "agreement": agreement,
            "notified_year": rules.notified_year,
            "amount": amount,
            "notified_by": notified_by.strip(),
            "notified_on": notified_on,
            "channel": channel,
            "reference": reference,
            "late": late,
            "recorded_by": actor.login,
            "recorded_at": datetime.now(UTC),
        }
        row["id"] = uow.conn.execute(insert(fund_notification).values(**row)).inserted_primary_key[
            0
        ]
        detail = {k: row[k] for k in ("amount", "notified_by", "channel", "reference", "late")}
        audit.record(
            uow.conn,
            actor,
            action,
            "transfer",
            object_id,
            detail | {"notified_on": notified_on.isoformat()},
        )
        uow.commit()
    return row


def find_notification(conn: Connection, agreement: str, year: int) -> dict | None:
    found = (
        conn.execute(
            select(fund_notification).where(
                fund_notification.c.agreement == agreement,
                fund_notification.c.notified_year == year,
            )
        )
        .mappings()
        .first()
    )
    return dict(found) if found else None


def record_accounts_closing(
    engine: Engine, actor: Actor, year: int, closed_on: date, agreement: str = MAYOTTE
) -> dict:
    """Record the closing of the central agency's accounts for year N; it sets the day the
    regularisation is due (art. 5.2). A closing after the latest day allowed is recorded, flagged
    late: the accounts closed when they closed, and the delay must show."""
    require(actor, Permission.LEDGER_POST)
    action, object_id = "transfer.closing.record", f"{agreement}/{year}"
    try:
        rules = rules_for(agreement, year)
        if not isinstance(closed_on, date):
            raise DomainError.single("closed_on", "date de clôture attendue (AAAA-MM-JJ)")
        due_on = regularisation_due(rules, year, closed_on)
        late = closed_on > accounts_closing_deadline(rules, year)
    except DomainError as err:
        _refuse(engine, actor, action, object_id, err)
    with UnitOfWork(engine) as uow:
        if find_closing(uow.conn, agreement, year) is not None:
            uow.rollback()
            _refuse(
                engine,
                actor,
                action,
                object_id,
                Conflict.single(
                    "year", f"la clôture des comptes {year} est déjà enregistrée", "duplicate"
                ),
            )
        row = {
            "agreement": agreement,
            "year": year,
            "closed_on": closed_on,
            "late": late,
            "recorded_by": actor.login,
            "recorded_at": datetime.now(UTC),
        }
        row["id"] = uow.conn.execute(insert(accounts_closing).values(**row)).inserted_primary_key[0]
        audit.record(
            uow.conn,
            actor,
            action,
            "transfer",
            object_id,
            {
                "closed_on": closed_on.isoformat(),
                "late": row["late"],
                "regularisation_due": due_on.isoformat(),
            },
        )
        uow.commit()
    return row | {"regularisation_due": due_on}


def find_closing(conn: Connection, agreement: str, year: int) -> dict | None:
    found = (
        conn.execute(
            select(accounts_closing).where(
                accounts_closing.c.agreement == agreement, accounts_closing.c.year == year
            )
        )
        .mappings()
        .first()
    )
    return dict(found) if found else None


def _utc(moment: datetime | None) -> datetime | None:
    """Instants are stored in UTC: SQLite keeps no offset, and would otherwise shift them."""
    return None if moment is None else moment.astimezone(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """An instant read back: aware on PostgreSQL, naive UTC on SQLite."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def find_transfer(conn: Connection, agreement: str, year: int, kind: TransferKind) -> dict | None:
    found = (
        conn.execute(
            select(transfer).where(
                transfer.c.agreement == agreement,
                transfer.c.year == year,
                transfer.c.kind == kind.value,
            )
        )
        .mappings()
        .first()
    )
    if found is None:
        return None
    return dict(found) | {"announce_before": as_utc(found["announce_before"])}


def _save_transfer(engine: Engine, actor: Actor, row: dict, object_id: str) -> dict:
    """Insert a transfer once; the same request again returns it, another amount is refused."""
    action = f"transfer.{row['kind']}.plan"
    with UnitOfWork(engine) as uow:
        kind = TransferKind(row["kind"])
        existing = find_transfer(uow.conn, row["agreement"], row["year"], kind)
        if existing is not None:
            if existing["amount"] == row["amount"] and existing["direction"] == row["direction"]:
                return existing
            uow.rollback()
            _refuse(
                engine,
                actor,
                action,
                object_id,
                Conflict.single(
                    "amount",
                    f"le reversement {row['kind']} {row['year']} est déjà enregistré pour "
                    f"{format_euros_fr(existing['amount'])}",
                    "duplicate",
                ),
            )
        row = row | {
            "status": "planned",
            "created_by": actor.login,
            "created_at": datetime.now(UTC),
        }
        row["id"] = uow.conn.execute(insert(transfer).values(**row)).inserted_primary_key[0]
        audit.record(
            uow.conn,
            actor,
            action,
            "transfer",
            object_id,
            {
                "amount": row["amount"],
                "direction": row["direction"],
                "account": row["account"],
                "due_on": row["due_on"].isoformat(),
                "basis": row["basis"],
            },
        )
        uow.commit()
    return row


def plan_advance(
    engine: Engine,
    actor: Actor,
    year: int,
    previous_year_receipts: int | None = None,
    agreement: str = MAYOTTE,
) -> dict:
    """The annual advance of year N (art. 5.1), recorded as a planned transfer.

    For the first year the amount is the fund's notified figure and nothing else (art. 5.3): without
    the notification, the advance cannot be computed. For later years the N-1 receipts are read from
    the fund accounts of the journal, unless the caller gives the figure.
    """
    require(actor, Permission.LEDGER_POST)
    action, object_id = "transfer.advance.plan", f"{agreement}/{year}/advance"
    try:
        rules = rules_for(agreement, year)
        if year == rules.first_advance_year:
            if previous_year_receipts is not None:
                raise DomainError.single(
                    "previous_year_receipts",
                    f"l'acompte {year} est égal au montant notifié par l'Unédic (art. 5.3), "
                    "pas à un montant saisi",
                    "notified_amount_only",
                )
            with engine.connect() as conn:
                notice = find_notification(conn, agreement, rules.notified_year)
            if notice is None:
                raise DomainError.single(
                    "fund_notification",
                    f"l'acompte {year} ne peut être calculé sans la notification par l'Unédic des "
                    f"contributions encaissées en {rules.notified_year} (art. 5.3), attendue avant "
                    f"le {rules.notification_before.isoformat()}",
                    "notification_missing",
                )
            amount, basis = notice["amount"], f"notification du {notice['notified_on'].isoformat()}"
        elif previous_year_receipts is None:
            amount = ledger_receipts(engine, agreement, year - 1)
            basis = f"encaissements {year - 1} lus au grand livre"
        else:
            amount, basis = previous_year_receipts, f"encaissements {year - 1}"
        advance = annual_advance(rules, year, amount)
    except DomainError as err:
        _refuse(engine, actor, action, object_id, err)
    row = {
        "agreement": agreement,
        "year": year,
        "kind": TransferKind.ADVANCE.value,
        "direction": "payment",
        "amount": advance.amount,
        "account": advance.account,
        "due_on": advance.payment_day,
        "announce_before": _utc(advance.announce_before),
        "basis": basis,
    }
    return _save_transfer(engine, actor, row, object_id)


def ledger_receipts(engine: Engine, agreement: str, year: int) -> int:
    """The fund's receipts of a year in the agreement's scope, read from the journal (setting
    `transfers.receipts`: which fund, which territory)."""
    registry = shipped_agreements()
    resolved = registry.resolve(
        agreement, max(date(year, 1, 1), registry.get(agreement).valid_from)
    )
    setting = resolved.settings.get("transfers.receipts")
    if setting is None or not isinstance(setting.value, dict) or "fund" not in setting.value:
        raise DomainError.single(
            "transfers.receipts",
            f"la convention {agreement} ne dit pas de quel fonds lire les encaissements",
            "setting_missing",
        )
    with engine.connect() as conn:
        return fund_receipts(conn, setting.value["fund"], year, setting.value.get("territory"))


def plan_regularisation(
    engine: Engine,
    actor: Actor,
    year: int,
    final_receipts: int | None = None,
    agreement: str = MAYOTTE,
) -> dict:
    """The regularisation of year N (art. 5.2): final N receipts less the N advance, due within the
    business days after the recorded closing and by the latest day of the agreement. Without a
    figure given, the final receipts are read from the journal."""
    require(actor, Permission.LEDGER_POST)
    action, object_id = "transfer.regularisation.plan", f"{agreement}/{year}/regularisation"
    try:
        rules = rules_for(agreement, year)
        if final_receipts is None:
            final_receipts = ledger_receipts(engine, agreement, year)
        with engine.connect() as conn:
            closing = find_closing(conn, agreement, year)
            advance = find_transfer(conn, agreement, year, TransferKind.ADVANCE)
        if closing is None:
            raise DomainError.single(
                "accounts_closing",
                f"la régularisation {year} attend la clôture des comptes {year} (art. 5.2)",
                "closing_missing",
            )
        if advance is None:
            raise DomainError.single(
                "advance", f"aucun acompte {year} enregistré à régulariser", "advance_missing"
            )
        r = regularise(
            rules,
            year,
            final_receipts=final_receipts,
            advance=advance["amount"],
            closing_day=closing["closed_on"],
        )
    except DomainError as err:
        _refuse(engine, actor, action, object_id, err)
    row = {
        "agreement": agreement,
        "year": year,
        "kind": TransferKind.REGULARISATION.value,
        "direction": r.direction.value,
        "amount": r.amount,
        "account": r.account,
        "due_on": r.due_on,
        "announce_before": _utc(r.announce_before),
        "basis": f"encaissements définitifs {year} {r.final_receipts} − acompte {r.advance}",
    }
    return _save_transfer(engine, actor, row, object_id)
