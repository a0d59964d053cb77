"""Reading a contributor's collection file: the ladder in force, the steps reached and their letters.

A contributor sees their own letters (the relances, the mise en demeure and the contrainte are
addressed to them) and nothing else of collection: not the debtor lists, the scores, the phone
log or the hand-over to the commissaire de justice. Agents read within their reach. A letter is
served from the documents directory as stored, its SHA-256 checked against the `document` row.
"""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import Engine, select

from recouvrement.adapters.db.collection_tables import collection_step
from recouvrement.adapters.db.cycle_tables import document
from recouvrement.adapters.db.tables import contributor
from recouvrement.domain.actors import Actor, Permission, require, require_contributor
from recouvrement.domain.errors import Conflict, Forbidden, NotFound
from recouvrement.services import audit
from recouvrement.services.call_issuing import documents_dir
from recouvrement.services.collection_holds import holds_of
from recouvrement.services.escalation import load_rules

LETTER_KINDS = ("reminder", "final_notice", "formal_notice", "enforcement_order")


def ladder_in_force(actor: Actor, on: date) -> dict[str, list[dict]]:
    """The steps of each scheme's ladder in force on `on`, with delays, conditions and sources."""
    require(actor, Permission.COLLECTION_READ)
    rules = load_rules()
    out: dict[str, list[dict]] = {}
    for scheme in sorted(rules.ladders):
        ladder = rules.ladder(scheme, on)
        out[scheme] = [
            {
                "rank": s.rank,
                "step": s.code,
                "after": s.after,
                "days": s.delay.days,
                "months": s.delay.months,
                "pay_within_days": s.pay_within.days if s.pay_within else None,
                "pay_within_months": s.pay_within.months if s.pay_within else None,
                "min_amount": s.min_amount,
                "letter": s.letter,
                "interrupts": s.interrupts,
                "source": s.source,
            }
            for s in ladder.steps
        ]
    return out


def _reach(engine: Engine, actor: Actor, contributor_id: int, action: str) -> None:
    with engine.connect() as conn:
        org = conn.scalar(
            select(contributor.c.organisation_id).where(contributor.c.id == contributor_id)
        )
    if org is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    try:
        require_contributor(actor, contributor_id, org)
    except Forbidden as err:
        audit.record_refusal(engine, actor, action, "contributor", contributor_id, str(err))
        audit.mark_recorded(err)
        raise


def collection_file(engine: Engine, actor: Actor, contributor_id: int) -> dict:
    """The steps each period of the contributor reached, with their letters; for an agent also
    the holds (a contributor gets their letters only)."""
    require(actor, Permission.CALLS_READ)
    _reach(engine, actor, contributor_id, "collection.file")
    s = collection_step
    with engine.connect() as conn:
        rows = conn.execute(
            select(s, document.c.kind.label("document_kind"))
            .outerjoin(document, document.c.id == s.c.document_id)
            .where(s.c.contributor_id == contributor_id)
            .order_by(s.c.period, s.c.rank)
        ).all()
        holds = [] if actor.is_contributor else holds_of(conn, contributor_id)
    steps = [
        {
            "period": r.period,
            "step": r.step,
            "reached_on": r.reached_on.isoformat(),
            "pay_by": r.pay_by.isoformat() if r.pay_by else None,
            "amount": int(r.amount),
            "reference": r.reference,
            "document_id": r.document_id,
        }
        for r in rows
        if not actor.is_contributor or r.step in LETTER_KINDS
    ]
    out: dict = {"contributor_id": contributor_id, "steps": steps}
    if not actor.is_contributor:
        out["holds"] = [
            {
                "id": h["id"],
                "kind": h["kind"],
                "source": h["source"],
                "period": h["period"],
                "placed_on": h["placed_on"].isoformat(),
                "until": h["until"].isoformat() if h["until"] else None,
                "lifted_on": h["lifted_on"].isoformat() if h["lifted_on"] else None,
            }
            for h in holds
        ]
    return out


def letter(engine: Engine, actor: Actor, document_id: int) -> tuple[str, bytes]:
    """A letter of the ladder as stored (file name, PDF bytes)."""
    require(actor, Permission.CALLS_READ)
    with engine.connect() as conn:
        row = conn.execute(
            select(document).where(document.c.id == document_id, document.c.kind.in_(LETTER_KINDS))
        ).first()
    if row is None:
        raise NotFound.single("document_id", f"courrier {document_id} inconnu", "not_found")
    _reach(engine, actor, int(row.contributor_id), "collection.letter")
    content = (documents_dir() / row.path).read_bytes()
    if hashlib.sha256(content).hexdigest() != row.sha256:
        raise Conflict.single("document_id", "le fichier du courrier a été modifié", "tampered")
    return f"{row.kind}-{row.reference}.pdf", content
