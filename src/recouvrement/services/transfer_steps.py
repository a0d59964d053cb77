"""The transfer schedule carried out by the daily cycle (Mayotte amendment art. 5).

On the announcement day of an advance (the business day before its payment day), the cycle plans
it — from the fund's notification the first year, from the ledger's receipts after — issues its
SEPA file (which posts it) and e-mails the announcement. Once the central agency's closing of year N
is recorded, it plans the regularisation of N from the ledger's final receipts; a complement owed is
filed and announced on the business day before its due day, an overpayment is asked back at once.

Each action is done once whatever the number of runs: a transfer exists once per year and kind, its
file once, its e-mail once. E-mails go out only when an SMTP server is configured
(`RECOUVREMENT_SMTP_HOST`); otherwise they stay pending and the next run with a server sends them,
flagged late if the deadline has passed. A missing notification or closing is reported, not guessed;
a transfer of nothing (no receipts the year before) is recorded but neither filed nor announced, and
an action the services refuse is counted, not allowed to stop the rest of the cycle.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from recouvrement.agreements.loader import shipped_agreements
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.transfer_schedule import advance_payment_day, announcement_deadline
from recouvrement.domain.transfers import TransferKind
from recouvrement.services import transfer_dispatch, transfers
from recouvrement.services.daily_cycle_report import StepReport

ACTOR = system_actor("cycle quotidien")


def clock(day: date) -> datetime:
    """The instant an e-mail is sent: now. (A simulation may replace it.)"""
    return datetime.now(UTC)


def _smtp_configured() -> bool:
    return bool(os.environ.get("RECOUVREMENT_SMTP_HOST", "").strip())


def scheduled_agreements(day: date) -> list[str]:
    """Agreements in force on `day` whose settings carry a transfer schedule."""
    registry = shipped_agreements()
    out = []
    for code in sorted(registry.agreements):
        agreement = registry.get(code)
        if agreement.valid_from > day or (agreement.valid_to and agreement.valid_to < day):
            continue
        if "transfers.mode" in registry.resolve(code, day).settings:
            out.append(code)
    return out


def _deliver(engine: Engine, row: dict, day: date, counts: Counter, amounts: Counter) -> None:
    """File (when the agency pays) then e-mail, each once."""
    if row["amount"] == 0:
        counts[f"{row['kind']}_nothing_to_pay"] += 1  # no transfer of nothing, no announcement
        return
    if row["direction"] in transfer_dispatch.PAID_BY_AGENCY and not row["message_id"]:
        row, _ = transfer_dispatch.issue_transfer_file(engine, ACTOR, row["id"])
        counts[f"{row['kind']}_files"] += 1
        amounts[f"{row['kind']}_paid"] += row["amount"]
    if row["status"] == "announced":
        return
    if not _smtp_configured():
        counts["emails_pending"] += 1
        return
    try:
        sent = transfer_dispatch.announce_transfer(engine, ACTOR, row["id"], now=clock(day))
    except DomainError:
        counts["emails_failed"] += 1  # refused and audited; retried on the next run
        return
    if sent["status"] == "announced":
        counts["emails_sent"] += 1


def _reload(engine: Engine, agreement: str, year: int, kind: TransferKind) -> dict:
    with engine.connect() as conn:
        return transfers.find_transfer(conn, agreement, year, kind)


def _advance(engine: Engine, agreement: str, day: date, counts: Counter, amounts: Counter):
    rules = transfers.rules_for(agreement, day.year)
    year = day.year
    if year < rules.first_advance_year:
        return
    payment = advance_payment_day(rules, year)
    if day < announcement_deadline(rules, payment).date():
        return
    with engine.connect() as conn:
        row = transfers.find_transfer(conn, agreement, year, TransferKind.ADVANCE)
        notice = transfers.find_notification(conn, agreement, rules.notified_year)
    if row is None and day > payment:
        counts["advance_overdue"] += 1  # an agent plans it; a payment date in the past is refused
        return
    if row is None:
        if year == rules.first_advance_year and notice is None:
            counts["advance_waiting_for_notification"] += 1
            return
        transfers.plan_advance(engine, ACTOR, year)
        counts["advances_planned"] += 1
        row = _reload(engine, agreement, year, TransferKind.ADVANCE)
    _deliver(engine, dict(row), day, counts, amounts)


def _regularisation(engine: Engine, agreement: str, day: date, counts: Counter, amounts: Counter):
    year = day.year - 1
    rules = transfers.rules_for(agreement, year)
    if year < rules.first_advance_year:
        return
    with engine.connect() as conn:
        closing = transfers.find_closing(conn, agreement, year)
        row = transfers.find_transfer(conn, agreement, year, TransferKind.REGULARISATION)
        advance = transfers.find_transfer(conn, agreement, year, TransferKind.ADVANCE)
    if closing is None or closing["closed_on"] > day:
        return
    if row is None:
        if advance is None:
            counts["regularisation_without_advance"] += 1
            return
        transfers.plan_regularisation(engine, ACTOR, year)
        counts["regularisations_planned"] += 1
        row = _reload(engine, agreement, year, TransferKind.REGULARISATION)
    row = dict(row)
    paid_by_agency = row["direction"] in transfer_dispatch.PAID_BY_AGENCY
    if paid_by_agency and day < announcement_deadline(rules, row["due_on"]).date():
        return
    _deliver(engine, row, day, counts, amounts)


def transfers_step(
    engine: Engine, day: date, progress: Callable[[int, int], None] | None = None
) -> StepReport:
    """The schedule's actions that fall on `day`, for every agreement that has one."""
    counts: Counter = Counter()
    amounts: Counter = Counter()
    agreements = scheduled_agreements(day)
    for n, agreement in enumerate(agreements, start=1):
        for action in (_advance, _regularisation):
            try:
                action(engine, agreement, day, counts, amounts)
            except DomainError:
                # refused and audited by the service; the rest of the cycle goes on, and the
                # next day's run tries again
                counts["transfer_actions_refused"] += 1
        if progress is not None:
            progress(n, len(agreements))
    return StepReport("transfers", dict(counts), dict(amounts))
