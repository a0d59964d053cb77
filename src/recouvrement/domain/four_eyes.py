"""The four-eyes rule: whoever prepares a decision cannot be the one who approves it.

Refunds are checked and disbursed by the accounting officer after the joint organisation prepared
them (ISU agreement art. 4); remissions, write-offs and payment plans are prepared by one agent and
decided by another (director, appeals board). Some acts need two people from two named
organisations, e.g. the referral to the national funds made jointly by both regional directors
(ISU agreement art. 7). This module holds those rules once, for every case type to call.

>>> require_different_people("a.martin", "b.durand")
>>> require_different_people("a.martin", "a.martin")
Traceback (most recent call last):
...
recouvrement.domain.errors.Forbidden: approver: la personne qui a préparé la décision ne peut pas l'approuver (a.martin)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from recouvrement.domain.actors import Actor
from recouvrement.domain.errors import Forbidden, Problem


class Signature(NamedTuple):
    """One person's sign-off on a decision.

    Attributes:
        login: who signed.
        organisation: the code of the organisation they signed for (their home organisation).
        role: the role they signed in (e.g. `director`), or "" when any role will do.
    """

    login: str
    organisation: str
    role: str = ""

    @classmethod
    def of(cls, actor: Actor, role: str = "") -> Signature:
        return cls(actor.login, actor.organisation_code or "", role)


def _login(person: Actor | str) -> str:
    return person.login if isinstance(person, Actor) else person


def require_different_people(preparer: Actor | str, approver: Actor | str) -> None:
    """Refuse self-approval. Logins are compared, so two sessions of one person are one person."""
    who = _login(preparer)
    if who.strip().casefold() == _login(approver).strip().casefold():
        raise Forbidden(
            Problem(
                "approver",
                f"la personne qui a préparé la décision ne peut pas l'approuver ({who})",
                "self_approval",
            )
        )


def joint_signoff_problems(
    signatures: Iterable[Signature], organisations: Iterable[str], role: str = ""
) -> list[Problem]:
    """What a sign-off lacks to be valid: one distinct person for each named organisation.

    Each of `organisations` needs a signature from someone of that organisation (in `role`, if one
    is named); nobody may sign twice, even for two organisations.
    """
    signatures = list(signatures)
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for sig in signatures:
        key = sig.login.strip().casefold()
        if key in seen and seen[key] not in duplicates:
            duplicates.append(seen[key])
        seen.setdefault(key, sig.login)
    for login in duplicates:
        problems.append(
            Problem(
                "signatures",
                f"{login} a signé plusieurs fois : il faut deux personnes distinctes",
                "self_approval",
            )
        )
    for org in organisations:
        signed = [s for s in signatures if s.organisation == org and (not role or s.role == role)]
        if not signed:
            who = f"d'un {role}" if role else "d'une personne"
            problems.append(
                Problem(
                    "signatures",
                    f"signature {who} de l'organisme {org} manquante",
                    "missing_signature",
                )
            )
    return problems


def require_joint_signoff(
    signatures: Iterable[Signature], organisations: Iterable[str], role: str = ""
) -> None:
    problems = joint_signoff_problems(signatures, organisations, role)
    if problems:
        raise Forbidden(*problems)
