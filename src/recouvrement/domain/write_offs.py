"""Write-offs (admission en non-valeur): grounds, their conditions and who approves.

An admission en non-valeur is an accounting decision, not a remission: the debt stays owed
(CSS L243-3), so a later payment still pays it (services/write_offs.py reinstates it first). The
grounds are those of CSS D243-2: the debtor's insolvency or disappearance, death without assets,
a judicial liquidation closed for insufficient assets, and (since décret 2020-852) small claims;
`prescribed` is the limitation's own case: a debt that can no longer be pursued (L244-3) leaves
the receivables the same way. Who decides is dated data (`rules/parameters/write_offs.yaml`): the
director alone below a threshold, with the accounting officer (directeur comptable et financier)
above it; since 5 July 2020 always both (D243-2).

Everything here is pure: amounts, dates and parameter values are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import NamedTuple

from recouvrement.domain.actors import Role
from recouvrement.domain.allocation import CREDIT_ITEM
from recouvrement.domain.errors import DomainError, Forbidden, Problem


class Grounds(StrEnum):
    INSOLVENCY = "insolvency"
    CLOSED_LIQUIDATION = "closed_liquidation"
    DEATH = "death"
    DISAPPEARANCE = "disappearance"
    SMALL_BALANCE = "small_balance"
    PRESCRIBED = "prescribed"


GROUNDS_LABEL = {
    Grounds.INSOLVENCY: "insolvabilité du débiteur",
    Grounds.CLOSED_LIQUIDATION: "liquidation judiciaire clôturée pour insuffisance d'actif",
    Grounds.DEATH: "décès du débiteur sans actif",
    Grounds.DISAPPEARANCE: "disparition du débiteur",
    Grounds.SMALL_BALANCE: "créance de faible montant",
    Grounds.PRESCRIBED: "créance prescrite",
}

# D243-2: insolvency and disappearance need the debt to have been due for a while; a death or a
# closed liquidation is a fact that ends collection at once; a prescribed debt is past pursuit.
_WAITING_GROUNDS = frozenset({Grounds.INSOLVENCY, Grounds.DISAPPEARANCE})

STATE_LABEL = {
    "proposed": "proposée",
    "approved": "approuvée et comptabilisée",
    "rejected": "rejetée",
}


class WriteOffKey(NamedTuple):
    """One debt of the proposal: a receivable key and the amount proposed (its balance)."""

    fund: str
    item: str
    period: str
    amount: int


def parse_grounds(value: str) -> Grounds:
    try:
        return Grounds(value)
    except ValueError:
        known = ", ".join(g.value for g in Grounds)
        raise DomainError.single(
            "grounds", f"motif d'admission en non-valeur inconnu : {value!r} (connus : {known})"
        ) from None


def parse_keys(raw: Iterable[object]) -> list[tuple[str, str, str]]:
    """(fund, item, period) triples, each once; a credit key is money owed back, not a debt."""
    out: list[tuple[str, str, str]] = []
    problems: list[Problem] = []
    for i, key in enumerate(raw):
        if isinstance(key, Mapping):
            key = (key.get("fund"), key.get("item"), key.get("period"))
        if (
            not isinstance(key, list | tuple)
            or len(key) != 3
            or not all(isinstance(part, str) for part in key)
        ):
            problems.append(Problem(f"keys[{i}]", "clé attendue : (caisse, rubrique, période)"))
            continue
        triple = (key[0], key[1], key[2])
        if triple[1] == CREDIT_ITEM:
            problems.append(Problem(f"keys[{i}]", "un crédit n'est pas une créance", "credit_key"))
        elif triple in out:
            problems.append(Problem(f"keys[{i}]", "clé en double", "duplicate_key"))
        else:
            out.append(triple)
    if not out and not problems:
        problems.append(Problem("keys", "au moins une créance à admettre en non-valeur", "empty"))
    if problems:
        raise DomainError(*problems)
    return out


def small_balance_ceiling(rate: Decimal | None, monthly_ceiling: int) -> int | None:
    """The largest small claim in cents (rounded down: the ceiling must not be exceeded), or None
    when the grounds did not exist on the date."""
    if rate is None:
        return None
    return int((rate * monthly_ceiling).to_integral_value(rounding=ROUND_DOWN))


def grounds_problems(
    grounds: Grounds,
    keys: list[WriteOffKey],
    due_dates: Mapping[tuple[str, str, str], date],
    on: date,
    *,
    minimum_months_after_due: int,
    small_ceiling: int | None,
    small_months_after_notice: int,
) -> list[Problem]:
    """Why the grounds do not allow writing these debts off on `on` (empty: they do)."""
    problems: list[Problem] = []
    for i, key in enumerate(keys):
        if key.amount <= 0:
            problems.append(
                Problem(
                    f"keys[{i}]",
                    f"aucune créance ouverte sur {key.fund}/{key.item}/{key.period}",
                    "no_debt",
                )
            )
    waiting = {
        Grounds.INSOLVENCY: minimum_months_after_due,
        Grounds.DISAPPEARANCE: minimum_months_after_due,
        Grounds.SMALL_BALANCE: small_months_after_notice,
    }.get(grounds)
    if waiting is not None:
        for i, key in enumerate(keys):
            due = due_dates.get((key.fund, key.item, key.period))
            if due is not None and add_months(due, waiting) > on:
                problems.append(
                    Problem(
                        f"keys[{i}]",
                        f"{key.fund}/{key.item}/{key.period} : exigible le {due:%d/%m/%Y}, "
                        f"admission en non-valeur ({GROUNDS_LABEL[grounds]}) possible "
                        f"{waiting} mois après, soit le {add_months(due, waiting):%d/%m/%Y} "
                        "(CSS D243-2)",
                        "too_early",
                    )
                )
    if grounds is Grounds.SMALL_BALANCE:
        total = sum(k.amount for k in keys)
        if small_ceiling is None:
            problems.append(
                Problem(
                    "grounds",
                    f"le motif « petite créance » n'existe pas le {on:%d/%m/%Y} (CSS D243-2)",
                    "grounds_not_in_force",
                )
            )
        elif total >= small_ceiling:
            problems.append(
                Problem(
                    "keys",
                    f"total {total} centimes : une petite créance est inférieure à "
                    f"{small_ceiling} centimes (CSS D243-2)",
                    "not_small",
                )
            )
    return problems


def add_months(day: date, months: int) -> date:
    """The same day `months` later, the month's last day when it has fewer days."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def approving_roles(total: int, joint_threshold: int) -> frozenset[Role]:
    """The roles whose approval the write-off needs: the director, and the accounting officer
    from the threshold on (D243-2 since 2020: always both, threshold 0)."""
    if total >= joint_threshold:
        return frozenset({Role.DIRECTOR, Role.ACCOUNTING_OFFICER})
    return frozenset({Role.DIRECTOR})


