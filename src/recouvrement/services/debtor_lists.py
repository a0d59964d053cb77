"""Debtor lists (suivi des listes de débiteurs, convention type ISU art. 4 « Recouvrement amiable »).

One list per queue: the queue is the activity `debtor_lists` of an organisation, worked by its
agents (and its partner's, in the joint organisation) authorized on that activity. A debtor is a
contributor with a call unpaid past its due date (`call.status = overdue`); the list gives, per
debtor, what the overdue periods still owe (principal, surcharges, penalties: the cached balances),
the age of the oldest unpaid due date, the payment incidents of the last 24 months, the nearest
limitation date of their debts (`services/limitation.limitation_dates`, when installed), the step of
the escalation ladder reached, and the score that ranks the list (`domain/debtor_score.py`).

Set-based: three grouped queries (debts of overdue calls, incidents, steps reached) and the
limitation dates of the debtors, joined and scored with Polars and NumPy — no per-debtor query.
"""

from __future__ import annotations

import csv
import importlib.util
import io
from datetime import date, timedelta

import numpy as np
import polars as pl
from sqlalchemy import BigInteger, Connection, Engine, case, cast, func, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.collection_tables import collection_step
from recouvrement.adapters.db.cycle_tables import payment_incident
from recouvrement.adapters.db.tables import account_balance, contributor, organisation
from recouvrement.domain import debtor_score
from recouvrement.domain.actors import Actor, Permission, require
from recouvrement.domain.allocation import CREDIT_ITEM
from recouvrement.domain.errors import DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.money import format_euros
from recouvrement.services.authorizations import check_activity
from recouvrement.services.escalation import load_rules

ACTIVITY = "debtor_lists"
MAX_PAGE = 1000
ACCOUNT_LINK = "/api/v1/accounts/{id}"
COLUMNS = (
    "rank",
    "contributor_id",
    "name",
    "organisation",
    "scheme",
    "owed",
    "oldest_due_date",
    "age_days",
    "incidents",
    "limitation_date",
    "step",
    "score",
    "link",
)


def _months_before(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 - months, 12)
    year, month = day.year + y, m + 1
    try:
        return day.replace(year=year, month=month)
    except ValueError:
        return date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)


def _debts(conn: Connection, org_ids: list[int] | None, on: date) -> pl.DataFrame:
    """Per debtor: owed on the overdue periods and the oldest due date still owing."""
    b = account_balance
    positive = case((b.c.balance > 0, b.c.balance), else_=0)
    q = (
        select(
            b.c.contributor_id,
            cast(func.sum(positive), BigInteger).label("owed"),
            func.min(case((b.c.balance > 0, call.c.due_date))).label("oldest_due_date"),
            contributor.c.name,
            contributor.c.kind.label("scheme"),
            organisation.c.code.label("organisation"),
        )
        .select_from(call)
        .join(
            b,
            (b.c.contributor_id == call.c.contributor_id)
            & (b.c.period == call.c.period)
            & (b.c.ledger_account == "receivable")
            & (b.c.item != CREDIT_ITEM),
        )
        .join(contributor, contributor.c.id == call.c.contributor_id)
        .join(organisation, organisation.c.id == contributor.c.organisation_id)
        .where(call.c.status == "overdue", call.c.due_date < on)
        .group_by(b.c.contributor_id, contributor.c.name, contributor.c.kind, organisation.c.code)
        .having(func.sum(positive) > 0)
    )
    if org_ids is not None:
        q = q.where(contributor.c.organisation_id.in_(org_ids))
    rows = conn.execute(q).all()
    return pl.DataFrame(
        {
            "contributor_id": [int(r.contributor_id) for r in rows],
            "owed": [int(r.owed) for r in rows],
            "oldest_due_date": [r.oldest_due_date for r in rows],
            "name": [r.name for r in rows],
            "scheme": [r.scheme for r in rows],
            "organisation": [r.organisation for r in rows],
        },
        schema={
            "contributor_id": pl.Int64,
            "owed": pl.Int64,
            "oldest_due_date": pl.Date,
            "name": pl.Utf8,
            "scheme": pl.Utf8,
            "organisation": pl.Utf8,
        },
    )


