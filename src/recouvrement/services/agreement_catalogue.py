"""The agreements as agents read them: who runs each activity and where each setting comes from.

Agreements are public texts, but the resolved view (deadlines, bank annexes, recipients) is
working material of the organisations: agents read it, contributors do not.
"""

from __future__ import annotations

from datetime import date

from recouvrement.agreements.loader import AgreementError, shipped_agreements
from recouvrement.agreements.model import ResolvedSetting
from recouvrement.domain.actors import Actor
from recouvrement.domain.errors import DomainError, Forbidden, NotFound, Problem


def _require_agent(actor: Actor) -> None:
    if actor.is_contributor:
        raise Forbidden(Problem("", "conventions réservées aux agents", "forbidden"))


def list_agreements(actor: Actor) -> list[dict]:
    _require_agent(actor)
    return [
        {
            "code": a.code,
            "title": a.title,
            "kind": a.kind,
            "amends": a.amends,
            "valid_from": a.valid_from.isoformat(),
            "valid_to": a.valid_to.isoformat() if a.valid_to else None,
            "parties": [p.organisation for p in a.parties],
        }
        for _, a in sorted(shipped_agreements().agreements.items())
    ]


def _setting(s: ResolvedSetting) -> dict:
    out = {"value": s.value, "source": s.source, "origin": s.origin}
    if s.overrides is not None:
        out["overrides"] = {"value": s.overrides.value, "origin": s.overrides.origin}
    return out


def show_agreement(actor: Actor, code: str, on: date | None = None) -> dict:
    """The agreement resolved on `on` (default: its first day), the amendment prevailing."""
    _require_agent(actor)
    registry = shipped_agreements()
    if code not in registry.agreements:
        raise NotFound.single("code", f"convention inconnue : {code!r}", "not_found")
    try:
        resolved = registry.resolve(code, on)
    except AgreementError as err:
        raise DomainError.single("on", str(err), "not_in_force") from None
    a = resolved.agreement
    return {
        "code": a.code,
        "title": a.title,
        "kind": a.kind,
        "on": resolved.on.isoformat(),
        "chain": [c.code for c in resolved.chain],
        "parties": [
            {"organisation": p.organisation, "role": p.role, "name": p.name} for p in a.parties
        ],
        "activities": [
            {
                "code": act.code,
                "label": act.label,
                "run_by": act.run_by,
                "role": act.role,
                "article": act.article,
                "origin": origin,
                "commitment_business_days": (
                    act.commitment.deadline_business_days if act.commitment else None
                ),
            }
            for act, origin in resolved.activities.values()
        ],
        "settings": {key: _setting(s) for key, s in sorted(resolved.settings.items())},
        "annexes": {name: origin for name, (_content, origin) in resolved.annexes.items()},
    }
