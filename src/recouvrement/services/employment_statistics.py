"""Quarterly employment statistics by department × activity code, from payroll declarations.

The 2010 convention (art. 17 and annex 3) asks the collector for headcounts and payroll by
department and NAF code; the Mayotte amendment (art. 8) puts them under the action plan until the
CSSM's data can be included. The figures come from the latest version of each establishment's
monthly declaration, so a correction replaces what it corrects, and the same declarations always
give the same rows in the same order.

Definitions (also in docs/statistics.md):
- `establishments`: establishments with at least one employee declared in the quarter;
- `headcount_end_of_quarter`: employees (NIR) declared for the quarter's last month, counted once
  per establishment;
- `employee_months`: employee lines declared over the quarter;
- `payroll`: gross pay declared over the quarter; `contributions`: the unemployment-insurance and
  AGS contributions assessed on it (with each item apart). Amounts in cents.
"""

from __future__ import annotations

from sqlalchemy import Engine, and_, case, distinct, func, select

from recouvrement.adapters.db.payroll_tables import payroll_declaration, payroll_declaration_line
from recouvrement.adapters.db.tables import establishment
from recouvrement.domain.actors import Actor, Permission, require
from recouvrement.domain.errors import DomainError, Forbidden, Problem
from recouvrement.domain.periods import Granularity, Period

UNKNOWN_NAF = ""  # establishments whose activity code is not known: a row of their own
COLUMNS = (
    "quarter",
    "department",
    "naf_code",
    "establishments",
    "headcount_end_of_quarter",
    "employee_months",
    "payroll",
    "unemployment_employer",
    "unemployment_employee",
    "ags",
    "contributions",
)


def _quarter(text: str) -> Period:
    period = Period.parse(text, "quarter")
    if period.granularity is not Granularity.QUARTER:
        raise DomainError.single("quarter", f"trimestre attendu (AAAA-Qn) : {text!r}", "bad_period")
    return period


def _months(period: Period) -> list[str]:
    return [
        f"{period.start.year:04d}-{m:02d}" for m in range(period.start.month, period.end.month + 1)
    ]


def quarterly_statistics(
    engine: Engine, actor: Actor, quarter: str, territory: str | None = None
) -> list[dict]:
    """One row per department × activity code for the quarter, sorted by both."""
    require(actor, Permission.CONTRIBUTORS_READ)
    if actor.is_contributor:
        raise Forbidden(
            Problem("", "les statistiques d'emploi sont réservées aux organismes", "forbidden")
        )
    period = _quarter(quarter)
    months = _months(period)
    d, line, est = payroll_declaration, payroll_declaration_line, establishment
    latest = (
        select(d.c.establishment_id, d.c.period, func.max(d.c.version).label("version"))
        .where(d.c.period.in_(months))
        .group_by(d.c.establishment_id, d.c.period)
        .subquery()
    )
    naf = func.coalesce(est.c.naf_code, UNKNOWN_NAF).label("naf_code")
    last_month = months[-1]
    query = (
        select(
            est.c.territory.label("department"),
            naf,
            func.count(distinct(est.c.id)).label("establishments"),
            func.count(
                distinct(
                    case(
                        (d.c.period == last_month, est.c.siret + ":" + line.c.nir),
                        else_=None,
                    )
                )
            ).label("headcount_end_of_quarter"),
            func.count(line.c.id).label("employee_months"),
            func.sum(line.c.gross_pay).label("payroll"),
            func.sum(line.c.unemployment_employer).label("unemployment_employer"),
            func.sum(line.c.unemployment_employee).label("unemployment_employee"),
            func.sum(line.c.ags).label("ags"),
        )
        .select_from(latest)
        .join(
            d,
            and_(
                d.c.establishment_id == latest.c.establishment_id,
                d.c.period == latest.c.period,
                d.c.version == latest.c.version,
            ),
        )
        .join(line, line.c.declaration_id == d.c.id)
        .join(est, est.c.id == d.c.establishment_id)
        .group_by(est.c.territory, naf)
        .order_by(est.c.territory, naf)
    )
    if territory is not None:
        query = query.where(est.c.territory == territory)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for row in rows:
        item = {"quarter": str(period), **{k: row[k] for k in COLUMNS[1:-1]}}
        for key in COLUMNS[3:-1]:
            item[key] = int(item[key] or 0)
        item["contributions"] = (
            item["unemployment_employer"] + item["unemployment_employee"] + item["ags"]
        )
        out.append(item)
    return out
