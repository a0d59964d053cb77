"""Automatic remission of late surcharges (CSS R243-19-1), a step of the daily cycle.

Without a request, the director remits the surcharges of a due date when the contributor paid the
contributions and declared within the month after it, had no payment incident in the 24 months
before it, and the surcharges stay under a share of the monthly social-security ceiling (40 % from
2000, the whole ceiling from 2008: `rules/parameters/remission.yaml`, looked up on the due date).
Surcharges of audit adjustments are excluded (R243-19-1 as read by gereso.com and ig-conseils), so
are the audit and under-estimate items.

Per (contributor, period) whose ordinary surcharges are open and whose principal is paid, the step
posts per surcharge key `remission-auto:<contributor>:<fund>:<item>:<period>` (cause `decision`,
debit `fund_revenue` / credit `receivable`) and keeps an `automatic_remission` row; a key is
remitted once, so a re-run after a crash posts only what is missing. A period whose principal is
paid but which does not qualify keeps a row of amount 0 (no entry): nothing that decides can change
once the principal is paid, so it is not examined again. Only periods whose principal is paid are
examined at all. The step also closes the requests whose case was withdrawn through the generic
case API, lifting their hold.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import Connection, Engine, and_, select, update

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.cycle_tables import payment_incident
from recouvrement.adapters.db.remission_tables import automatic_remission, remission_request
from recouvrement.adapters.db.tables import account_balance, case_table, contributor
from recouvrement.domain import remission as rules
from recouvrement.domain.actors import system_actor
from recouvrement.domain.allocation import item_kind
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.surcharges import ADDITIONAL_ITEM, INITIAL_ITEM
from recouvrement.rules.parameters import ParameterError, load_parameters
from recouvrement.services import audit, collection_holds
from recouvrement.services import remission_records as records
from recouvrement.services.daily_cycle_report import Progress, StepReport
from recouvrement.services.ledger import post_entries
from recouvrement.services.unit_of_work import UnitOfWork

RULE = "R243-19-1"
ITEMS = (INITIAL_ITEM, ADDITIONAL_ITEM)
BATCH_SIZE = 500
RECEIVABLE = LedgerAccount.RECEIVABLE.value


def entry_key(contributor_id: int, fund: str, item: str, period: str) -> str:
    return f"remission-auto:{contributor_id}:{fund}:{item}:{period}"


def _candidates(conn: Connection, day: date) -> dict[int, dict[str, date]]:
    """contributor -> {period: due date} with open ordinary surcharges, past their due date, whose
    principal is paid: a period still owing its contributions cannot be remitted yet, so it is
    not examined (one set-based query instead of a dozen per late payer every day)."""
    b = account_balance
    principal = account_balance.alias("principal")
    unpaid_principal = (
        select(principal.c.contributor_id)
        .where(
            principal.c.contributor_id == b.c.contributor_id,
            principal.c.period == b.c.period,
            principal.c.ledger_account == RECEIVABLE,
            principal.c.balance > 0,
            principal.c.item.notlike("surcharge%"),
            principal.c.item.notlike("penalty%"),
            principal.c.item.notin_(["", "credit"]),
        )
        .exists()
    )
    rows = conn.execute(
        select(b.c.contributor_id, b.c.period, call.c.due_date)
        .distinct()
        .join(call, and_(call.c.contributor_id == b.c.contributor_id, call.c.period == b.c.period))
        .where(
            b.c.ledger_account == RECEIVABLE,
            b.c.item.in_(ITEMS),
            b.c.balance > 0,
            call.c.kind != "audit_adjustment",
            call.c.due_date < day,
            ~unpaid_principal,
            ~select(automatic_remission.c.id)
            .where(
                automatic_remission.c.contributor_id == b.c.contributor_id,
                automatic_remission.c.period == b.c.period,
                automatic_remission.c.fund == b.c.fund,
                automatic_remission.c.item == b.c.item,
                automatic_remission.c.rule == RULE,
            )
            .exists(),
        )
        .order_by(b.c.contributor_id, b.c.period)
    )
    out: dict[int, dict[str, date]] = defaultdict(dict)
    for r in rows:
        out[int(r.contributor_id)][r.period] = r.due_date
    return out


def _parameters(due: date, territory: str) -> tuple[int, int, int] | None:
    """(ceiling in cents, payment months, clean months) on the due date, None if unknown."""
    params = load_parameters()
    try:
        share = params.value("remission.automatic_ceiling_pss_share", due, territory)
        pss = params.value("social_security_ceiling.monthly", due, territory)
        months = params.value("remission.automatic_payment_months", due, territory)
        clean = params.value("remission.automatic_clean_months", due, territory)
    except ParameterError:
        return None
    if share is None:
        return None
    return rules.automatic_ceiling(share, pss), months, clean


def _remit_contributor(
    conn: Connection, cid: int, periods: dict[str, date], day: date, report: StepReport
) -> list[Entry]:
    territory = conn.scalar(select(contributor.c.territory).where(contributor.c.id == cid))
    balances = records.receivable_balances(conn, cid)
    unpaid = records.principal_unpaid(balances)
    done = {
        tuple(r)
        for r in conn.execute(
            select(
                automatic_remission.c.fund, automatic_remission.c.item, automatic_remission.c.period
            ).where(automatic_remission.c.contributor_id == cid, automatic_remission.c.rule == RULE)
        )
    }
    incidents = list(
        conn.scalars(
            select(payment_incident.c.detected_on).where(payment_incident.c.contributor_id == cid)
        )
    )
    principal_keys = {
        (f, p) for (f, i, p), v in balances.items() if item_kind(i) == "principal" and p in periods
    }
    dates = records.principal_dates(conn, cid, principal_keys)
    entries: list[Entry] = []
    for period, due in sorted(periods.items()):
        if any(amount > 0 for (_, p), amount in unpaid.items() if p == period):
            continue  # the principal is not paid yet: maybe later
        keys = [
            (f, i, p, amount)
            for (f, i, p), amount in sorted(balances.items())
            if p == period and i in ITEMS and amount > 0 and (f, i, p) not in done
        ]
        if not keys:
            continue
        params = _parameters(due, territory or "default")
        if params is None:
            report.add("remission_rule_unknown")
            continue
        ceiling, months, clean = params
        funds = [v for (f, p), v in dates.items() if p == period]
        paid_on = max((v[1] for v in funds if v[1] is not None), default=None)
        declared_on = max((v[0] for v in funds if v[0] is not None), default=None)
        if paid_on is None or paid_on >= day:
            continue
        total = sum(k[3] for k in keys)
        if not rules.automatic_remission_applies(
            due=due,
            surcharges_total=total,
            ceiling=ceiling,
            principal_paid_on=paid_on,
            declared_on=declared_on,
            payment_months=months,
            incidents_before=incidents,
            clean_months=clean,
        ):
            # The principal is paid: what decides is settled, so the answer is kept (amount 0,
            # no entry) and the period is not examined again.
            for fund, item, p, _ in keys:
                conn.execute(
                    automatic_remission.insert().values(
                        contributor_id=cid, fund=fund, item=item, period=p, rule=RULE, amount=0,
                        applied_on=day, entry_key=f"not-{entry_key(cid, fund, item, p)}",
                    )
                )  # fmt: skip
            report.add("surcharges_not_remitted")
            continue
        for fund, item, p, amount in keys:
            key = entry_key(cid, fund, item, p)
            entries.append(
                Entry(
                    key,
                    day,
                    Cause.DECISION.value,
                    (
                        Posting(LedgerAccount.FUND_REVENUE.value, None, fund, item, p, amount),
                        Posting(RECEIVABLE, cid, fund, item, p, -amount),
                    ),
                    "Remise automatique des majorations (CSS R243-19-1)",
                )
            )
            conn.execute(
                automatic_remission.insert().values(
                    contributor_id=cid,
                    fund=fund,
                    item=item,
                    period=p,
                    rule=RULE,
                    amount=amount,
                    applied_on=day,
                    entry_key=key,
                )
            )
            report.add("surcharges_remitted", amount=amount)
    return entries


def _close_withdrawn(conn: Connection, day: date, report: StepReport) -> None:
    """Requests whose case a worker withdrew (generic case action): withdrawn, hold lifted."""
    r = remission_request
    rows = conn.execute(
        select(r.c.id, r.c.contributor_id)
        .join(case_table, case_table.c.id == r.c.case_id)
        .where(
            r.c.state.in_(("pending", "proposed")),
            case_table.c.state == "withdrawn",
            case_table.c.closed_on <= day,
        )
    ).all()
    actor = system_actor("cycle-quotidien")
    for row in rows:
        conn.execute(update(r).where(r.c.id == row.id).values(state="withdrawn", decided_on=day))
        collection_holds.lift_hold(conn, f"remission:{row.id}", day)
        audit.record(conn, actor, "remission.withdrawn", "remission_request", row.id, {})
        report.add("remission_requests_withdrawn")


def automatic_remission_step(
    engine: Engine, day: date, progress: Progress | None = None
) -> StepReport:
    """Daily cycle: the automatic remissions of R243-19-1 due on `day` (see the module)."""
    report = StepReport("automatic_remission")
    actor = system_actor("cycle-quotidien")
    with engine.connect() as conn:
        candidates = _candidates(conn, day)
    ids = sorted(candidates)
    total = len(ids)
    for start in range(0, total, BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        with UnitOfWork(engine) as uow:
            entries: list[Entry] = []
            for cid in batch:
                entries.extend(_remit_contributor(uow.conn, cid, candidates[cid], day, report))
            if entries:
                post_entries(uow.conn, actor, entries)
            uow.commit()
        if progress is not None:
            progress(min(start + BATCH_SIZE, total), total)
    with UnitOfWork(engine) as uow:
        _close_withdrawn(uow.conn, day, report)
        uow.commit()
    return report
