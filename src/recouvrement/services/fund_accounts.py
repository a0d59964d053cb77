"""What each fund is owed, year by year, read from the journal.

Money belongs to a fund once a receipt is allocated to one of the fund's debts: allocation is what
attributes cash to Unédic, the AGS or another scheme. The figures are sums over the journal's
postings, classified by the cause of their entry (a reversal counts against the cause of the entry
it reverses), so they always agree with the ledger: there is no second copy to drift.

- `cashed`: receivable credits on the fund's keys by receipts and by credits applied to debts;
- `refunded`: receivable debits on the fund's keys by refunds;
- `written_off`: receivable credits on the fund's keys by write-offs;
- `transferred`: debits of the fund's `fund_payable` by transfers to the fund;
- `owed`: cashed − refunded − transferred, cumulated from the first year to the end of the year.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, Engine, and_, case, func, select
from sqlalchemy.orm import aliased

from recouvrement.adapters.db.tables import contributor, journal_entry, journal_posting
from recouvrement.domain.actors import Actor, Permission, require
from recouvrement.domain.errors import DomainError, Forbidden, Problem
from recouvrement.domain.ledger import Cause, LedgerAccount

_RECEIPT_CAUSES = (Cause.PAYMENT.value, Cause.ALLOCATION.value)
FIGURES = ("cashed", "refunded", "written_off", "transferred")


def _classified(start: date | None, end: date, fund: str | None, territory: str | None):
    """Per fund, the four movements over [start, end] (start None: since the beginning)."""
    p, e = journal_posting, journal_entry
    original = aliased(journal_entry)
    cause = func.coalesce(original.c.cause, e.c.cause)
    receivable = p.c.ledger_account == LedgerAccount.RECEIVABLE.value
    columns = {
        "cashed": case((and_(receivable, cause.in_(_RECEIPT_CAUSES)), -p.c.amount), else_=0),
        "refunded": case((and_(receivable, cause == Cause.REFUND.value), p.c.amount), else_=0),
        "written_off": case(
            (and_(receivable, cause == Cause.WRITE_OFF.value), -p.c.amount), else_=0
        ),
        "transferred": case(
            (
                and_(
                    p.c.ledger_account == LedgerAccount.FUND_PAYABLE.value,
                    cause == Cause.TRANSFER.value,
                ),
                p.c.amount,
            ),
            else_=0,
        ),
    }
    query = (
        select(p.c.fund, *(func.sum(expr).label(name) for name, expr in columns.items()))
        .select_from(p)
        .join(e, e.c.id == p.c.entry_id)
        .outerjoin(original, original.c.id == e.c.reverses_id)
        .where(
            p.c.fund != "",
            p.c.value_date <= end,
            p.c.ledger_account.in_(
                (LedgerAccount.RECEIVABLE.value, LedgerAccount.FUND_PAYABLE.value)
            ),
        )
        .group_by(p.c.fund)
    )
    if start is not None:
        query = query.where(p.c.value_date >= start)
    if fund is not None:
        query = query.where(p.c.fund == fund)
    if territory is not None:
        # transfers carry no contributor: they are the fund's, for the agreement's territory
        query = query.outerjoin(contributor, contributor.c.id == p.c.contributor_id).where(
            (contributor.c.territory == territory) | p.c.contributor_id.is_(None)
        )
    return query


def _rows(conn: Connection, query) -> dict[str, dict[str, int]]:
    return {
        row.fund: {name: int(getattr(row, name) or 0) for name in FIGURES}
        for row in conn.execute(query)
    }


def fund_year(
    conn: Connection, year: int, *, fund: str | None = None, territory: str | None = None
):
    """Per fund: the year's movements, and what the fund is still owed at the year's end."""
    end = date(year, 12, 31)
    year_rows = _rows(conn, _classified(date(year, 1, 1), end, fund, territory))
    total_rows = _rows(conn, _classified(None, end, fund, territory))
    out = {}
    for name in sorted(set(year_rows) | set(total_rows)):
        figures = year_rows.get(name, dict.fromkeys(FIGURES, 0))
        total = total_rows.get(name, dict.fromkeys(FIGURES, 0))
        owed = total["cashed"] - total["refunded"] - total["transferred"]
        out[name] = {"year": year, "fund": name, **figures, "owed": owed}
    return out


def fund_figures(
    engine: Engine,
    actor: Actor,
    year: int,
    *,
    fund: str | None = None,
    territory: str | None = None,
) -> list[dict]:
    """The per-fund figures of a year, for the collector's staff and the funds (not contributors)."""
    require(actor, Permission.LEDGER_READ)
    if actor.is_contributor:
        raise Forbidden(
            Problem("", "comptes des attributaires réservés aux organismes", "forbidden")
        )
    if not 1900 <= year <= 2200:
        raise DomainError.single("year", f"année invalide : {year}")
    with engine.connect() as conn:
        return list(fund_year(conn, year, fund=fund, territory=territory).values())


def fund_receipts(conn: Connection, fund: str, year: int, territory: str | None = None) -> int:
    """The receipts of a fund for a year, net of refunds: the base of the Mayotte advance of N+1
    (amendment art. 5.1: "égal aux réalisations annuelles de l'année N-1")."""
    figures = fund_year(conn, year, fund=fund, territory=territory).get(fund)
    return 0 if figures is None else figures["cashed"] - figures["refunded"]
