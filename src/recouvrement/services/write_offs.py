"""Write-offs (admission en non-valeur): proposal, approval and posting, recovery, yearly report.

A proposal names receivable keys of one contributor and grounds of CSS D243-2 (or `prescribed`,
which the limitation proposes itself); the amount of each key is its balance on the day. It opens a
`write_off` case (activity `write_offs` of the ISU agreement, art. 4) for the roles that approve:
the director alone below the dated threshold, with the accounting officer above it (since décret
2020-852, always both). The last approval posts, per key, debit `write_off` / credit `receivable`
(cause `write_off`, key `write_off:<id>:<fund>:<item>:<period>`), once.

The debt remains owed (CSS L243-3 makes the write-off an accounting decision): money that reaches a
written-off debt later is handled by services/write_off_recovery.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from recouvrement.adapters.db.remission_tables import write_off, write_off_line
from recouvrement.domain import write_offs as rules
from recouvrement.domain.actors import (
    Actor,
    Permission,
    Role,
    require,
    require_contributor,
    system_actor,
)
from recouvrement.domain.errors import Conflict, DomainError, NotFound
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.money import format_euros_fr
from recouvrement.rules.parameters import ParameterError, load_parameters
from recouvrement.services import audit, cases
from recouvrement.services.allocation import open_debts
from recouvrement.services.ledger import post_entries
from recouvrement.services.refund_credits import contributor_row
from recouvrement.services.unit_of_work import UnitOfWork

RECEIVABLE = LedgerAccount.RECEIVABLE.value


def _rules_on(on: date, territory: str) -> dict:
    params = load_parameters()
    try:
        rate = params.value("write_offs.small_balance_rate", on, territory)
        ceiling = params.value("social_security_ceiling.monthly", on, territory)
        return {
            "joint_threshold": params.value("write_offs.joint_approval_threshold", on, territory),
            "minimum_months_after_due": params.value(
                "write_offs.minimum_months_after_due", on, territory
            ),
            "small_ceiling": rules.small_balance_ceiling(rate, ceiling),
            "small_months_after_notice": params.value(
                "write_offs.small_balance_months_after_notice", on, territory
            ),
        }
    except ParameterError as err:
        raise DomainError.single("on", str(err), "no_rule") from None


def _pending_keys(conn: Connection, contributor_id: int) -> set[tuple[str, str, str]]:
    rows = conn.execute(
        select(write_off_line.c.fund, write_off_line.c.item, write_off_line.c.period)
        .join(write_off, write_off.c.id == write_off_line.c.write_off_id)
        .where(write_off_line.c.contributor_id == contributor_id, write_off.c.state == "proposed")
    )
    return {tuple(r) for r in rows}


def propose_write_off(
    conn: Connection,
    actor: Actor,
    contributor_id: int,
    keys: Iterable[object],
    grounds: str,
    on: date,
    source: str,
) -> int:
    """Propose writing off the keys' balances on `on`; returns the write-off's id.

    Inside the caller's transaction. `source` names the cause (`limitation:…`, `agent:<login>:…`):
    proposing again with the same source returns the same write-off, so a daily step may call it
    every day. A key already in a pending proposal is refused."""
    require(actor, Permission.WRITE_OFFS_PROPOSE)
    who = contributor_row(conn, contributor_id)
    require_contributor(actor, contributor_id, who.organisation_id)
    source = (source or "").strip()
    if not source or len(source) > 128:
        raise DomainError.single("source", "origine de la proposition attendue (128 caractères)")
    existing = conn.execute(
        select(write_off.c.id, write_off.c.contributor_id).where(write_off.c.source == source)
    ).first()
    if existing is not None:
        if existing.contributor_id != contributor_id:
            raise Conflict.single(
                "source", f"origine {source!r} déjà utilisée pour un autre cotisant", "source_used"
            )
        return existing.id
    ground = rules.parse_grounds(grounds)
    triples = rules.parse_keys(keys)
    debts = {(d.fund, d.item, d.period): d for d in open_debts(conn, contributor_id)}
    lines = [
        rules.WriteOffKey(f, i, p, debts[(f, i, p)].amount if (f, i, p) in debts else 0)
        for f, i, p in triples
    ]
    pending = _pending_keys(conn, contributor_id) & set(triples)
    if pending:
        listed = ", ".join("/".join(k) for k in sorted(pending))
        raise Conflict.single(
            "keys", f"déjà proposé en non-valeur et en attente : {listed}", "already_proposed"
        )
    params = _rules_on(on, who.territory or "default")
    problems = rules.grounds_problems(
        ground,
        lines,
        {k: d.due_date for k, d in debts.items()},
        on,
        minimum_months_after_due=params["minimum_months_after_due"],
        small_ceiling=params["small_ceiling"],
        small_months_after_notice=params["small_months_after_notice"],
    )
    if problems:
        raise DomainError(*problems)
    total = sum(k.amount for k in lines)
    needed = rules.approving_roles(total, params["joint_threshold"])
    write_off_id = conn.execute(
        insert(write_off).values(
            contributor_id=contributor_id,
            grounds=ground.value,
            source=source,
            state="proposed",
            proposed_on=on,
            proposed_by=actor.login,
            total=total,
            needed_roles=sorted(r.value for r in needed),
            approvals=[],
            written_off=0,
            reason="",
            created_at=datetime.now(UTC),
        )
    ).inserted_primary_key[0]
    conn.execute(
        insert(write_off_line),
        [
            {
                "write_off_id": write_off_id,
                "contributor_id": contributor_id,
                "fund": k.fund,
                "item": k.item,
                "period": k.period,
                "proposed": k.amount,
                "written_off": 0,
                "recovered": 0,
            }
            for k in lines
        ],
    )
    case_id = None
    if _agreement_in_force(on):
        case_id = cases.open_case_in(
            conn,
            actor,
            "write_off",
            on=on,
            payload={
                "write_off_id": write_off_id,
                "grounds": ground.value,
                "total": total,
                "source": source,
            },
            contributor_id=contributor_id,
        )
        conn.execute(
            update(write_off).where(write_off.c.id == write_off_id).values(case_id=case_id)
        )
    audit.record(
        conn,
        actor,
        "write_off.propose",
        "write_off",
        write_off_id,
        {
            "contributor_id": contributor_id,
            "grounds": ground.value,
            "total": total,
            "source": source,
            "case_id": case_id,
            "needed_roles": sorted(r.value for r in needed),
        },
    )
    return write_off_id


def _agreement_in_force(on: date) -> bool:
    """The `write_off` case belongs to the ISU agreement's activity; outside its span (the
    agreement ended with the RSI) the write-off is worked from its own record only."""
    try:
        cases.resolve_agreement(cases.DEFAULT_AGREEMENT, on)
    except DomainError:
        return False
    return True


def propose(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    keys: Iterable[object],
    grounds: str,
    *,
    on: date,
    reason: str = "",
) -> dict:
    """An agent's proposal, in its own transaction (API and command line)."""
    keys = list(keys)
    with (
        cases.refusals_audited(engine, actor, "write_off.propose", contributor_id),
        UnitOfWork(engine) as uow,
    ):
        require(actor, Permission.WRITE_OFFS_PROPOSE)
        source = f"agent:{actor.login}:{contributor_id}:{on.isoformat()}:{_digest(keys)}"
        write_off_id = propose_write_off(uow.conn, actor, contributor_id, keys, grounds, on, source)
        if reason.strip():
            uow.conn.execute(
                update(write_off)
                .where(write_off.c.id == write_off_id)
                .values(reason=reason.strip()[:2000])
            )
        uow.commit()
    return get_write_off(engine, actor, write_off_id)


