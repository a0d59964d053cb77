"""The refunds' step of the daily cycle: what needs someone's attention today.

- Credits whose oldest refundable payments reach the three-year limitation of CSS art. L243-6
  within the alert horizon (`refunds.limitation_alert_days`): once time-barred, the contributor
  can no longer ask for them back (ISU agreement art. 4, « Prévention et gestion de la
  prescription »).
- Refund cases awaiting the accounting officer past the service commitment (approval or
  disbursement overdue, ISU agreement art. 5); the breach itself is dated by the existing daily
  check of commitments.
- Open refund requests older than the four months within which the collector must refund
  (L243-6, last paragraph, since the LFSS for 2011).

The step reads and counts; it posts nothing and changes no row, so running a day twice, or a range
of days, reports the same and changes nothing.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select

from recouvrement.adapters.db.tables import case_table, contributor
from recouvrement.domain import refunds as rules
from recouvrement.services import refund_credits as credits
from recouvrement.services.daily_cycle_report import Progress, StepReport

BATCH = 2_000
_AWAITING_OFFICER = {"checked": "refund_approvals_overdue", "approved": "refund_payments_overdue"}


def refunds_step(engine: Engine, day: date, progress: Progress | None = None) -> StepReport:
    """Count today's refund alerts (see the module's docstring); read-only, hence idempotent."""
    report = StepReport("refunds")
    with engine.connect() as conn:
        accounts = credits.negative_credits(conn)
        total = len(accounts)
        for start in range(0, total, BATCH):
            batch = accounts[start : start + BATCH]
            movements = credits.credit_movements(conn, [cid for cid, _t, _c in batch])
            for cid, territory, _credit in batch:
                law = credits.refund_rules(territory, day)
                horizon = credits.parameter("refunds.limitation_alert_days", day, territory)
                layers = rules.credit_layers(movements[cid])
                expiring = rules.reaching_limitation(layers, day, horizon, law)
                if expiring:
                    report.add(
                        "credits_reaching_limitation", 1, sum(layer.amount for layer in expiring)
                    )
            if progress is not None:
                progress(min(start + BATCH, total), total)
        open_refunds = conn.execute(
            select(
                case_table.c.state,
                case_table.c.due_on,
                case_table.c.paused_since,
                case_table.c.payload,
                contributor.c.territory,
            )
            .join(contributor, contributor.c.id == case_table.c.contributor_id)
            .where(case_table.c.case_type == "refund", case_table.c.closed_on.is_(None))
        )
        for state, due_on, paused_since, payload, territory in open_refunds:
            amount = (payload or {}).get("amount") or 0
            kind = _AWAITING_OFFICER.get(state)
            if kind and due_on is not None and paused_since is None and due_on < day:
                report.add(kind, 1, amount)
            requested = (payload or {}).get("requested_on")
            months = credits.parameter("refunds.payment_deadline_months", day, territory)
            if (
                requested
                and months
                and day > rules.add_months(date.fromisoformat(requested), months)
            ):
                report.add("refunds_past_legal_deadline", 1, amount)
    return report
