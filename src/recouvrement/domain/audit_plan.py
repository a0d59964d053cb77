"""The audit plan (plan de contrôle): risk scores from account data, the Mayotte start year, and
the adjustments (redressements) an audit posts.

The model ISU agreement, art. 4 « Contrôle des cotisants »: « Le plan de contrôle est construit de
façon concertée entre l'URSSAF (ou la CGSS) et la caisse du RSI … La réalisation du plan de
contrôle relève de l'URSSAF. » Which contributors to audit is decided by documented criteria
(`rules/audit_risk.yaml`, dated versions), each computed from what the platform holds: arrears,
payment incidents, the variation of the declared payroll, whether the account was ever audited,
the sector. Scores are integers: points add up, the plan takes the highest first.

Mayotte: « La CSSM procèdera aux premiers contrôles employeurs à compter de l'année 2014 »
(avenant du 18 décembre 2013, art. 4; agreement setting `audits.first_year`). Adjustments of
periods before 2013 are recovered by the CSSM too (art. 3.2.1).

Pure: no I/O, no clock.

>>> c = parse_criteria(EXAMPLE, "exemple")
>>> version = criteria_on(c, date(2015, 1, 1))
>>> f = AccountFacts(1, overdue_principal=150_000, incidents=2, payroll_before=0,
...                  payroll_last=0, audited_before=False, naf_codes=("4391A",))
>>> points, reasons = score(f, version)
>>> points, [r["criterion"] for r in reasons]
(80, ['arrears', 'incidents', 'never_audited', 'sector'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from recouvrement.domain.allocation import item_kind
from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.money import format_euros_fr, parse_euros
from recouvrement.domain.periods import Period

MAYOTTE = "976"
CRITERIA = ("arrears", "incidents", "payroll_variation", "never_audited", "sector")

EXAMPLE = {
    "versions": [
        {
            "from": "2014-01-01",
            "source": "exemple",
            "min_score": 20,
            "criteria": {
                "arrears": {"points": 25, "min_amount": "1000.00", "source": "s"},
                "incidents": {"points_each": 10, "max_points": 30, "months": 12, "source": "s"},
                "payroll_variation": {"points": 20, "min_drop": "0.30", "source": "s"},
                "never_audited": {"points": 15, "source": "s"},
                "sector": {"points": 20, "naf_prefixes": ["43", "55"], "source": "s"},
            },
        }
    ]
}


@dataclass(frozen=True)
class RiskCriteria:
    """One dated version of the criteria.

    Attributes:
        valid_from: first day the version applies (the plan's drafting day picks it).
        min_score: below it, a contributor is not a candidate.
        criteria: criterion name → its settings (points, thresholds), as in the YAML file.
        source: where the version comes from.
    """

    valid_from: date
    min_score: int
    criteria: Mapping[str, Mapping]
    source: str

    @property
    def incident_months(self) -> int:
        return int(self.criteria.get("incidents", {}).get("months", 12))


@dataclass(frozen=True)
class AccountFacts:
    """What the platform knows of one account, for the criteria (amounts in cents).

    Attributes:
        overdue_principal: principal past its due date and unpaid.
        incidents: payment incidents in the criteria's window.
        payroll_before, payroll_last: gross payroll declared in the year before the last and in
            the last year.
        audited_before: an audit of the account was completed.
        naf_codes: activity codes of its establishments.
    """

    contributor_id: int
    overdue_principal: int = 0
    incidents: int = 0
    payroll_before: int = 0
    payroll_last: int = 0
    audited_before: bool = False
    naf_codes: tuple[str, ...] = ()


def _decimal(value: object, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise DomainError.single(
            where, f"nombre décimal illisible : {value!r}", "bad_rules"
        ) from None


def parse_criteria(data: Mapping, origin: str) -> list[RiskCriteria]:
    """The dated versions of the file, checked: every criterion known, every one sourced."""
    versions = []
    for i, raw in enumerate(data.get("versions") or []):
        where = f"{origin}: versions[{i}]"
        criteria = dict(raw.get("criteria") or {})
        unknown = sorted(set(criteria) - set(CRITERIA))
        missing_source = [n for n, c in criteria.items() if not c.get("source")]
        if unknown or missing_source or not raw.get("source") or "from" not in raw:
            raise DomainError.single(
                "rules",
                f"{where} : critère inconnu {unknown} ou source manquante {missing_source}",
                "bad_rules",
            )
        if "arrears" in criteria:
            parse_euros(str(criteria["arrears"]["min_amount"]), f"{where}.arrears.min_amount")
        if "payroll_variation" in criteria:
            _decimal(criteria["payroll_variation"]["min_drop"], f"{where}.min_drop")
        valid_from = raw["from"]
        if not isinstance(valid_from, date):
            valid_from = date.fromisoformat(str(valid_from))
        versions.append(RiskCriteria(valid_from, int(raw["min_score"]), criteria, raw["source"]))
    if not versions:
        raise DomainError.single("rules", f"{origin} : aucune version", "bad_rules")
    return sorted(versions, key=lambda v: v.valid_from)


def criteria_on(versions: Sequence[RiskCriteria], on: date) -> RiskCriteria:
    """The version in force on `on` (latest on or before)."""
    chosen = [v for v in versions if v.valid_from <= on]
    if not chosen:
        raise DomainError.single(
            "on", f"aucun critère de risque en vigueur le {on.isoformat()}", "no_criteria"
        )
    return chosen[-1]


def score(facts: AccountFacts, version: RiskCriteria) -> tuple[int, list[dict]]:
    """Points and the reasons that gave them, criterion by criterion, in the file's order."""
    c = version.criteria
    reasons: list[dict] = []

    def add(name: str, points: int, detail: str) -> None:
        if points > 0:
            reasons.append({"criterion": name, "points": points, "detail": detail})

    if "arrears" in c:
        threshold = parse_euros(str(c["arrears"]["min_amount"]))
        if facts.overdue_principal >= threshold:
            add("arrears", int(c["arrears"]["points"]),
                f"{format_euros_fr(facts.overdue_principal)} de cotisations échues impayées")  # fmt: skip
    if "incidents" in c and facts.incidents:
        rule = c["incidents"]
        points = min(int(rule["points_each"]) * facts.incidents, int(rule["max_points"]))
        add("incidents", points,
            f"{facts.incidents} incident(s) de paiement en {rule['months']} mois")  # fmt: skip
    if "payroll_variation" in c and facts.payroll_before > 0:
        drop = Decimal(facts.payroll_before - facts.payroll_last) / facts.payroll_before
        if drop >= _decimal(c["payroll_variation"]["min_drop"], "min_drop"):
            add("payroll_variation", int(c["payroll_variation"]["points"]),
                f"masse salariale déclarée en baisse de {drop * 100:.0f} %")  # fmt: skip
    if "never_audited" in c and not facts.audited_before:
        add("never_audited", int(c["never_audited"]["points"]), "jamais contrôlé")
    if "sector" in c:
        prefixes = tuple(str(p) for p in c["sector"]["naf_prefixes"])
        hit = sorted(code for code in facts.naf_codes if code and code.startswith(prefixes))
        if hit:
            add("sector", int(c["sector"]["points"]), f"secteur prioritaire (NAF {hit[0]})")
    return sum(r["points"] for r in reasons), reasons


@dataclass(frozen=True)
class Candidate:
    contributor_id: int
    score: int
    reasons: tuple[dict, ...]


def rank(facts: Iterable[AccountFacts], version: RiskCriteria, limit: int) -> list[Candidate]:
    """Candidates at or above the minimum score, highest first, ties by contributor id."""
    out = []
    for f in facts:
        points, reasons = score(f, version)
        if points >= version.min_score:
            out.append(Candidate(f.contributor_id, points, tuple(reasons)))
    out.sort(key=lambda c: (-c.score, c.contributor_id))
    return out[:limit]


def mayotte_audit_problem(territory: str, year: int, first_year: int | None) -> Problem | None:
    """A Mayotte employer may not be audited before the amendment's first year (art. 4)."""
    if territory != MAYOTTE or first_year is None or year >= first_year:
        return None
    return Problem(
        "year",
        f"contrôle d'un employeur de Mayotte en {year} refusé : la CSSM procède aux premiers "
        f"contrôles employeurs à compter de {first_year} (avenant du 18 décembre 2013, art. 4)",
        "mayotte_audits_not_started",
    )


@dataclass(frozen=True)
class Adjustment:
    """One redressement line: a principal debt of its own period (cents, positive)."""

    period: str
    fund: str
    item: str
    amount: int


def parse_adjustments(lines: Sequence[Mapping]) -> list[Adjustment]:
    """Checked lines: canonical period, a principal item, a positive amount in euros (text);
    every problem named at once, one line of a period and item at most."""
    problems: list[Problem] = []
    out: list[Adjustment] = []
    seen: set[tuple[str, str, str]] = set()
    if not lines:
        problems.append(Problem("adjustments", "au moins une ligne de redressement", "required"))
    for i, raw in enumerate(lines):
        where = f"adjustments[{i}]"
        try:
            period = Period.parse(str(raw.get("period") or ""), f"{where}.period")
            amount = parse_euros(raw.get("amount", ""), f"{where}.amount")
        except DomainError as err:
            problems.extend(err.problems)
            continue
        fund, item = str(raw.get("fund") or ""), str(raw.get("item") or "")
        if not fund or not item or item_kind(item) != "principal":
            problems.append(
                Problem(f"{where}.item", "fonds et rubrique de cotisation attendus", "bad_item")
            )
            continue
        if amount == 0:
            problems.append(Problem(f"{where}.amount", "montant nul", "zero_amount"))
            continue
        if (str(period), fund, item) in seen:
            problems.append(Problem(f"{where}.item", "ligne en double", "duplicate"))
            continue
        seen.add((str(period), fund, item))
        out.append(Adjustment(str(period), fund, item, amount))
    if problems:
        raise DomainError(*problems)
    return out


def adjustment_entry(
    audit_id: int, contributor_id: int, period: str, lines: Sequence[Adjustment], notice: date
) -> Entry:
    """The debt of one audited period: keyed per audit and period, so a replay posts nothing."""
    postings: list[Posting] = []
    for a in sorted(lines, key=lambda a: (a.fund, a.item)):
        postings.append(
            Posting(LedgerAccount.RECEIVABLE, contributor_id, a.fund, a.item, period, a.amount)
        )
        postings.append(
            Posting(LedgerAccount.FUND_REVENUE, None, a.fund, a.item, period, -a.amount)
        )
    return Entry(
        f"audit:{audit_id}:{period}",
        notice,
        Cause.ASSESSMENT.value,
        tuple(postings),
        f"Redressement après contrôle n° {audit_id}, période {period}",
    )