def _digest(keys: Iterable[object]) -> str:
    import hashlib

    text = repr(sorted(rules.parse_keys(keys)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Approval and posting


def _load(conn: Connection, write_off_id: int, for_update: bool = False):
    query = select(write_off).where(write_off.c.id == write_off_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound.single(
            "write_off_id", f"admission en non-valeur {write_off_id} inconnue", "not_found"
        )
    return row


def _case_closed(conn: Connection, case_id: int | None) -> bool:
    from recouvrement.adapters.db.tables import case_table

    if case_id is None:
        return False
    return conn.scalar(select(case_table.c.closed_on).where(case_table.c.id == case_id)) is not None


def _prepare(conn: Connection, actor: Actor, write_off_id: int, action: str):
    row = _load(conn, write_off_id, for_update=True)
    who = contributor_row(conn, row["contributor_id"])
    require_contributor(actor, who.id, who.organisation_id)
    if row["state"] != "proposed" or _case_closed(conn, row["case_id"]):
        state = rules.STATE_LABEL.get(row["state"], row["state"])
        if row["state"] == "proposed":
            state = "retirée"
        raise Conflict.single(
            "write_off_id",
            f"impossible de {action} l'admission en non-valeur {write_off_id} : elle est {state}",
            "wrong_state",
        )
    return row, who


def _lines(conn: Connection, write_off_id: int) -> list[dict]:
    rows = conn.execute(
        select(write_off_line)
        .where(write_off_line.c.write_off_id == write_off_id)
        .order_by(write_off_line.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def approve_write_off(
    engine: Engine, actor: Actor, write_off_id: int, *, on: date, note: str = ""
) -> dict:
    """The director or the accounting officer approves; the last approval the amount needs posts
    the write-off of what is still owed on each key (a key paid in the meantime is skipped)."""
    with cases.refusals_audited(engine, actor, "write_off.approve", write_off_id):
        require(actor, Permission.WRITE_OFFS_APPROVE)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, _who = _prepare(conn, actor, write_off_id, "approuver")
            if on < row["proposed_on"]:
                raise DomainError.single(
                    "on", f"date antérieure à la proposition ({row['proposed_on']})", "too_early"
                )
            needed = frozenset(Role(r) for r in row["needed_roles"])
            approvals = list(row["approvals"] or [])
            role = rules.approval_role(
                actor.login, actor.roles, needed, approvals, row["proposed_by"]
            )
            approvals.append({"role": role.value, "login": actor.login, "on": on.isoformat()})
            values: dict = {"approvals": approvals}
            detail: dict = {"role": role.value, "note": note[:500]}
            if rules.is_complete(needed, approvals):
                posted = _post(conn, actor, row, on)
                values.update(state="approved", decided_on=on, written_off=posted)
                detail["written_off"] = posted
                _close_case(conn, actor, row["case_id"], "approved", on, detail)
            conn.execute(update(write_off).where(write_off.c.id == write_off_id).values(**values))
            audit.record(conn, actor, "write_off.approve", "write_off", write_off_id, detail)
            uow.commit()
    return get_write_off(engine, actor, write_off_id)


def _post(conn: Connection, actor: Actor, row, on: date) -> int:
    owed = {(d.fund, d.item, d.period): d.amount for d in open_debts(conn, row["contributor_id"])}
    entries: list[Entry] = []
    total = 0
    for line in _lines(conn, row["id"]):
        key = (line["fund"], line["item"], line["period"])
        amount = min(line["proposed"], max(owed.get(key, 0), 0))
        if amount <= 0:
            continue
        entries.append(
            Entry(
                f"write_off:{row['id']}:{':'.join(key)}",
                on,
                Cause.WRITE_OFF,
                (
                    Posting(LedgerAccount.WRITE_OFF, row["contributor_id"], *key, amount),
                    Posting(RECEIVABLE, row["contributor_id"], *key, -amount),
                ),
                f"Admission en non-valeur {row['id']} "
                f"({rules.GROUNDS_LABEL[rules.Grounds(row['grounds'])]})",
            )
        )
        conn.execute(
            update(write_off_line)
            .where(write_off_line.c.id == line["id"])
            .values(written_off=amount)
        )
        total += amount
    if not entries:
        raise Conflict.single(
            "write_off_id",
            f"plus rien à admettre en non-valeur : les créances de l'admission {row['id']} "
            "ont été payées",
            "nothing_owed",
        )
    post_entries(conn, system_actor(f"write_offs:{actor.login}"), entries)
    return total


def _close_case(conn: Connection, actor: Actor, case_id, to_state: str, on: date, detail) -> None:
    from recouvrement.adapters.db.tables import case_event, case_table

    if case_id is None:
        return
    state = conn.scalar(select(case_table.c.state).where(case_table.c.id == case_id))
    conn.execute(
        update(case_table)
        .where(case_table.c.id == case_id)
        .values(state=to_state, last_event_on=on, closed_on=on, paused_since=None)
    )
    conn.execute(
        insert(case_event).values(
            case_id=case_id,
            action="approve" if to_state == "approved" else "reject",
            actor=actor.login,
            from_state=state,
            to_state=to_state,
            on=on,
            at=datetime.now(UTC),
            note="",
            detail=detail,
        )
    )


def reject_write_off(
    engine: Engine, actor: Actor, write_off_id: int, *, on: date, reason: str
) -> dict:
    """An approving role refuses the proposal, with its reason; nothing is posted."""
    with cases.refusals_audited(engine, actor, "write_off.reject", write_off_id):
        require(actor, Permission.WRITE_OFFS_APPROVE)
        if not reason.strip():
            raise DomainError.single("reason", "motif du rejet obligatoire", "required")
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, _who = _prepare(conn, actor, write_off_id, "rejeter")
            if not actor.roles & {Role.DIRECTOR, Role.ACCOUNTING_OFFICER} and not actor.is_system:
                raise DomainError.single("", "rejet réservé aux rôles qui approuvent", "role")
            detail = {"reason": reason.strip()[:2000]}
            conn.execute(
                update(write_off)
                .where(write_off.c.id == write_off_id)
                .values(state="rejected", decided_on=on, reason=reason.strip()[:2000])
            )
            _close_case(conn, actor, row["case_id"], "rejected", on, detail)
            audit.record(conn, actor, "write_off.reject", "write_off", write_off_id, detail)
            uow.commit()
    return get_write_off(engine, actor, write_off_id)


# ---------------------------------------------------------------------------------------------
# Reading


def write_off_view(conn: Connection, row) -> dict:
    lines = _lines(conn, row["id"])
    return {
        "id": row["id"],
        "contributor_id": row["contributor_id"],
        "case_id": row["case_id"],
        "grounds": row["grounds"],
        "grounds_label": rules.GROUNDS_LABEL[rules.Grounds(row["grounds"])],
        "source": row["source"],
        "state": row["state"],
        "state_label": rules.STATE_LABEL.get(row["state"], row["state"]),
        "proposed_on": row["proposed_on"].isoformat(),
        "proposed_by": row["proposed_by"],
        "total": row["total"],
        "total_label": format_euros_fr(row["total"]),
        "needed_roles": list(row["needed_roles"]),
        "approvals": list(row["approvals"] or []),
        "decided_on": row["decided_on"].isoformat() if row["decided_on"] else None,
        "written_off": row["written_off"],
        "reason": row["reason"],
        "lines": [
            {
                "fund": x["fund"],
                "item": x["item"],
                "period": x["period"],
                "proposed": x["proposed"],
                "written_off": x["written_off"],
                "recovered": x["recovered"],
            }
            for x in lines
        ],
    }


def get_write_off(engine: Engine, actor: Actor, write_off_id: int) -> dict:
    require(actor, Permission.LEDGER_READ)
    with engine.connect() as conn:
        row = _load(conn, write_off_id)
        who = contributor_row(conn, row["contributor_id"])
        require_contributor(actor, who.id, who.organisation_id)
        return write_off_view(conn, row)


def list_write_offs(
    engine: Engine,
    actor: Actor,
    *,
    contributor_id: int | None = None,
    state: str | None = None,
    limit: int = 200,
) -> list[dict]:
    """Write-offs the actor reaches, newest first."""
    from recouvrement.adapters.db.tables import contributor

    require(actor, Permission.LEDGER_READ)
    query = (
        select(write_off, contributor.c.organisation_id)
        .join(contributor, contributor.c.id == write_off.c.contributor_id)
        .order_by(write_off.c.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if contributor_id is not None:
        query = query.where(write_off.c.contributor_id == contributor_id)
    if state:
        query = query.where(write_off.c.state == state)
    if actor.is_contributor:
        query = query.where(write_off.c.contributor_id == actor.contributor_id)
    elif not (actor.is_system or Role.ADMINISTRATOR in actor.roles):
        query = query.where(
            contributor.c.organisation_id.in_(sorted(actor.reachable_organisation_ids))
        )
    with engine.connect() as conn:
        return [write_off_view(conn, r) for r in conn.execute(query).mappings()]