def _incidents(conn: Connection, on: date, months: int) -> pl.DataFrame:
    since = _months_before(on, months)
    rows = conn.execute(
        select(payment_incident.c.contributor_id, func.count().label("n"))
        .where(payment_incident.c.detected_on > since, payment_incident.c.detected_on <= on)
        .group_by(payment_incident.c.contributor_id)
    ).all()
    return pl.DataFrame(
        {"contributor_id": [int(r[0]) for r in rows], "incidents": [int(r[1]) for r in rows]},
        schema={"contributor_id": pl.Int64, "incidents": pl.Int64},
    )


def _steps(conn: Connection, on: date) -> pl.DataFrame:
    """The highest step reached by each debtor on any of their files (rank and code)."""
    s = collection_step
    top = (
        select(s.c.contributor_id, func.max(s.c.rank).label("rank"))
        .where(s.c.reached_on <= on)
        .group_by(s.c.contributor_id)
        .subquery()
    )
    rows = conn.execute(
        select(top.c.contributor_id, top.c.rank, func.min(s.c.step))
        .join(s, (s.c.contributor_id == top.c.contributor_id) & (s.c.rank == top.c.rank))
        .group_by(top.c.contributor_id, top.c.rank)
    ).all()
    return pl.DataFrame(
        {
            "contributor_id": [int(r[0]) for r in rows],
            "step_rank": [int(r[1]) for r in rows],
            "step": [r[2] for r in rows],
        },
        schema={"contributor_id": pl.Int64, "step_rank": pl.Int64, "step": pl.Utf8},
    )


def _limitation(conn: Connection, ids: list[int]) -> pl.DataFrame | None:
    """The nearest limitation date of each debtor's debts, or None without the module."""
    if importlib.util.find_spec("recouvrement.services.limitation") is None:
        return None
    from recouvrement.services import limitation

    nearest: dict[int, date] = {}
    for debt in limitation.limitation_dates(conn, contributor_ids=ids):
        if debt.limitation_date is None:
            continue
        cid = int(debt.contributor_id)
        if cid not in nearest or debt.limitation_date < nearest[cid]:
            nearest[cid] = debt.limitation_date
    return pl.DataFrame(
        {"contributor_id": list(nearest), "limitation_date": list(nearest.values())},
        schema={"contributor_id": pl.Int64, "limitation_date": pl.Date},
    )


def rank_debtors(conn: Connection, on: date, organisation_ids: list[int] | None) -> pl.DataFrame:
    """Every debtor of the organisations (all when None) on `on`, scored and ranked, best first."""
    weights = load_rules().weights(on)
    debts = _debts(conn, organisation_ids, on)
    frame = (
        debts.join(_incidents(conn, on, weights.history_months), on="contributor_id", how="left")
        .join(_steps(conn, on), on="contributor_id", how="left")
        .with_columns(
            pl.col("incidents").fill_null(0),
            pl.col("step_rank").fill_null(0),
            (pl.lit(on) - pl.col("oldest_due_date")).dt.total_days().alias("age_days"),
        )
    )
    limits = _limitation(conn, frame["contributor_id"].to_list()) if frame.height else None
    if limits is not None:
        frame = frame.join(limits, on="contributor_id", how="left").with_columns(
            (pl.col("limitation_date") - pl.lit(on)).dt.total_days().alias("days_to_limitation")
        )
        days = frame["days_to_limitation"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias("limitation_date"))
        days = None
    score = debtor_score.scores(
        weights,
        frame["owed"].to_numpy(),
        frame["age_days"].to_numpy(),
        frame["incidents"].to_numpy(),
        days,
    )
    frame = frame.with_columns(pl.Series("score", score))
    order = debtor_score.ranking(
        score, frame["owed"].to_numpy(), frame["contributor_id"].to_numpy()
    )
    return frame[order].with_columns(pl.Series("rank", np.arange(1, frame.height + 1)))


# --- the use cases ------------------------------------------------------------------------------


