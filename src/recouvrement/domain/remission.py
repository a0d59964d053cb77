"""Remission of late surcharges (remise des majorations de retard): who may ask, what, who decides.

CSS R243-20: a request is admissible only once all the contributions that bore the surcharges are
paid; the initial surcharge may always be remitted, the additional one only if the contributions
were paid within thirty days of their due date or after an event « irrésistible et extérieur »
(force majeure); the director decides below a threshold, the appeals board (commission de recours
amiable) from it, on the director's proposal; both decisions are reasoned. CSS R243-19-1: the
director remits automatically, without a request, when the contributor had no other incident in
the previous 24 months, paid and declared within the month after the due date, and the surcharges
stay under a share of the monthly social-security ceiling.

Pure: balances, dates and parameter values are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import NamedTuple

from recouvrement.domain.allocation import item_kind
from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.surcharges import ADDITIONAL_ITEM
from recouvrement.domain.write_offs import add_months


class Authority(StrEnum):
    DIRECTOR = "director"
    APPEALS_BOARD = "appeals_board"


AUTHORITY_LABEL = {
    Authority.DIRECTOR: "le directeur",
    Authority.APPEALS_BOARD: "la commission de recours amiable",
}

STATE_LABEL = {
    "pending": "en cours d'examen",
    "proposed": "proposée à la commission de recours amiable",
    "granted": "accordée",
    "partially_granted": "accordée en partie",
    "refused": "refusée",
    "withdrawn": "retirée",
}


class Line(NamedTuple):
    """One surcharge key of a request, with the amount asked (its balance on the request day)."""

    fund: str
    item: str
    period: str
    requested: int


def remissible(item: str, items_text: str) -> bool:
    """Whether R243-20 lets this item be remitted, from the dated list (`penalty_*` = penalties)."""
    for code in (c.strip() for c in items_text.split(",")):
        if code == item or (code.endswith("*") and item.startswith(code[:-1])):
            return True
    return False


def admissibility_problems(
    lines: list[Line],
    *,
    principal_unpaid: Mapping[tuple[str, str], int],
    due_dates: Mapping[str, date],
    paid_dates: Mapping[tuple[str, str], date | None],
    remissible_items: str,
    additional_days: int | None,
    force_majeure: bool,
) -> list[Problem]:
    """Why the request cannot be received (empty: it can).

    `principal_unpaid` and `paid_dates` are by (fund, period): the contributions still owed and the
    day they were fully paid; `due_dates` by period; `additional_days` None: the rule of the due
    date is not known (refused by name rather than guessed)."""
    problems: list[Problem] = []
    if not lines:
        return [Problem("keys", "aucune majoration à remettre sur ces clés", "empty")]
    for i, line in enumerate(lines):
        where = f"keys[{i}]"
        label = f"{line.fund}/{line.item}/{line.period}"
        if item_kind(line.item) not in ("surcharge", "penalty") or not remissible(
            line.item, remissible_items
        ):
            problems.append(
                Problem(where, f"{label} : rubrique non remissible (CSS R243-20)", "not_remissible")
            )
            continue
        if line.requested <= 0:
            problems.append(Problem(where, f"{label} : aucune majoration due", "no_surcharge"))
            continue
        unpaid = principal_unpaid.get((line.fund, line.period), 0)
        if unpaid > 0:
            problems.append(
                Problem(
                    where,
                    f"{label} : demande irrecevable tant que les cotisations de la période ne "
                    f"sont pas entièrement payées (reste {unpaid} centimes, CSS R243-20)",
                    "principal_unpaid",
                )
            )
            continue
        if line.item == ADDITIONAL_ITEM and not force_majeure:
            due = due_dates.get(line.period)
            paid = paid_dates.get((line.fund, line.period))
            if additional_days is None:
                problems.append(
                    Problem(
                        where,
                        f"{label} : règle de remise de la majoration complémentaire non reprise "
                        "pour cette échéance",
                        "no_rule",
                    )
                )
            elif due is not None and paid is not None and paid > due + timedelta(additional_days):
                problems.append(
                    Problem(
                        where,
                        f"{label} : la majoration complémentaire ne peut être remise que si les "
                        f"cotisations ont été payées dans les {additional_days} jours suivant "
                        f"l'échéance du {due:%d/%m/%Y} (payées le {paid:%d/%m/%Y}), sauf "
                        "événement irrésistible et extérieur (CSS R243-20)",
                        "paid_too_late",
                    )
                )
    return problems


def authority_for(total: int, director_threshold: int) -> Authority:
    """R243-20: the director below the threshold, the appeals board from it."""
    return Authority.DIRECTOR if total < director_threshold else Authority.APPEALS_BOARD


def spread_granted(lines: list[Line], granted: int | None) -> list[int]:
    """The amount remitted on each line: everything when `granted` is None, else `granted` spread
    over the lines in their order (a partial remission keeps the later lines due)."""
    total = sum(line.requested for line in lines)
    if granted is None:
        return [line.requested for line in lines]
    if type(granted) is not int or granted < 0 or granted > total:
        raise DomainError.single(
            "granted",
            f"montant accordé invalide : {granted!r} (entre 0 et {total} centimes)",
            "bad_amount",
        )
    out = []
    left = granted
    for line in lines:
        take = min(left, line.requested)
        out.append(take)
        left -= take
    return out


def decision_state(granted: int, total: int) -> str:
    if granted <= 0:
        return "refused"
    return "granted" if granted >= total else "partially_granted"


def automatic_ceiling(share: Decimal, monthly_ceiling: int) -> int:
    """The largest remitted total plus one cent: surcharges must be below it (R243-19-1)."""
    return int((share * monthly_ceiling).to_integral_value(rounding=ROUND_DOWN))


def automatic_remission_applies(
    *,
    due: date,
    surcharges_total: int,
    ceiling: int,
    principal_paid_on: date | None,
    declared_on: date | None,
    payment_months: int,
    incidents_before: Iterable[date],
    clean_months: int,
) -> bool:
    """R243-19-1 for one due date: paid and declared within the month, no incident in the
    `clean_months` before the due date, surcharges under the ceiling."""
    if surcharges_total <= 0 or surcharges_total >= ceiling:
        return False
    limit = add_months(due, payment_months)
    if principal_paid_on is None or principal_paid_on > limit:
        return False
    if declared_on is not None and declared_on > limit:
        return False
    start = add_months(due, -clean_months)
    return not any(start <= day < due for day in incidents_before)
