"""Surcharge remission (remise des majorations, CSS R243-20): request, proposal, decision.

A request names surcharge keys of one contributor; each is asked for its balance on the day. It is
received only if the contributions of those funds and periods are paid and the additional
surcharge was earned by a payment within thirty days (or force majeure) — domain/remission.py
says why not, in French. A received request opens a `surcharge_remission` case (ISU agreement art.
4, activity `surcharge_remission_requests`), places a `remission` hold on escalation and records
the request as an act that interrupts the limitation (both owned by other services).

Below the dated threshold the director decides; from it the director proposes and the appeals board
(commission de recours amiable) decides. A decision is reasoned (its text is kept and printed), may
be partial, produces the French decision letter (`remission_decision`), lifts the hold and posts
once, under `remission:<id>:decision` (cause `decision`), debit `fund_revenue` / credit
`receivable` on each surcharge key remitted. A surcharge already paid meanwhile is remitted onto
the account's credit (refundable or used like any credit).

The automatic remission of R243-19-1 is the daily step in services/remission_automatic.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from recouvrement.adapters.db.remission_tables import remission_line, remission_request
from recouvrement.adapters.db.tables import case_event, case_table
from recouvrement.domain import remission as rules
from recouvrement.domain.actors import (
    Actor,
    Permission,
    Role,
    require,
    require_contributor,
    system_actor,
)
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.money import format_euros_fr
from recouvrement.domain.write_offs import parse_keys
from recouvrement.rules.parameters import ParameterError, load_parameters
from recouvrement.services import audit, cases, collection_holds, limitation
from recouvrement.services import remission_records as records
from recouvrement.services.allocation import credit_key
from recouvrement.services.ledger import post_entries
from recouvrement.services.refund_credits import contributor_row
from recouvrement.services.remission_automatic import automatic_remission_step
from recouvrement.services.unit_of_work import UnitOfWork

__all__ = [
    "automatic_remission_step",
    "decide_remission",
    "get_remission",
    "list_remissions",
    "propose_remission",
    "request_remission",
]

RECEIVABLE = LedgerAccount.RECEIVABLE.value
OPEN_STATES = ("pending", "proposed")


def _param(name: str, on: date, territory: str):
    try:
        return load_parameters().value(name, on, territory)
    except ParameterError as err:
        raise DomainError.single("on", str(err), "no_rule") from None


def _additional_days(due: date | None, on: date, territory: str) -> int | None:
    try:
        return load_parameters().value("remission.additional_payment_days", due or on, territory)
    except ParameterError:
        return None


def hold_source(request_id: int) -> str:
    return f"remission:{request_id}"


# ---------------------------------------------------------------------------------------------
# Request


def request_remission(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    keys: Iterable[object],
    *,
    on: date,
    reason: str = "",
    force_majeure: bool = False,
) -> dict:
    """Receive a remission request on surcharge keys (fund, item, period) on `on`."""
    with cases.refusals_audited(engine, actor, "remission.request", contributor_id):
        require(actor, Permission.REMISSION_REQUEST)
        triples = parse_keys(keys)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            who = contributor_row(conn, contributor_id)
            require_contributor(actor, contributor_id, who.organisation_id)
            territory = who.territory or "default"
            balances = records.receivable_balances(conn, contributor_id)
            lines = [rules.Line(f, i, p, max(balances.get((f, i, p), 0), 0)) for f, i, p in triples]
            _refuse_pending(conn, contributor_id, triples)
            periods = {p for _, _, p in triples}
            dues = records.due_dates(conn, contributor_id, periods)
            dates = records.principal_dates(conn, contributor_id, {(f, p) for f, _, p in triples})
            first_due = min(dues.values(), default=None)
            problems = rules.admissibility_problems(
                lines,
                principal_unpaid=records.principal_unpaid(balances),
                due_dates=dues,
                paid_dates={k: v[1] for k, v in dates.items()},
                remissible_items=_param("remission.remissible_items", first_due or on, territory),
                additional_days=_additional_days(first_due, on, territory),
                force_majeure=force_majeure,
            )
            if problems:
                raise DomainError(*problems)
            total = sum(line.requested for line in lines)
            threshold = _param("remission.director_threshold", on, territory)
            authority = rules.authority_for(total, threshold)
            request_id = conn.execute(
                insert(remission_request).values(
                    contributor_id=contributor_id,
                    state="pending",
                    requested_on=on,
                    requested_by=actor.login,
                    reason=(reason or "").strip()[:4000],
                    total=total,
                    authority=authority.value,
                    granted=0,
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(remission_line),
                [
                    {
                        "request_id": request_id,
                        "fund": x.fund,
                        "item": x.item,
                        "period": x.period,
                        "requested": x.requested,
                        "granted": 0,
                    }
                    for x in lines
                ],
            )
            case_id = _open_case(conn, actor, contributor_id, request_id, on, total, force_majeure)
            source = hold_source(request_id)
            only = next(iter(periods)) if len(periods) == 1 else None
            hold_id = collection_holds.place_hold(
                conn, contributor_id, "remission", source, on, period=only
            )
            for period in sorted(periods):
                limitation.record_interruption(
                    conn, contributor_id, period, "remission_request", on, source
                )
            audit.record(
                conn,
                actor,
                "remission.request",
                "remission_request",
                request_id,
                {
                    "contributor_id": contributor_id,
                    "total": total,
                    "authority": authority.value,
                    "case_id": case_id,
                    "hold_id": hold_id,
                    "force_majeure": force_majeure,
                },
            )
            uow.commit()
    return get_remission(engine, actor, request_id)


def _refuse_pending(conn: Connection, contributor_id: int, triples) -> None:
    rows = conn.execute(
        select(remission_line.c.fund, remission_line.c.item, remission_line.c.period)
        .join(remission_request, remission_request.c.id == remission_line.c.request_id)
        .where(
            remission_request.c.contributor_id == contributor_id,
            remission_request.c.state.in_(OPEN_STATES),
        )
    )
    pending = {tuple(r) for r in rows} & set(triples)
    if pending:
        listed = ", ".join("/".join(k) for k in sorted(pending))
        raise Conflict.single(
            "keys", f"une demande de remise est déjà en cours sur : {listed}", "already_requested"
        )


def _open_case(conn, actor, contributor_id, request_id, on, total, force_majeure) -> int | None:
    """The case of the request, while the ISU agreement is in force (its activity's queue); a
    contributor's request is opened by the system on their behalf, as refunds do."""
    try:
        cases.resolve_agreement(cases.DEFAULT_AGREEMENT, on)
    except DomainError:
        return None
    opener = system_actor(f"portail:{actor.login}") if actor.is_contributor else actor
    case_id = cases.open_case_in(
        conn,
        opener,
        "surcharge_remission",
        on=on,
        payload={"request_id": request_id, "total": total, "force_majeure": force_majeure},
        contributor_id=contributor_id,
    )
    conn.execute(
        update(remission_request)
        .where(remission_request.c.id == request_id)
        .values(case_id=case_id)
    )
    return case_id


# ---------------------------------------------------------------------------------------------
# Proposal to the appeals board, decision


def _load(conn: Connection, request_id: int, for_update: bool = False) -> dict:
    query = select(remission_request).where(remission_request.c.id == request_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound.single("request_id", f"demande de remise {request_id} inconnue", "not_found")
    return dict(row)


def _lines(conn: Connection, request_id: int) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            select(remission_line)
            .where(remission_line.c.request_id == request_id)
            .order_by(remission_line.c.id)
        ).mappings()
    ]