def _queue_organisations(conn: Connection, actor: Actor, code: str | None) -> list[int] | None:
    """The organisations whose debtors the actor may list: the one asked, within reach, or all
    those within reach."""
    if code is not None:
        org_id = conn.scalar(select(organisation.c.id).where(organisation.c.code == code))
        if org_id is None:
            raise NotFound.single("organisation", f"organisme inconnu : {code}", "not_found")
        if not actor.is_system and org_id not in actor.reachable_organisation_ids:
            raise Forbidden(
                Problem("organisation", f"organisme hors de votre périmètre : {code}", "forbidden")
            )
        return [org_id]
    return None if actor.is_system else sorted(actor.reachable_organisation_ids)


def _filtered(
    engine: Engine,
    actor: Actor,
    on: date,
    organisation: str | None,
    scheme: str | None,
    min_amount: int,
    min_age_days: int,
    step: str | None,
) -> pl.DataFrame:
    require(actor, Permission.COLLECTION_READ)
    with engine.connect() as conn:
        org_ids = _queue_organisations(conn, actor, organisation)
    if not actor.is_system:
        # the habilitation on the activity, valid on the day (ISU agreement art. 3 and 6)
        check_activity(engine, actor, ACTIVITY, on)
    with engine.connect() as conn:
        frame = rank_debtors(conn, on, org_ids)
    keep = (pl.col("owed") >= min_amount) & (pl.col("age_days") >= min_age_days)
    if scheme:
        keep = keep & (pl.col("scheme") == scheme)
    if step == "none":
        keep = keep & pl.col("step").is_null()
    elif step:
        keep = keep & (pl.col("step") == step)
    return frame.filter(keep)


def _line(row: dict) -> dict:
    return {
        "rank": int(row["rank"]),
        "contributor_id": int(row["contributor_id"]),
        "name": row["name"],
        "organisation": row["organisation"],
        "scheme": row["scheme"],
        "owed": int(row["owed"]),
        "oldest_due_date": row["oldest_due_date"].isoformat(),
        "age_days": int(row["age_days"]),
        "incidents": int(row["incidents"]),
        "limitation_date": row["limitation_date"].isoformat() if row["limitation_date"] else None,
        "step": row["step"],
        "score": float(row["score"]),
        "link": ACCOUNT_LINK.format(id=int(row["contributor_id"])),
    }


def debtor_list(
    engine: Engine,
    actor: Actor,
    on: date,
    *,
    organisation: str | None = None,
    scheme: str | None = None,
    min_amount: int = 0,
    min_age_days: int = 0,
    step: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> dict:
    """One page of the ranked debtor list of a queue, with its filters (amounts in cents; `step`
    a ladder step code, or "none" for debtors no letter has reached yet)."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE:
        raise DomainError.single(
            "page", f"page ≥ 1 et taille de page entre 1 et {MAX_PAGE}", "invalid"
        )
    frame = _filtered(engine, actor, on, organisation, scheme, min_amount, min_age_days, step)
    rows = frame.slice((page - 1) * page_size, page_size).to_dicts()
    return {
        "on": on.isoformat(),
        "total": frame.height,
        "total_owed": int(frame["owed"].sum()) if frame.height else 0,
        "page": page,
        "page_size": page_size,
        "lines": [_line(r) for r in rows],
    }


def debtor_list_csv(
    engine: Engine,
    actor: Actor,
    on: date,
    *,
    organisation: str | None = None,
    scheme: str | None = None,
    min_amount: int = 0,
    min_age_days: int = 0,
    step: str | None = None,
) -> str:
    """The whole filtered list as CSV (UTF-8, `;`, amounts in euros with a dot: `format_euros`),
    columns `COLUMNS`."""
    frame = _filtered(engine, actor, on, organisation, scheme, min_amount, min_age_days, step)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in frame.iter_rows(named=True):
        line = _line(row)
        line["owed"] = format_euros(line["owed"])
        writer.writerow(["" if line[c] is None else line[c] for c in COLUMNS])
    return out.getvalue()
