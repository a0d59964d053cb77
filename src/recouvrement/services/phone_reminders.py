"""Phone reminders (relances téléphoniques, convention type ISU art. 4 « Recouvrement amiable »).

An agent authorized on the activity `phone_reminders` logs each call to a debtor with its outcome.
A promise to pay by a date places a short hold (`collection_hold`, kind `promise`) until that date
plus the grace the region set (`rules/escalation.yaml`, `promise_grace_days`): sending a formal
notice to a debtor who has just promised to pay would break the amicable contact for nothing. The
hold lapses by itself; if the payment does not come, escalation resumes from the step reached.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, insert, select, update

from recouvrement.adapters.db.collection_tables import phone_reminder
from recouvrement.adapters.db.tables import contributor
from recouvrement.domain.actors import Actor, Permission, require, require_contributor
from recouvrement.domain.errors import DomainError, Forbidden, NotFound, Problem
from recouvrement.services import audit
from recouvrement.services.authorizations import decide_activity
from recouvrement.services.collection_holds import place_hold
from recouvrement.services.escalation import load_rules
from recouvrement.services.unit_of_work import UnitOfWork

ACTIVITY = "phone_reminders"
OUTCOMES = ("reached", "no_answer", "wrong_number", "promise")
MAX_NOTE = 2_000


def _check(
    outcome: str, called_on: date, promised_on: date | None, promised_amount: int | None, note: str
) -> None:
    problems = []
    if outcome not in OUTCOMES:
        problems.append(
            Problem(
                "outcome", f"issue inconnue : {outcome!r} (parmi {', '.join(OUTCOMES)})", "invalid"
            )
        )
    if outcome == "promise":
        if promised_on is None or promised_on < called_on:
            problems.append(
                Problem(
                    "promised_on",
                    "une promesse a une date, au plus tôt le jour de l'appel",
                    "invalid",
                )
            )
        if promised_amount is None or promised_amount <= 0:
            problems.append(
                Problem("promised_amount", "une promesse a un montant positif", "invalid")
            )
    elif promised_on is not None or promised_amount is not None:
        problems.append(
            Problem("promised_on", "date et montant promis seulement pour une promesse", "invalid")
        )
    if len(note) > MAX_NOTE:
        problems.append(Problem("note", f"note de {MAX_NOTE} caractères au plus", "invalid"))
    if problems:
        raise DomainError(*problems)


def _row(r) -> dict:
    return {
        "id": r.id,
        "contributor_id": r.contributor_id,
        "called_on": r.called_on.isoformat(),
        "agent": r.agent,
        "outcome": r.outcome,
        "promised_on": r.promised_on.isoformat() if r.promised_on else None,
        "promised_amount": r.promised_amount,
        "note": r.note,
        "hold_id": r.hold_id,
    }


def log_phone_reminder(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    called_on: date,
    outcome: str,
    *,
    promised_on: date | None = None,
    promised_amount: int | None = None,
    note: str = "",
) -> dict:
    """Log a call to a debtor; a promise holds escalation until the promised date plus grace."""
    try:
        require(actor, Permission.COLLECTION_REMIND)
        _check(outcome, called_on, promised_on, promised_amount, note)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            org = conn.scalar(
                select(contributor.c.organisation_id).where(contributor.c.id == contributor_id)
            )
            if org is None:
                raise NotFound.single("contributor_id", "cotisant inconnu", "not_found")
            require_contributor(actor, contributor_id, org)
            decision = decide_activity(conn, actor, ACTIVITY, called_on, owner_organisation_id=org)
            if not decision.allowed:
                raise Forbidden(decision.problem())
            reminder_id = conn.execute(
                insert(phone_reminder)
                .values(
                    contributor_id=contributor_id,
                    called_on=called_on,
                    agent=actor.login,
                    outcome=outcome,
                    promised_on=promised_on,
                    promised_amount=promised_amount,
                    note=note,
                    created_at=datetime.now(UTC),
                )
                .returning(phone_reminder.c.id)
            ).scalar_one()
            hold_id = None
            if outcome == "promise":
                until = promised_on + timedelta(days=load_rules().grace_days(called_on))
                hold_id = place_hold(
                    conn,
                    contributor_id,
                    "promise",
                    f"phone_reminder:{reminder_id}",
                    called_on,
                    until=until,
                )
                conn.execute(
                    update(phone_reminder)
                    .where(phone_reminder.c.id == reminder_id)
                    .values(hold_id=hold_id)
                )
            audit.record(
                conn,
                actor,
                "collection.phone_reminder",
                "contributor",
                contributor_id,
                {
                    "reminder_id": reminder_id,
                    "outcome": outcome,
                    "promised_on": promised_on.isoformat() if promised_on else None,
                    "promised_amount": promised_amount,
                    "hold_id": hold_id,
                },
            )
            row = conn.execute(
                select(phone_reminder).where(phone_reminder.c.id == reminder_id)
            ).one()
            uow.commit()
            return _row(row)
    except DomainError as err:
        if not audit.refusal_recorded(err):
            codes = ", ".join(sorted({p.code for p in err.problems}))
            audit.record_refusal(
                engine,
                actor,
                "collection.phone_reminder",
                "contributor",
                contributor_id,
                f"{codes} : {err}",
            )
            audit.mark_recorded(err)
        raise


def phone_reminders_of(engine: Engine, actor: Actor, contributor_id: int) -> list[dict]:
    """The calls logged for a contributor, newest first (agents within reach only)."""
    require(actor, Permission.COLLECTION_READ)
    with engine.connect() as conn:
        org = conn.scalar(
            select(contributor.c.organisation_id).where(contributor.c.id == contributor_id)
        )
        if org is None:
            raise NotFound.single("contributor_id", "cotisant inconnu", "not_found")
        require_contributor(actor, contributor_id, org)
        rows = conn.execute(
            select(phone_reminder)
            .where(phone_reminder.c.contributor_id == contributor_id)
            .order_by(phone_reminder.c.called_on.desc(), phone_reminder.c.id.desc())
        ).all()
    return [_row(r) for r in rows]