def _prepare(conn: Connection, actor: Actor, request_id: int, states: tuple[str, ...], action):
    row = _load(conn, request_id, for_update=True)
    who = contributor_row(conn, row["contributor_id"])
    require_contributor(actor, who.id, who.organisation_id)
    closed = row["case_id"] is not None and conn.scalar(
        select(case_table.c.closed_on).where(case_table.c.id == row["case_id"])
    )
    if row["state"] not in states or closed:
        state = "retirée" if closed else rules.STATE_LABEL.get(row["state"], row["state"])
        raise Conflict.single(
            "request_id",
            f"impossible de {action} la demande de remise {request_id} : elle est {state}",
            "wrong_state",
        )
    return row, who


def _reasons(text: str) -> str:
    text = (text or "").strip()
    if len(text) < 10:
        raise DomainError.single(
            "text", "la décision doit être motivée (CSS R243-20) : motifs attendus", "unreasoned"
        )
    return text[:4000]


def propose_remission(
    engine: Engine,
    actor: Actor,
    request_id: int,
    *,
    on: date,
    text: str,
    granted: int | None = None,
) -> dict:
    """The director's reasoned proposal to the appeals board, for a request above the threshold."""
    with cases.refusals_audited(engine, actor, "remission.propose", request_id):
        require(actor, Permission.REMISSION_DECIDE)
        if Role.DIRECTOR not in actor.roles:
            raise Forbidden.single("", "proposition réservée au directeur", "director_only")
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, _who = _prepare(conn, actor, request_id, ("pending",), "proposer")
            if row["authority"] != rules.Authority.APPEALS_BOARD.value:
                raise Conflict.single(
                    "request_id",
                    "sous le seuil, le directeur décide lui-même : pas de proposition",
                    "director_decides",
                )
            lines = [_as_line(x) for x in _lines(conn, request_id)]
            rules.spread_granted(lines, granted)  # validates the amount
            proposal = {
                "by": actor.login,
                "on": on.isoformat(),
                "granted": sum(x.requested for x in lines) if granted is None else granted,
                "text": _reasons(text),
            }
            conn.execute(
                update(remission_request)
                .where(remission_request.c.id == request_id)
                .values(state="proposed", proposal=proposal)
            )
            _case_event(conn, actor, row["case_id"], "propose", "proposed", on, proposal)
            audit.record(
                conn, actor, "remission.propose", "remission_request", request_id, proposal
            )
            uow.commit()
    return get_remission(engine, actor, request_id)


