"""What each fund is owed, year by year, read from the journal.

Money belongs to a fund once a receipt is allocated to one of the fund's debts: allocation is what
attributes cash to Unédic, the AGS or another scheme. The figures are sums over the journal's
postings, classified by the cause of their entry (a reversal counts against the cause of the entry
it reverses):

- `cashed`: receivable credits on the fund's keys by receipts and by credits applied to debts;
- `refunded`: receivable debits on the fund's keys by refunds;
- `written_off`: receivable credits on the fund's keys by write-offs;
- `transferred`: debits of the fund's `fund_payable` by transfers to the fund;
- `owed`: cashed − refunded − transferred, cumulated from the first posting to the end of the year.

Summing a decade of journal for each reading would be slow, so the cumulative figures at each
year's end are kept (`fund_year_figure`) with the last entry id they read: a later reading adds
only the entries recorded since. The journal stays the truth: `ledger check` recomputes every kept
row (`check_fund_figures`), and a year's figures are the difference of two cumulative rows. The kept
rows are derived data: deleting them is always safe (they are summed again at the next reading),
which is the remedy if the check ever finds one that an entry committed late left behind.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, Engine, and_, case, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from recouvrement.adapters.db.fee_tables import fund_year_figure
from recouvrement.adapters.db.tables import contributor, journal_entry, journal_posting
from recouvrement.domain.actors import Actor, Permission, require
from recouvrement.domain.errors import DomainError, Forbidden, Problem
from recouvrement.domain.ledger import Cause, LedgerAccount
from recouvrement.services.journal_queries import effective_cause, room_for_large_reads
from recouvrement.services.unit_of_work import UnitOfWork

_RECEIPT_CAUSES = (Cause.PAYMENT.value, Cause.ALLOCATION.value)
FIGURES = ("cashed", "refunded", "written_off", "transferred")
Figures = dict[str, dict[str, int]]  # fund -> figure -> cents


def _movements(
    *,
    end: date,
    start: date | None = None,
    after_entry: int | None = None,
    up_to_entry: int | None = None,
    territory: str | None = None,
):
    """Per fund, the four movements of the postings dated up to `end` (from `start`), recorded
    after entry `after_entry` and up to `up_to_entry` when given."""
    p, e = journal_posting, journal_entry
    cause = effective_cause(e)
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
    # the same bounds on the entries: the planner does not carry a range across a join
    if after_entry is not None:
        query = query.where(p.c.entry_id > after_entry, e.c.id > after_entry)
    if up_to_entry is not None:
        query = query.where(p.c.entry_id <= up_to_entry, e.c.id <= up_to_entry)
    if territory is not None:
        # transfers carry no contributor: they are the fund's, for the agreement's territory
        query = query.outerjoin(contributor, contributor.c.id == p.c.contributor_id).where(
            (contributor.c.territory == territory) | p.c.contributor_id.is_(None)
        )
    return query


def _read(conn: Connection, query) -> Figures:
    return {
        row.fund: {name: int(getattr(row, name) or 0) for name in FIGURES}
        for row in conn.execute(query)
    }


def _plus(a: Figures, b: Figures, sign: int = 1) -> Figures:
    out = {fund: dict(values) for fund, values in a.items()}
    for fund, values in b.items():
        row = out.setdefault(fund, dict.fromkeys(FIGURES, 0))
        for name in FIGURES:
            row[name] += sign * values[name]
    return out


def _kept(conn: Connection, year: int, territory: str) -> tuple[Figures, int] | None:
    rows = (
        conn.execute(
            select(fund_year_figure).where(
                fund_year_figure.c.year == year, fund_year_figure.c.territory == territory
            )
        )
        .mappings()
        .all()
    )
    if not rows:
        return None
    figures = {r["fund"]: {name: r[name] for name in FIGURES} for r in rows}
    return figures, min(r["watermark"] for r in rows)


def _keep(conn: Connection, year: int, territory: str, figures: Figures, watermark: int) -> None:
    conn.execute(
        delete(fund_year_figure).where(
            fund_year_figure.c.year == year, fund_year_figure.c.territory == territory
        )
    )
    rows = [
        {"fund": fund, "territory": territory, "year": year, "watermark": watermark, **values}
        for fund, values in figures.items()
    ]
    # a year with no movement at all keeps a marker row, so it is not summed again
    rows = rows or [
        {"fund": "", "territory": territory, "year": year, "watermark": watermark}
        | dict.fromkeys(FIGURES, 0)
    ]
    conn.execute(insert(fund_year_figure), rows)


def _cumulative(conn: Connection, year: int, territory: str | None, watermark: int) -> Figures:
    """Cumulative figures at the end of `year`, brought up to entry `watermark` and kept."""
    key = territory or ""
    end = date(year, 12, 31)
    kept = _kept(conn, year, key)
    if kept is not None:
        figures, seen = kept
        if seen < watermark:
            late = _read(
                conn,
                _movements(end=end, after_entry=seen, up_to_entry=watermark, territory=territory),
            )
            figures = _plus(figures, late)
            _keep(conn, year, key, figures, watermark)
        return _clean(figures)
    previous = _kept(conn, year - 1, key)
    if previous is None:
        figures = _read(conn, _movements(end=end, up_to_entry=watermark, territory=territory))
    else:
        before = _cumulative(conn, year - 1, territory, watermark)
        this_year = _read(
            conn,
            _movements(end=end, start=date(year, 1, 1), up_to_entry=watermark, territory=territory),
        )
        figures = _plus(before, this_year)
    _keep(conn, year, key, figures, watermark)
    return _clean(figures)


def _clean(figures: Figures) -> Figures:
    return {fund: values for fund, values in figures.items() if fund}


def fund_year(
    conn: Connection, year: int, *, fund: str | None = None, territory: str | None = None
) -> dict:
    """Per fund: the year's movements, and what the fund is still owed at the year's end."""
    room_for_large_reads(conn)
    watermark = conn.execute(select(func.coalesce(func.max(journal_entry.c.id), 0))).scalar()
    before = _cumulative(conn, year - 1, territory, watermark)
    through = _cumulative(conn, year, territory, watermark)
    out = {}
    for name in sorted(set(through) | set(before)):
        if fund is not None and name != fund:
            continue
        total = through.get(name, dict.fromkeys(FIGURES, 0))
        prior = before.get(name, dict.fromkeys(FIGURES, 0))
        figures = {k: total[k] - prior[k] for k in FIGURES}
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
    try:
        with UnitOfWork(engine) as uow:
            rows = list(fund_year(uow.conn, year, fund=fund, territory=territory).values())
            uow.commit()
    except IntegrityError:  # another reading kept the same year first: read it again
        with UnitOfWork(engine) as uow:
            rows = list(fund_year(uow.conn, year, fund=fund, territory=territory).values())
            uow.commit()
    return rows


def fund_receipts(conn: Connection, fund: str, year: int, territory: str | None = None) -> int:
    """The receipts of a fund for a year, net of refunds: the base of the Mayotte advance of N+1
    (amendment art. 5.1: "égal aux réalisations annuelles de l'année N-1")."""
    figures = fund_year(conn, year, fund=fund, territory=territory).get(fund)
    return 0 if figures is None else figures["cashed"] - figures["refunded"]


def check_fund_figures(conn: Connection) -> list[str]:
    """Every kept cumulative row against the journal up to its watermark; French findings."""
    findings = []
    groups = conn.execute(
        select(
            fund_year_figure.c.year,
            fund_year_figure.c.territory,
            func.min(fund_year_figure.c.watermark),
        ).group_by(fund_year_figure.c.year, fund_year_figure.c.territory)
    ).all()
    for year, territory, watermark in groups:
        kept = _clean(_kept(conn, year, territory)[0])
        journal = _read(
            conn,
            _movements(end=date(year, 12, 31), up_to_entry=watermark, territory=territory or None),
        )
        for name in sorted(set(kept) | set(journal)):
            a = kept.get(name, dict.fromkeys(FIGURES, 0))
            b = journal.get(name, dict.fromkeys(FIGURES, 0))
            if a != b:
                where = f"territoire {territory}" if territory else "tous territoires"
                findings.append(
                    f"fonds {name}, fin {year}, {where} : conservé {a}, grand livre {b}"
                )
    return findings