def approval_role(
    actor_login: str,
    actor_roles: frozenset[Role],
    needed: frozenset[Role],
    approvals: list[Mapping[str, str]],
    proposed_by: str,
) -> Role:
    """The role in which the actor approves now: one still missing that they hold. The proposer
    never approves their own proposal, and one person fills one role (four eyes)."""
    if actor_login == proposed_by:
        raise Forbidden.single(
            "", "l'auteur de la proposition ne peut pas l'approuver", "four_eyes"
        )
    if any(a["login"] == actor_login for a in approvals):
        raise Forbidden.single(
            "", f"{actor_login} a déjà approuvé cette admission en non-valeur", "four_eyes"
        )
    done = {a["role"] for a in approvals}
    for role in (Role.DIRECTOR, Role.ACCOUNTING_OFFICER):
        if role in needed and role.value not in done and role in actor_roles:
            return role
    wanted = " et ".join(_ROLE_LABEL[r] for r in sorted(needed) if r.value not in done)
    raise Forbidden.single(
        "",
        f"approbation attendue de : {wanted or 'personne (déjà complète)'}",
        "approver_role",
    )


_ROLE_LABEL = {
    Role.DIRECTOR: "le directeur",
    Role.ACCOUNTING_OFFICER: "le directeur comptable et financier",
}


def is_complete(needed: frozenset[Role], approvals: list[Mapping[str, str]]) -> bool:
    return {r.value for r in needed} <= {a["role"] for a in approvals}