def _as_line(x: dict) -> rules.Line:
    return rules.Line(x["fund"], x["item"], x["period"], x["requested"])


def decide_remission(
    engine: Engine,
    actor: Actor,
    request_id: int,
    *,
    on: date,
    text: str,
    granted: int | None = None,
) -> dict:
    """The reasoned decision: all (`granted` None), part or nothing (0) of what was asked."""
    with cases.refusals_audited(engine, actor, "remission.decide", request_id):
        require(actor, Permission.REMISSION_DECIDE)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, _who = _prepare(conn, actor, request_id, OPEN_STATES, "décider")
            _check_decider(actor, row)
            reasons = _reasons(text)
            lines = _lines(conn, request_id)
            amounts = rules.spread_granted([_as_line(x) for x in lines], granted)
            total = sum(amounts)
            state = rules.decision_state(total, row["total"])
            for line, amount in zip(lines, amounts, strict=True):
                line["granted"] = amount
                conn.execute(
                    update(remission_line)
                    .where(remission_line.c.id == line["id"])
                    .values(granted=amount)
                )
            entry = _decision_entry(conn, row, lines, on) if total else None
            if entry is not None:
                post_entries(conn, system_actor(f"remission:{actor.login}"), [entry])
            row.update(state=state, decision_text=reasons, decided_on=on, decided_by=actor.login)
            who = records.recipient(conn, row["contributor_id"])
            reference = records.store_letter(
                conn, row["contributor_id"], records.letter_context(who, row, lines, on), on
            )
            conn.execute(
                update(remission_request)
                .where(remission_request.c.id == request_id)
                .values(
                    state=state,
                    decided_on=on,
                    decided_by=actor.login,
                    decision_text=reasons,
                    granted=total,
                    letter_reference=reference,
                )
            )
            collection_holds.lift_hold(conn, hold_source(request_id), on)
            detail = {
                "granted": total,
                "state": state,
                "entry": entry.idempotency_key if entry else None,
                "letter": reference,
            }
            _case_event(conn, actor, row["case_id"], "decide", state, on, detail, closes=True)
            audit.record(conn, actor, "remission.decide", "remission_request", request_id, detail)
            uow.commit()
    return get_remission(engine, actor, request_id)


def _check_decider(actor: Actor, row: dict) -> None:
    if actor.is_system or Role.ADMINISTRATOR in actor.roles:
        raise Forbidden.single("", "une remise est décidée par une personne nommée", "person_only")
    if row["authority"] == rules.Authority.DIRECTOR.value:
        if Role.DIRECTOR not in actor.roles:
            raise Forbidden.single(
                "", "sous le seuil, la remise est décidée par le directeur", "director_only"
            )
        return
    if Role.APPEALS_BOARD_MEMBER not in actor.roles:
        raise Forbidden.single(
            "",
            "à partir du seuil, la commission de recours amiable décide (CSS R243-20)",
            "appeals_board_only",
        )
    if row["state"] != "proposed":
        raise Conflict.single(
            "request_id",
            "la commission statue sur proposition du directeur : proposition attendue",
            "proposal_missing",
        )


