"""Limitation (prescription) of the debts: acts recorded, dates computed, alerts, write-off proposals.

Every open debt (a positive receivable balance of (contributor, fund, item, period)) carries a
limitation date computed by `domain/limitation.py` from the dated rules of
`rules/parameters/limitation.yaml` (CSS L244-3, L244-8-1, L244-9) and from the acts recorded on its
(contributor, period) in `limitation_event`. Escalation records formal notices and enforcement
orders, payment plans the requests for time to pay (`record_interruption`); escalation asks
`is_prescribed` before pursuing a period, since a prescribed debt cannot be pursued.

The dates of all debts are computed set-based: the claim rule depends only on the scheme, the kind
of item and one year (the period's or the due date's), so it is a SQL CASE over a handful of year
ranges; only the keys with recorded acts — a small part — are recomputed in Python. Acts never bring
a date earlier, so a filter on the SQL date is exact once those keys are recomputed.

The daily step lists the debts whose limitation date is near (`limitation.alert_days`, the ISU
agreement's "prévention et gestion de la prescription") in `limitation_alert`, and proposes each
prescribed debt for write-off once (`services/write_offs.propose_write_off`, grounds `prescribed`).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    or_,
    select,
    tuple_,
)

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.limitation_tables import (
    limitation_alert,
    limitation_event,
    limitation_proposal,
)
from recouvrement.adapters.db.tables import account_balance, contributor, journal_posting
from recouvrement.domain import limitation as rules
from recouvrement.domain.actors import Actor, Permission, require, require_contributor, system_actor
from recouvrement.domain.allocation import CREDIT_ITEM, PENALTY_PREFIX, SURCHARGE_ITEMS, item_kind
from recouvrement.domain.errors import DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.ledger import LedgerAccount
from recouvrement.rules.parameters import ParameterSet, load_parameters
from recouvrement.services import audit
from recouvrement.services.daily_cycle_report import Progress, StepReport
from recouvrement.services.ledger import check_contributors
from recouvrement.services.unit_of_work import UnitOfWork

RECEIVABLE = LedgerAccount.RECEIVABLE.value
FIRST_YEAR = 1999  # the rules' first year (limitation.yaml); earlier periods get no date
LAST_YEAR = 2200
CHUNK = 1000
BATCH = 200
STEP_ACTOR = "limitation"


class DebtLimitation(NamedTuple):
    contributor_id: int
    fund: str
    item: str
    period: str
    amount: int
    due_date: date | None
    limitation_date: date | None  # None: the rules do not cover the period's year


# --- acts ------------------------------------------------------------------------------------


def record_interruption(
    conn: Connection,
    contributor_id: int,
    period: str,
    event: str,
    on: date,
    source: str,
    until: date | None = None,
) -> int:
    """Records an act that interrupts or suspends the limitation of the debts of (contributor,
    period), inside the caller's transaction; the same act recorded again is not duplicated.

    Events: `formal_notice` (mise en demeure, L244-2), `enforcement_order` (contrainte, L244-9),
    `enforcement_measure` (acte d'exécution, C. civ. 2244), `payment`, `payment_plan_request`,
    `remission_request`, `acknowledgement` (reconnaissance, C. civ. 2240),
    `audit_contradictory_phase` (suspension, L244-3 al. 2, ending on `until`). Returns the row id.
    """
    if event not in rules.EVENTS:
        raise DomainError(
            Problem("event", f"acte inconnu pour la prescription : {event}", "invalid")
        )
    if until is not None and until < on:
        raise DomainError(Problem("until", "la fin de la suspension précède son début", "invalid"))
    key = (
        limitation_event.c.contributor_id == contributor_id,
        limitation_event.c.period == period,
        limitation_event.c.event == event,
        limitation_event.c.on == on,
        limitation_event.c.source == source,
    )
    found = conn.execute(
        select(limitation_event.c.id, limitation_event.c.until).where(*key)
    ).first()
    if found is not None:
        if until is not None and found.until != until:
            conn.execute(limitation_event.update().where(*key).values(until=until))
        return found.id
    event_id = conn.execute(
        limitation_event.insert()
        .values(
            contributor_id=contributor_id,
            period=period,
            event=event,
            on=on,
            until=until,
            source=source,
            recorded_at=datetime.now(UTC),
        )
        .returning(limitation_event.c.id)
    ).scalar_one()
    audit.record(
        conn,
        system_actor(STEP_ACTOR),
        "limitation.event_recorded",
        "contributor",
        contributor_id,
        {"period": period, "event": event, "on": on.isoformat(), "source": source},
    )
    return event_id


def events_of(
    conn: Connection, contributor_ids: Iterable[int]
) -> dict[tuple[int, str], list[rules.LimitationEvent]]:
    """The acts recorded for the given contributors, by (contributor, period). For many
    contributors the (small) table is read whole rather than by lists of ids."""
    out: dict[tuple[int, str], list[rules.LimitationEvent]] = defaultdict(list)
    wanted = sorted(set(contributor_ids))
    t = limitation_event
    columns = (t.c.contributor_id, t.c.period, t.c.event, t.c.on, t.c.until)
    if len(wanted) > 10 * CHUNK:
        chunks = [select(*columns)]
        keep = set(wanted)
    else:
        chunks = [
            select(*columns).where(t.c.contributor_id.in_(wanted[i : i + CHUNK]))
            for i in range(0, len(wanted), CHUNK)
        ]
        keep = None
    for query in chunks:
        for cid, period, event, on, until in conn.execute(query):
            if keep is None or cid in keep:
                out[(cid, period)].append(rules.LimitationEvent(on, event, until))
    return out


# --- one debt --------------------------------------------------------------------------------


def limitation_date(
    conn: Connection, contributor_id: int, fund: str, item: str, period: str
) -> date:
    """Last day on which the debt (contributor, fund, item, period) may still be pursued."""
    scheme = conn.scalar(select(contributor.c.kind).where(contributor.c.id == contributor_id))
    if scheme is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    due = conn.scalar(
        select(call.c.due_date).where(
            call.c.contributor_id == contributor_id, call.c.period == period
        )
    )
    events = events_of(conn, [contributor_id]).get((contributor_id, period), [])
    paid_on = None
    if _kind(item) == "surcharge":
        paid_on = principal_payments(conn, [(contributor_id, fund, period)]).get(
            (contributor_id, fund, period)
        )
    return rules.expiry(load_parameters(), scheme, _kind(item), period, due, events, paid_on)


def is_prescribed(conn: Connection, contributor_id: int, period: str, on: date) -> bool:
    """Whether the period's debts can no longer be pursued on `on`: all its open debts are past
    their limitation date (its principal's, when nothing is open)."""
    rows = limitation_dates(conn, contributor_ids=[contributor_id], periods=[period])
    dates = [r.limitation_date for r in rows if r.limitation_date is not None]
    if not dates:
        dates = [limitation_date(conn, contributor_id, "", "principal", period)]
    return all(rules.is_prescribed(d, on) for d in dates)


def _kind(item: str) -> str:
    kind = item_kind(item)
    return "surcharge" if kind == "surcharge" else "principal"


# --- all debts, set-based --------------------------------------------------------------------


def _rule_ranges(params: ParameterSet, scheme: str, kind: str) -> list[tuple[int, int, object]]:
    """(first year, last year, rule) for the years the dated rules cover, equal rules merged."""
    ranges: list[tuple[int, int, object]] = []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        rule = rules.claim_rule(params, scheme, kind, year)
        if ranges and ranges[-1][2] == rule:
            ranges[-1] = (ranges[-1][0], year, rule)
        else:
            ranges.append((year, year, rule))
    return ranges


def _last_basis_year(rule: rules.ClaimRule, until: date) -> int:
    """The last basis year whose claim expiry falls on or before `until`."""
    late = (rule.month, rule.day) > (until.month, until.day)
    return until.year - rule.years_after - late


class _Columns(NamedTuple):
    year: object  # the period's year
    due_year: object  # the due date's year, or the period's when there is no call
    surcharge: object  # the item is a surcharge


def _debts(conn: Connection) -> tuple[object, _Columns]:
    """The open debts joined to their scheme and call, and the columns the rules read."""
    b = account_balance
    year = cast(func.substr(b.c.period, 1, 4), Integer)
    due_year = func.coalesce(cast(extract("year", call.c.due_date), Integer), year)
    surcharge = b.c.item.in_(sorted(SURCHARGE_ITEMS))
    source = b.join(contributor, contributor.c.id == b.c.contributor_id).outerjoin(
        call, and_(call.c.contributor_id == b.c.contributor_id, call.c.period == b.c.period)
    )
    return source, _Columns(year, due_year, surcharge)


def _row_query(conn: Connection, source=None) -> tuple[object, _Columns]:
    """The open debts, one row each with what their date depends on."""
    debts, cols = _debts(conn)
    source = debts if source is None else source
    b = account_balance
    query = select(
        b.c.contributor_id,
        b.c.fund,
        b.c.item,
        b.c.period,
        b.c.balance,
        call.c.due_date,
        contributor.c.kind,
        cols.year.label("year"),
        cols.due_year.label("due_year"),
    ).select_from(source)
    return _open(query), cols


def _open(query):
    b = account_balance
    return query.where(b.c.ledger_account == RECEIVABLE, b.c.balance > 0, b.c.item != CREDIT_ITEM)


def _until_clause(params: ParameterSet, cols: _Columns, until: date):
    """Rows whose claim expiry is on or before `until`, as integer comparisons on years."""
    clauses = []
    for scheme in rules.SCHEMES:
        for kind in ("principal", "surcharge"):
            of_kind = cols.surcharge if kind == "surcharge" else ~cols.surcharge
            for first, last, rule in _rule_ranges(params, scheme, kind):
                # a payment only moves a surcharge's basis later: the due year bounds it
                basis = cols.year if rule.basis == "period" else cols.due_year
                clauses.append(
                    and_(
                        contributor.c.kind == scheme,
                        of_kind,
                        cols.year.between(first, last),
                        basis <= _last_basis_year(rule, until),
                    )
                )
    return or_(*clauses)


class _Claims:
    """Claim expiries by (scheme, surcharge, period year, due year), computed once each."""

    def __init__(self, params: ParameterSet):
        self.params = params
        self.cache: dict[tuple, date | None] = {}
        self.rules: dict[tuple, rules.ClaimRule | None] = {}

    def rule(self, scheme: str, surcharge: bool, year: int) -> rules.ClaimRule | None:
        key = (scheme, surcharge, year)
        if key not in self.rules:
            kind = "surcharge" if surcharge else "principal"
            in_range = FIRST_YEAR <= year <= LAST_YEAR
            self.rules[key] = (
                rules.claim_rule(self.params, scheme, kind, year) if in_range else None
            )
        return self.rules[key]

    def __call__(
        self, scheme: str, surcharge: bool, year: int, due_year: int, paid_year: int | None = None
    ) -> date | None:
        key = (scheme, surcharge, year, due_year, paid_year)
        if key not in self.cache:
            rule = self.rule(scheme, surcharge, year)
            if rule is None:
                self.cache[key] = None
            elif rule.basis == "period":
                self.cache[key] = rule.expiry(year)
            elif rule.basis == "payment" and paid_year is not None:
                self.cache[key] = rule.expiry(max(due_year, paid_year))
            else:
                self.cache[key] = rule.expiry(due_year)
        return self.cache[key]


def principal_payments(
    conn: Connection, keys: Iterable[tuple[int, str, str]]
) -> dict[tuple[int, str, str], date]:
    """For each (contributor, fund, period), the day its contributions were fully paid: the last
    payment on its principal items, when their receivable balance is nil (L244-3 al. 3 counts a
    surcharge from the end of that year). Keys still owing, or without principal, are absent."""
    wanted = sorted(set(keys))
    out: dict[tuple[int, str, str], date] = {}
    p = journal_posting
    principal = and_(
        p.c.item.not_in(sorted(SURCHARGE_ITEMS)),
        ~p.c.item.startswith(PENALTY_PREFIX),
        p.c.item != CREDIT_ITEM,
    )
    for i in range(0, len(wanted), 5 * CHUNK):
        chunk = wanted[i : i + 5 * CHUNK]
        paid = func.max(case((p.c.amount < 0, p.c.value_date), else_=None))
        query = (
            select(p.c.contributor_id, p.c.fund, p.c.period, func.sum(p.c.amount), paid)
            .where(
                p.c.ledger_account == RECEIVABLE,
                p.c.contributor_id.in_(sorted({k[0] for k in chunk})),
                p.c.period.in_(sorted({k[2] for k in chunk})),
                principal,
            )
            .group_by(p.c.contributor_id, p.c.fund, p.c.period)
        )
        wanted_here = set(chunk)
        for cid, fund, period, balance, last in conn.execute(query):
            if (cid, fund, period) in wanted_here and balance <= 0 and last is not None:
                out[(cid, fund, period)] = last
    return out


def limitation_dates(
    conn: Connection,
    *,
    contributor_ids: Iterable[int] | None = None,
    periods: Iterable[str] | None = None,
    until: date | None = None,
) -> list[DebtLimitation]:
    """The limitation date of every open debt (or of the given contributors' / periods'), with
    `until` only those whose date is on or before it."""
    params = load_parameters()
    query, cols = _row_query(conn)
    b = account_balance
    if periods is not None:
        query = query.where(b.c.period.in_(sorted(set(periods))))
    if until is not None:
        query = query.where(_until_clause(params, cols, until))
    if contributor_ids is None:
        rows = conn.execute(query).all()
    else:
        wanted = sorted(set(contributor_ids))
        rows = list(
            itertools.chain.from_iterable(
                conn.execute(query.where(b.c.contributor_id.in_(wanted[i : i + CHUNK]))).all()
                for i in range(0, len(wanted), CHUNK)
            )
        )
    return _dated(conn, params, rows, until)


def _dated(
    conn: Connection, params: ParameterSet, rows, until: date | None
) -> list[DebtLimitation]:
    """The rows' limitation dates: the claim rule by group, then a surcharge's paid principal
    and the recorded acts, which can only make a date later."""
    events = events_of(conn, {r.contributor_id for r in rows})
    claims = _Claims(params)
    surcharges = SURCHARGE_ITEMS
    paid_keys = set()
    for cid, fund, item, period, _, _, kind, year, _ in rows:
        if item in surcharges:
            rule = claims.rule(kind, True, year)
            if rule is not None and rule.basis == "payment":
                paid_keys.add((cid, fund, period))
    paid = principal_payments(conn, paid_keys) if paid_keys else {}
    out = []
    for cid, fund, item, period, balance, due_date, kind, year, due_year in rows:
        surcharge = item in surcharges
        paid_on = paid.get((cid, fund, period)) if surcharge and paid else None
        expires = claims(kind, surcharge, year, due_year, paid_on.year if paid_on else None)
        if events:
            acts = events.get((cid, period))
            if acts and expires is not None:
                expires = rules.expiry(params, kind, _kind(item), period, due_date, acts, paid_on)
        if until is not None and expires is not None and expires > until:
            continue
        out.append(DebtLimitation(cid, fund, item, period, int(balance), due_date, expires))
    out.sort(key=_order)
    return out


def _order(d: DebtLimitation) -> tuple:
    return (d.limitation_date or date.max, d.contributor_id, d.period, d.item)


def limitation_counts(conn: Connection) -> dict[int | None, tuple[int, int]]:
    """(number of debts, amount in cents) by year of limitation date, for all open debts: the
    debts are grouped by what their date depends on, so the rules run once per group; surcharges
    whose contributions are no longer owed (perhaps paid) and debts with acts are dated one by one."""
    params = load_parameters()
    source, cols = _debts(conn)
    b = account_balance
    without_acts = ~exists().where(
        limitation_event.c.contributor_id == b.c.contributor_id,
        limitation_event.c.period == b.c.period,
    )
    other = account_balance.alias("principal")
    principal_open = exists().where(
        other.c.contributor_id == b.c.contributor_id,
        other.c.ledger_account == RECEIVABLE,
        other.c.fund == b.c.fund,
        other.c.period == b.c.period,
        other.c.balance > 0,
        other.c.item.not_in([*sorted(SURCHARGE_ITEMS), CREDIT_ITEM]),
        ~other.c.item.startswith(PENALTY_PREFIX),
    )
    # a surcharge whose principal is still owed counts from exigibility: dated by group; the
    # others may have been paid, and are dated one by one from the journal
    by_group = case((cols.surcharge, principal_open), else_=True).label("by_group")
    keys = (contributor.c.kind, cols.surcharge, cols.year, cols.due_year, by_group)
    query = _open(
        select(*keys, func.count(), func.sum(b.c.balance)).select_from(source).where(without_acts)
    ).group_by(*keys)
    claims = _Claims(params)
    out: dict[int | None, tuple[int, int]] = {}

    def add(limit: date | None, count: int, amount: int) -> None:
        year = None if limit is None else limit.year
        before = out.get(year, (0, 0))
        out[year] = (before[0] + count, before[1] + amount)

    one_by_one = False
    for kind, surcharge, year, due_year, grouped, count, amount in conn.execute(query):
        if grouped:
            add(claims(kind, bool(surcharge), year, due_year), int(count), int(amount or 0))
        else:
            one_by_one = True
    if one_by_one:
        rows, _ = _row_query(conn)
        unpaid = conn.execute(rows.where(without_acts, cols.surcharge, ~principal_open)).all()
        for d in _dated(conn, params, unpaid, None):
            add(d.limitation_date, 1, d.amount)
    ids = [r[0] for r in conn.execute(select(limitation_event.c.contributor_id).distinct())]
    acted = events_of(conn, ids)
    for d in limitation_dates(conn, contributor_ids=ids):
        if (d.contributor_id, d.period) in acted:
            add(d.limitation_date, 1, d.amount)
    return out


# --- reading, for agents ---------------------------------------------------------------------


def stock_counts(engine: Engine, actor: Actor) -> dict[int | None, tuple[int, int]]:
    """`limitation_counts` of the whole stock, for the operators who run the cycle."""
    require(actor, Permission.CYCLE_RUN)
    with engine.connect() as conn:
        return limitation_counts(conn)


def dates_for(engine: Engine, actor: Actor, contributor_id: int) -> list[DebtLimitation]:
    """The open debts of one contributor with their limitation dates."""
    require(actor, Permission.LEDGER_READ)
    with engine.connect() as conn:
        check_contributors(conn, actor, [contributor_id])
        return limitation_dates(conn, contributor_ids=[contributor_id])


def alerts(engine: Engine, actor: Actor, on: date) -> list[dict]:
    """The debts listed as soon prescribed and not yet past their date on `on`, of the accounts
    within the actor's reach."""
    require(actor, Permission.LEDGER_READ)
    with engine.connect() as conn:
        rows = conn.execute(
            select(limitation_alert)
            .where(limitation_alert.c.limitation_date >= on)
            .order_by(limitation_alert.c.limitation_date, limitation_alert.c.contributor_id)
        ).mappings()
        rows = [dict(r) for r in rows]
        if actor.is_system or not rows:
            return rows
        ids = sorted({r["contributor_id"] for r in rows})
        organisations = dict(
            conn.execute(
                select(contributor.c.id, contributor.c.organisation_id).where(
                    contributor.c.id.in_(ids)
                )
            ).all()
        )
        return [r for r in rows if _reaches(actor, r["contributor_id"], organisations)]


def _reaches(actor: Actor, contributor_id: int, organisations: dict[int, int]) -> bool:
    """An agent lists only the alerts of the accounts within their reach."""
    try:
        require_contributor(actor, contributor_id, organisations.get(contributor_id))
    except Forbidden:
        return False
    return True


# --- daily step ------------------------------------------------------------------------------


def limitation_step(engine: Engine, day: date, progress: Progress | None = None) -> StepReport:
    """Lists the debts prescribed within `limitation.alert_days` and proposes the prescribed ones
    for write-off, once each (step of the daily cycle)."""
    report = StepReport("limitation")
    horizon = load_parameters().value("limitation.alert_days", day)
    with engine.connect() as conn:
        near = limitation_dates(conn, until=day + timedelta(days=horizon))
    near = [d for d in near if d.limitation_date is not None]
    soon = [d for d in near if not rules.is_prescribed(d.limitation_date, day)]
    prescribed = [d for d in near if rules.is_prescribed(d.limitation_date, day)]
    total = len(soon) + len(prescribed)
    done = 0
    for i in range(0, len(soon), BATCH):
        batch = soon[i : i + BATCH]
        with UnitOfWork(engine) as uow:
            added = _add_alerts(uow.conn, batch, day)
            uow.commit()
        for d in added:
            report.add("limitation_alerts", 1, d.amount)
        done += len(batch)
        if progress:
            progress(done, total)
    by_contributor: dict[int, list[DebtLimitation]] = defaultdict(list)
    for d in prescribed:
        by_contributor[d.contributor_id].append(d)
    ids = sorted(by_contributor)
    for i in range(0, len(ids), BATCH):
        with UnitOfWork(engine) as uow:
            for cid in ids[i : i + BATCH]:
                proposed = _propose(uow.conn, cid, by_contributor[cid], day)
                if proposed is None:
                    report.add("prescribed_not_proposed", len(by_contributor[cid]))
                elif proposed:
                    report.add(
                        "prescribed_proposed", len(proposed), sum(d.amount for d in proposed)
                    )
            uow.commit()
        done += sum(len(by_contributor[c]) for c in ids[i : i + BATCH])
        if progress:
            progress(done, total)
    return report


def _add_alerts(conn: Connection, debts: list[DebtLimitation], day: date) -> list[DebtLimitation]:
    t = limitation_alert
    keys = [(d.contributor_id, d.fund, d.item, d.period, d.limitation_date) for d in debts]
    existing = set(
        tuple(r)
        for r in conn.execute(
            select(t.c.contributor_id, t.c.fund, t.c.item, t.c.period, t.c.limitation_date).where(
                t.c.contributor_id.in_(sorted({k[0] for k in keys}))
            )
        )
    )
    new = [d for d, k in zip(debts, keys, strict=True) if k not in existing]
    if new:
        conn.execute(
            t.insert(),
            [
                {
                    "contributor_id": d.contributor_id,
                    "fund": d.fund,
                    "item": d.item,
                    "period": d.period,
                    "limitation_date": d.limitation_date,
                    "amount": d.amount,
                    "alerted_on": day,
                }
                for d in new
            ],
        )
        audit.record(
            conn,
            system_actor(STEP_ACTOR),
            "limitation.alerts_listed",
            "limitation_alert",
            day.isoformat(),
            {"count": len(new), "amount": sum(d.amount for d in new)},
        )
    return new


def _propose(
    conn: Connection, contributor_id: int, debts: list[DebtLimitation], day: date
) -> list[DebtLimitation] | None:
    """The debts newly proposed for write-off; None when the proposal was refused."""
    from recouvrement.services.write_offs import propose_write_off  # owned by write-offs

    t = limitation_proposal
    done = set(
        tuple(r)
        for r in conn.execute(
            select(t.c.fund, t.c.item, t.c.period).where(
                t.c.contributor_id == contributor_id,
                tuple_(t.c.fund, t.c.item, t.c.period).in_(
                    [(d.fund, d.item, d.period) for d in debts]
                ),
            )
        )
    )
    new = [d for d in debts if (d.fund, d.item, d.period) not in done]
    if not new:
        return []
    try:
        with conn.begin_nested():
            proposal_id = propose_write_off(
                conn,
                system_actor(STEP_ACTOR),
                contributor_id,
                [(d.fund, d.item, d.period) for d in new],
                "prescribed",
                day,
                f"limitation:{contributor_id}:{day.isoformat()}",
            )
    except DomainError:
        # a key in a pending proposal (an agent's), or no agreement to open the case under on
        # that day: nothing is marked, so the debt is proposed on a later day
        return None
    conn.execute(
        t.insert(),
        [
            {
                "contributor_id": contributor_id,
                "fund": d.fund,
                "item": d.item,
                "period": d.period,
                "limitation_date": d.limitation_date,
                "amount": d.amount,
                "proposal_id": proposal_id,
                "proposed_on": day,
            }
            for d in new
        ],
    )
    return new
