"""The yearly report of write-offs by grounds (état annuel des admissions en non-valeur).

For the year's write-offs (approved that year), per grounds: how many, the amount written off by
fund, and what has been paid since on those keys (services/write_off_recovery.py). The directors
and the accounting officer report the admissions en non-valeur to their board each year; the
figures come from the write-off lines, whose postings are in the journal under `write_off:<id>:…`.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import Engine, func, select

from recouvrement.adapters.db.remission_tables import write_off, write_off_line
from recouvrement.adapters.db.tables import contributor
from recouvrement.domain import write_offs as rules
from recouvrement.domain.actors import Actor, Permission, Role, require
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.domain.money import format_euros

CSV_COLUMNS = ("year", "grounds", "grounds_label", "fund", "count", "written_off", "recovered")


def yearly_report(engine: Engine, actor: Actor, year: int) -> dict:
    """{"year", "grounds": [{"grounds", "label", "count", "written_off", "recovered",
    "by_fund": {fund: {"written_off", "recovered"}}}], "total": {...}}; amounts in cents."""
    require(actor, Permission.LEDGER_READ)
    if actor.is_contributor:
        raise Forbidden.single("", "état réservé aux agents de l'organisme", "forbidden")
    if not 1990 <= year <= 2100:
        raise DomainError.single("year", f"année invalide : {year}", "bad_year")
    w, line = write_off, write_off_line
    query = (
        select(
            w.c.grounds,
            line.c.fund,
            func.count(func.distinct(w.c.id)).label("count"),
            func.sum(line.c.written_off).label("written_off"),
            func.sum(line.c.recovered).label("recovered"),
        )
        .join(line, line.c.write_off_id == w.c.id)
        .join(contributor, contributor.c.id == w.c.contributor_id)
        .where(
            w.c.state == "approved",
            w.c.decided_on >= date(year, 1, 1),
            w.c.decided_on <= date(year, 12, 31),
            line.c.written_off > 0,
        )
        .group_by(w.c.grounds, line.c.fund)
    )
    counts = (
        select(w.c.grounds, func.count().label("count"))
        .join(contributor, contributor.c.id == w.c.contributor_id)
        .where(
            w.c.state == "approved",
            w.c.decided_on >= date(year, 1, 1),
            w.c.decided_on <= date(year, 12, 31),
        )
        .group_by(w.c.grounds)
    )
    if not (actor.is_system or Role.ADMINISTRATOR in actor.roles):
        reach = sorted(actor.reachable_organisation_ids)
        query = query.where(contributor.c.organisation_id.in_(reach))
        counts = counts.where(contributor.c.organisation_id.in_(reach))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        per_grounds = dict(conn.execute(counts).all())
    grounds: list[dict] = []
    for g in rules.Grounds:
        funds = {
            r.fund: {"written_off": int(r.written_off or 0), "recovered": int(r.recovered or 0)}
            for r in rows
            if r.grounds == g.value
        }
        grounds.append(
            {
                "grounds": g.value,
                "label": rules.GROUNDS_LABEL[g],
                "count": int(per_grounds.get(g.value, 0)),
                "written_off": sum(f["written_off"] for f in funds.values()),
                "recovered": sum(f["recovered"] for f in funds.values()),
                "by_fund": dict(sorted(funds.items())),
            }
        )
    return {
        "year": year,
        "grounds": grounds,
        "total": {
            "count": sum(g["count"] for g in grounds),
            "written_off": sum(g["written_off"] for g in grounds),
            "recovered": sum(g["recovered"] for g in grounds),
        },
    }


def report_csv(report: dict) -> str:
    """One line per grounds and fund (amounts in euros with a point, for spreadsheets)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in report["grounds"]:
        for fund, figures in g["by_fund"].items():
            writer.writerow(
                (
                    report["year"],
                    g["grounds"],
                    g["label"],
                    fund,
                    g["count"],
                    format_euros(figures["written_off"]),
                    format_euros(figures["recovered"]),
                )
            )
    return out.getvalue()