def _decision_entry(conn: Connection, row: dict, lines: list[dict], on: date) -> Entry:
    cid = row["contributor_id"]
    balances = records.receivable_balances(conn, cid)
    postings: list[Posting] = []
    to_credit = 0
    for line in lines:
        amount = line["granted"]
        if amount <= 0:
            continue
        key = (line["fund"], line["item"], line["period"])
        on_key = min(amount, max(balances.get(key, 0), 0))
        postings.append(Posting(LedgerAccount.FUND_REVENUE.value, None, *key, amount))
        if on_key:
            postings.append(Posting(RECEIVABLE, cid, *key, -on_key))
        to_credit += amount - on_key
    if to_credit:
        postings.append(Posting(*credit_key(cid), -to_credit))
    total = sum(x["granted"] for x in lines)
    return Entry(
        f"remission:{row['id']}:decision",
        on,
        Cause.DECISION.value,
        tuple(postings),
        f"Remise de majorations {records.letter_reference(row['id'])} : {format_euros_fr(total)}",
    )


def _case_event(conn, actor, case_id, action, to_state, on, detail, closes=False) -> None:
    if case_id is None:
        return
    state = conn.scalar(select(case_table.c.state).where(case_table.c.id == case_id))
    values: dict = {"state": to_state, "last_event_on": on}
    if closes:
        values.update(closed_on=on, paused_since=None)
    conn.execute(update(case_table).where(case_table.c.id == case_id).values(**values))
    conn.execute(
        insert(case_event).values(
            case_id=case_id,
            action=action,
            actor=actor.login,
            from_state=state,
            to_state=to_state,
            on=on,
            at=datetime.now(UTC),
            note="",
            detail=detail,
        )
    )


# ---------------------------------------------------------------------------------------------
# Reading


def _view(conn: Connection, row: dict) -> dict:
    lines = _lines(conn, row["id"])
    return {
        "id": row["id"],
        "contributor_id": row["contributor_id"],
        "case_id": row["case_id"],
        "state": row["state"],
        "state_label": rules.STATE_LABEL.get(row["state"], row["state"]),
        "requested_on": row["requested_on"].isoformat(),
        "requested_by": row["requested_by"],
        "reason": row["reason"],
        "total": row["total"],
        "authority": row["authority"],
        "authority_label": rules.AUTHORITY_LABEL[rules.Authority(row["authority"])],
        "proposal": row["proposal"],
        "decided_on": row["decided_on"].isoformat() if row["decided_on"] else None,
        "decided_by": row["decided_by"],
        "decision_text": row["decision_text"],
        "granted": row["granted"],
        "letter_reference": row["letter_reference"],
        "lines": [
            {k: x[k] for k in ("fund", "item", "period", "requested", "granted")} for x in lines
        ],
    }


def get_remission(engine: Engine, actor: Actor, request_id: int) -> dict:
    require(actor, Permission.LEDGER_READ)
    with engine.connect() as conn:
        row = _load(conn, request_id)
        who = contributor_row(conn, row["contributor_id"])
        require_contributor(actor, who.id, who.organisation_id)
        return _view(conn, row)


def list_remissions(
    engine: Engine,
    actor: Actor,
    *,
    contributor_id: int | None = None,
    state: str | None = None,
    limit: int = 200,
) -> list[dict]:
    """Requests the actor reaches, newest first (a contributor: their own)."""
    from recouvrement.adapters.db.tables import contributor

    require(actor, Permission.LEDGER_READ)
    r = remission_request
    query = (
        select(r)
        .join(contributor, contributor.c.id == r.c.contributor_id)
        .order_by(r.c.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if contributor_id is not None:
        query = query.where(r.c.contributor_id == contributor_id)
    if state:
        query = query.where(r.c.state == state)
    if actor.is_contributor:
        query = query.where(r.c.contributor_id == actor.contributor_id)
    elif not (actor.is_system or Role.ADMINISTRATOR in actor.roles):
        query = query.where(
            contributor.c.organisation_id.in_(sorted(actor.reachable_organisation_ids))
        )
    with engine.connect() as conn:
        return [_view(conn, dict(x)) for x in conn.execute(query).mappings()]


def letter_content(engine: Engine, actor: Actor, request_id: int) -> tuple[str, bytes]:
    """The decision letter as produced (reference, PDF bytes), for whoever may read the request."""
    from recouvrement.adapters.db.cycle_tables import document
    from recouvrement.services.call_issuing import documents_dir

    view = get_remission(engine, actor, request_id)
    reference = view["letter_reference"]
    if not reference:
        raise NotFound.single(
            "request_id", "pas encore de décision, donc pas de lettre", "no_letter"
        )
    with engine.connect() as conn:
        path = conn.scalar(
            select(document.c.path).where(
                document.c.kind == records.LETTER, document.c.reference == reference
            )
        )
    file = documents_dir() / path if path else None
    if file is None or not file.is_file():
        raise NotFound.single("request_id", f"lettre {reference} introuvable", "no_letter")
    return reference, file.read_bytes()
