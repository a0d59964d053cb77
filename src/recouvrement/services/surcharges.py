"""Late surcharges: the daily-cycle step, set-based, and the self-employed under-estimate surcharge.

The step handles **anniversary days** (a due date plus whole months) in order, from the day after
the last one recorded in `surcharge_run` to the day before the cycle's day: for each day A, one SQL
aggregate finds the debts of every ordinary call due on a date of which A is an anniversary, with
their principal unpaid at the end of A (current balance minus what was posted with a later value
date), and posts their surcharges dated A + 1 under keys
`surcharge:<contributor>:<fund>:<item>:<period>:initial` and `…:<YYYY-MM-DD of A>`. A missed day is
caught up with its own key and its own as-of base, so running every day or only the last one gives
the same ledger; a crash replays the day, and the keys make the replay post nothing.

Audit adjustments (calls of kind `audit_adjustment`) are few and follow R243-17: they are computed
debt by debt from their journal history (domain.surcharges.audit_surcharges).

Principal that arrives after its due date (a late declaration) is caught up on the day it arrives:
the anniversaries that passed before it are charged on their own keys, valued that day.

Only debts with a call are surcharged (their due date is the call's); see docs/surcharges.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import Connection, Engine, and_, func, insert, select, union_all

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.surcharge_tables import surcharge_run
from recouvrement.adapters.db.tables import (
    account_balance,
    contributor,
    journal_entry,
    journal_posting,
)
from recouvrement.domain.actors import Actor, Permission, require, require_contributor, system_actor
from recouvrement.domain.errors import DomainError, NotFound
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.money import format_euros_fr
from recouvrement.domain.periods import Period
from recouvrement.domain.surcharges import (
    ADDITIONAL_ITEM,
    UNDERESTIMATE_ITEM,
    UNDERESTIMATE_KEY,
    AuditRegime,
    Scale,
    SurchargeLine,
    audit_additional_from,
    audit_surcharges,
    initial_surcharge,
    is_anniversary,
    is_principal,
    ordinary_surcharges,
    surcharge_amount,
    underestimate_rate,
)
from recouvrement.rules.parameters import ParameterError, load_parameters
from recouvrement.services import audit
from recouvrement.services.daily_cycle_report import Progress, StepReport
from recouvrement.services.ledger import post_entries
from recouvrement.services.ledger_bulk import post_entries_bulk
from recouvrement.services.unit_of_work import UnitOfWork

AUDIT_KIND = "audit_adjustment"
# Calls whose principal is posted after its due date without being late: audit adjustments follow
# their own rule; the Mayotte stock taken over carries the surcharges the former fund counted.
NOT_LATE_KINDS = (AUDIT_KIND, "legacy_stock")
STEP_ACTOR = system_actor("cycle quotidien : majorations")
CHUNK = 50_000  # entries per committed batch
ONE = timedelta(days=1)
_MONTHLY = Scale(None, Decimal(0), 1, 0)  # the finest scale: due dates worth a query on a day
_LABELS = {
    "surcharge_initial": "Majoration de retard initiale",
    "surcharge_additional": "Majoration de retard complémentaire",
    "surcharge_audit": "Majoration complémentaire après contrôle",
    "surcharge_underestimate": "Majoration pour sous-estimation du revenu",
}


@lru_cache(maxsize=4096)
def scale_of_period(period: str) -> Scale:
    """The ordinary scale of a debt, looked up on the first day of its period (décret 2018-174
    art. 14 dates the 0.2 % rate by the periods of activity from 1 January 2018)."""
    on = Period.parse(period).start
    value = load_parameters().value
    return Scale(
        value("late_surcharges.initial_rate", on),
        value("late_surcharges.additional_rate", on),
        value("late_surcharges.additional_step_months", on),
        value("late_surcharges.additional_first_months", on),
    )


@lru_cache(maxsize=4096)
def audit_regime(period: str, notice_date: date) -> AuditRegime:
    """The audit rules in force on the day of the notice (mise en demeure)."""
    value = load_parameters().value
    return AuditRegime(
        notice_date=notice_date,
        additional_from=audit_additional_from(
            Period.parse(period).end,
            value("late_surcharges.audit_additional_from_month", notice_date),
        ),
        reduced_rate=value("late_surcharges.audit_reduced_rate", notice_date),
        window_days=value("late_surcharges.audit_reduction_window_days", notice_date),
        initial_applies=value("late_surcharges.audit_initial_applies", notice_date),
    )


def surcharge_entry(contributor_id: int, fund: str, item: str, period: str, line) -> Entry:
    """Receivable debit on the surcharge item, fund revenue credit: same fund and period."""
    label = _LABELS.get(line.item, "Majoration")
    return Entry(
        f"surcharge:{contributor_id}:{fund}:{item}:{period}:{line.key_suffix}",
        line.value_date,
        Cause.SURCHARGE.value,
        (
            Posting(LedgerAccount.RECEIVABLE, contributor_id, fund, line.item, period, line.amount),
            Posting(LedgerAccount.FUND_REVENUE, None, fund, line.item, period, -line.amount),
        ),
        description=f"{label} ({line.rate * 100:g} %) sur {format_euros_fr(line.base)}",
    )


def _principal(table):
    return and_(
        table.c.item.notlike("surcharge%"),
        table.c.item.notlike("penalty%"),
        table.c.item.notin_(["", "credit"]),
    )


def _unpaid_on(conn: Connection, day: date, due_dates: list[date]):
    """Principal unpaid at the end of `day` for the ordinary calls due on `due_dates`."""
    b, p, c = account_balance, journal_posting, call
    ordinary = and_(c.c.due_date.in_(due_dates), c.c.kind != AUDIT_KIND)
    current = (
        select(b.c.contributor_id, b.c.fund, b.c.item, b.c.period, c.c.due_date,
               b.c.balance.label("amount"))
        .select_from(c.join(b, and_(b.c.contributor_id == c.c.contributor_id,
                                    b.c.period == c.c.period)))
        .where(ordinary, b.c.ledger_account == LedgerAccount.RECEIVABLE.value,
               b.c.balance != 0, _principal(b))
    )  # fmt: skip
    later = (
        select(p.c.contributor_id, p.c.fund, p.c.item, p.c.period, c.c.due_date,
               (-p.c.amount).label("amount"))
        .select_from(p.join(c, and_(c.c.contributor_id == p.c.contributor_id,
                                    c.c.period == p.c.period)))
        .where(ordinary, p.c.value_date > day, p.c.contributor_id.isnot(None),
               p.c.ledger_account == LedgerAccount.RECEIVABLE.value, _principal(p))
    )  # fmt: skip
    u = union_all(current, later).subquery()
    keys = (u.c.contributor_id, u.c.fund, u.c.item, u.c.period, u.c.due_date)
    total = func.sum(u.c.amount)
    return conn.execute(select(*keys, total).group_by(*keys).having(total > 0)).all()


def _ordinary_entries(rows, day: date, report: StepReport) -> list[Entry]:
    """The surcharges opened at the end of `day` on the rows of _unpaid_on."""
    entries: list[Entry] = []
    for cid, fund, item, period, due_date, total in rows:
        if not is_principal(item):
            continue
        unpaid = int(total)  # SUM of a BIGINT is NUMERIC on PostgreSQL
        try:
            scale = scale_of_period(period)
        except ParameterError:
            report.add("surcharge_rules_unknown")
            continue
        lines: list[SurchargeLine] = []
        if due_date == day:
            initial = initial_surcharge(
                due_date, scale.initial_rate, lambda _, base=unpaid: base, day + ONE
            )
            if initial is not None:
                lines.append(initial)
        if is_anniversary(due_date, scale, day):
            amount = surcharge_amount(int(unpaid), scale.additional_rate)
            if amount > 0:
                lines.append(
                    SurchargeLine(ADDITIONAL_ITEM, day.isoformat(), day + ONE, unpaid,
                                  scale.additional_rate, amount)
                )  # fmt: skip
        entries.extend(surcharge_entry(cid, fund, item, period, line) for line in lines)
    return entries


def _due_dates(conn: Connection) -> list[date]:
    """The distinct due dates of the calls, by a loose index scan (one probe per date)."""
    dates: list[date] = []
    current = conn.scalar(select(func.min(call.c.due_date)))
    while current is not None:
        dates.append(current)
        current = conn.scalar(select(func.min(call.c.due_date)).where(call.c.due_date > current))
    return dates


def _anniversary_dates(due_dates: Iterable[date], day: date) -> list[date]:
    """The due dates of which `day` is the due date itself or a monthly anniversary (the finer
    scale; the quarterly one is checked per debt)."""
    out = []
    for due in due_dates:
        if due > day:
            break
        if is_anniversary(due, _MONTHLY, day):
            out.append(due)
    return out


def _audit_entries(conn: Connection, first: date, day: date, report: StepReport) -> list[Entry]:
    """Surcharges of audit adjustments with a value date from `first` to `day`, from history."""
    c, p = call, journal_posting
    calls = {
        (cid, period): (issue, due)
        for cid, period, issue, due in conn.execute(
            select(c.c.contributor_id, c.c.period, c.c.issue_date, c.c.due_date).where(
                c.c.kind == AUDIT_KIND, c.c.issue_date < day
            )
        )
    }
    if not calls:
        return []
    history: dict[tuple, list[tuple[date, int]]] = defaultdict(list)
    rows = conn.execute(
        select(p.c.contributor_id, p.c.fund, p.c.item, p.c.period, p.c.value_date, p.c.amount)
        .select_from(
            p.join(c, and_(c.c.contributor_id == p.c.contributor_id, c.c.period == p.c.period))
        )
        .where(
            c.c.kind == AUDIT_KIND,
            c.c.issue_date < day,
            p.c.ledger_account == LedgerAccount.RECEIVABLE.value,
            _principal(p),
        )
    )
    for cid, fund, item, period, value_date, amount in rows:
        history[(cid, fund, item, period)].append((value_date, amount))
    entries: list[Entry] = []
    for (cid, fund, item, period), moves in history.items():
        issue, due = calls[(cid, period)]
        try:
            scale, regime = scale_of_period(period), audit_regime(period, issue)
        except ParameterError:
            report.add("surcharge_rules_unknown")
            continue

        def unpaid_at(on: date, moves=moves) -> int:
            return sum(amount for value_date, amount in moves if value_date <= on)

        for line in audit_surcharges(due, scale, regime, unpaid_at, day):
            if first <= line.value_date <= day:
                entries.append(surcharge_entry(cid, fund, item, period, line))
    return entries


def _late_entries(conn: Connection, first: date, last: date, report: StepReport) -> list[Entry]:
    """Surcharges of principal that arrived after its due date (a late declaration), for the
    anniversaries that passed before it arrived: they were handled when the debt was not yet
    known. Valued on the day it arrived; keys already posted are left alone."""
    p, c, e = journal_posting, call, journal_entry
    arrivals = conn.execute(
        select(p.c.contributor_id, p.c.fund, p.c.item, p.c.period, c.c.due_date,
               func.min(p.c.value_date))
        .select_from(p.join(c, and_(c.c.contributor_id == p.c.contributor_id,
                                    c.c.period == p.c.period)))
        .where(p.c.ledger_account == LedgerAccount.RECEIVABLE.value, _principal(p),
               p.c.amount > 0, p.c.value_date >= first, p.c.value_date <= last,
               p.c.value_date > c.c.due_date, c.c.kind.notin_(NOT_LATE_KINDS))
        .group_by(p.c.contributor_id, p.c.fund, p.c.item, p.c.period, c.c.due_date)
    ).all()  # fmt: skip
    entries: list[Entry] = []
    for cid, fund, item, period, due, arrived in arrivals:
        try:
            scale = scale_of_period(period)
        except ParameterError:
            report.add("surcharge_rules_unknown")
            continue
        moves = conn.execute(
            select(p.c.value_date, p.c.amount).where(
                p.c.contributor_id == cid, p.c.fund == fund, p.c.item == item,
                p.c.period == period, p.c.ledger_account == LedgerAccount.RECEIVABLE.value,
                p.c.value_date <= last,
            )
        ).all()  # fmt: skip
        owed = sum(amount for _, amount in moves if amount > 0)

        def unpaid_at(on: date, moves=moves, owed=owed) -> int:
            return owed + sum(amount for day, amount in moves if amount < 0 and day <= on)

        for line in ordinary_surcharges(due, scale, unpaid_at, arrived):
            entries.append(
                surcharge_entry(cid, fund, item, period, line._replace(value_date=arrived))
            )
    if not entries:
        return []
    keys = [entry.idempotency_key for entry in entries]
    posted = set()
    for i in range(0, len(keys), 1000):
        posted.update(
            conn.scalars(
                select(e.c.idempotency_key).where(e.c.idempotency_key.in_(keys[i : i + 1000]))
            )
        )
    late = [entry for entry in entries if entry.idempotency_key not in posted]
    report.add("late_debts", len(arrivals))
    return late


def _first_anniversary(engine: Engine) -> tuple[date | None, bool]:
    """The first anniversary day to handle, and whether an earlier run already handled days."""
    with engine.connect() as conn:
        last = conn.scalar(select(func.max(surcharge_run.c.anniversary)))
        if last is not None:
            return last + ONE, True
        return conn.scalar(select(func.min(call.c.due_date))), False


def _record_days(engine: Engine, days: list[tuple[date, int]], run_on: date) -> None:
    if not days:
        return
    now = datetime.now(UTC)
    with UnitOfWork(engine) as uow:
        uow.conn.execute(
            insert(surcharge_run),
            [
                {"anniversary": a, "run_on": run_on, "entries": n, "recorded_at": now}
                for a, n in days
            ],
        )
        uow.commit()


def surcharges_step(engine: Engine, day: date, progress: Progress | None = None) -> StepReport:
    """Post every surcharge whose value date is on or before `day` and not yet posted.

    Anniversaries handled: from the day after the last one recorded (or the earliest due date)
    to `day` - 1, each with its own as-of base. Idempotent: a second run finds nothing to do.
    """
    report = StepReport("surcharges")
    first, resumed = _first_anniversary(engine)
    last = day - ONE
    if first is None or first > last:
        return report
    with engine.connect() as conn:
        due_dates = _due_dates(conn)
        # the first run also takes audit surcharges dated before the earliest due date
        audit_lines = _audit_entries(conn, first + ONE if resumed else date.min, day, report)
        late_lines = _late_entries(conn, first, last, report)
    entries_total = _post_counted(engine, audit_lines, report)
    entries_total += _post_counted(engine, late_lines, report)
    total_days = (last - first).days + 1
    pending: list[tuple[date, int]] = []
    anniversary = first
    done = 0
    while anniversary <= last:
        dates = _anniversary_dates(due_dates, anniversary)
        posted = 0
        if dates:
            with engine.connect() as conn:
                rows = _unpaid_on(conn, anniversary, dates)
            report.add("debts_examined", len(rows))
            posted = _post_counted(engine, _ordinary_entries(rows, anniversary, report), report)
            entries_total += posted
        pending.append((anniversary, posted))
        if dates or len(pending) >= 1000:
            _record_days(engine, pending, day)
            pending = []
        done += 1
        if progress is not None and (dates or done == total_days):
            progress(done, total_days)
        anniversary += ONE
    _record_days(engine, pending, day)
    report.add("anniversary_days", total_days)
    if entries_total:
        with UnitOfWork(engine) as uow:
            audit.record(
                uow.conn, STEP_ACTOR, "surcharges.post", "cycle_day", day.isoformat(),
                {"from": first.isoformat(), "to": last.isoformat(), "entries": entries_total,
                 "counts": report.counts, "amounts": report.amounts},
            )  # fmt: skip
            uow.commit()
    return report


def _post_counted(engine: Engine, entries: list[Entry], report: StepReport) -> int:
    """Posts in committed chunks; counts and sums by surcharge item what was newly posted."""
    posted = 0
    for i in range(0, len(entries), CHUNK):
        chunk = entries[i : i + CHUNK]
        result = post_entries_bulk(engine, STEP_ACTOR, chunk, source="surcharges")
        posted += result.posted
        if result.already_posted:
            report.add("surcharges_already_posted", result.already_posted)
        if result.posted and not result.already_posted:
            for entry in chunk:
                line = entry.postings[0]
                report.add(f"{line.item}_posted", 1, line.amount)
        elif result.posted:
            report.add("surcharges_posted", result.posted)
    return posted


def _cents(value: object, field: str) -> int:
    if type(value) is not int or value < 0:
        raise DomainError.single(
            field, f"montant en centimes entiers positifs attendu : {value!r}", "not_cents"
        )
    return value


def underestimate_surcharge(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    year: int,
    estimated_income_cents: int,
    actual_income_cents: int,
    today: date,
    shortfalls: Mapping[tuple[str, str], int],
) -> dict:
    """The self-employed surcharge on an under-estimated income (CSS L131-6-2 al. 4).

    Called by the regularisation of `year` once the final income is known. `shortfalls` is the
    insufficiency of the provisional payments found by the regularisation, in cents, by
    (fund, contribution item): the surcharge is posted on the same fund and item's period (the
    year) as the contributions it sanctions, under the key
    `surcharge:<contributor>:<fund>:<item>:<year>:underestimate`, so a replay posts nothing.
    Nothing is posted when the final income is not more than a third above the estimate, or for a
    year the law exempts (2018, 2019, and from 2022).
    """
    require(actor, Permission.SURCHARGES_APPLY)
    estimated = _cents(estimated_income_cents, "estimated_income_cents")
    actual = _cents(actual_income_cents, "actual_income_cents")
    for (fund, item), amount in shortfalls.items():
        _cents(amount, f"shortfalls[{fund}:{item}]")
        if not is_principal(item):
            raise DomainError.single(
                f"shortfalls[{fund}:{item}]",
                f"une majoration ne porte que sur des cotisations, pas sur {item!r}",
                "not_principal",
            )
    on = date(year, 1, 1)
    params = load_parameters()
    try:
        rate = underestimate_rate(
            estimated,
            actual,
            Fraction(params.value("late_surcharges.underestimate_threshold", on)),
            params.value("late_surcharges.underestimate_rate", on),
            params.value("late_surcharges.underestimate_high_rate", on),
            params.value("late_surcharges.underestimate_high_ratio", on),
        )
    except ParameterError as err:
        raise DomainError.single("year", str(err), "rules_unknown") from None
    period = str(Period.year(year))
    lines = []
    if rate is not None:
        for (fund, item), shortfall in sorted(shortfalls.items()):
            amount = surcharge_amount(shortfall, rate)
            if amount > 0:
                line = SurchargeLine(
                    UNDERESTIMATE_ITEM, UNDERESTIMATE_KEY, today, shortfall, rate, amount
                )
                lines.append(surcharge_entry(contributor_id, fund, item, period, line))
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        organisation = conn.scalar(
            select(contributor.c.organisation_id).where(contributor.c.id == contributor_id)
        )
        if organisation is None:
            raise NotFound.single("contributor_id", "cotisant inconnu", "not_found")
        require_contributor(actor, contributor_id, organisation)
        results = post_entries(conn, system_actor(f"majoration:{actor.login}"), lines)
        total = sum(e.postings[0].amount for e in lines)
        audit.record(
            conn, actor, "surcharges.underestimate", "contributor", contributor_id,
            {"year": year, "estimated": estimated, "actual": actual,
             "rate": None if rate is None else str(rate), "amount": total,
             "posted": sum(r.posted for r in results)},
        )  # fmt: skip
        uow.commit()
    return {
        "due": rate is not None,
        "rate": rate,
        "amount": total,
        "posted": sum(r.posted for r in results),
        "already_posted": sum(not r.posted for r in results),
        "keys": [e.idempotency_key for e in lines],
    }
