"""Cases benchmark: open and assign N cases across the agents of two organisations, day by day,
then run the daily service-commitment check over them, on PostgreSQL.

    python benchmarks/cases.py                          # 1,000,000 cases, 200 agents, 50 days
    python benchmarks/cases.py --cases 100000 --days 10

It builds a fresh database `recouvrement_bench_cases` on the server of
RECOUVREMENT_BENCH_POSTGRES_URL (default the local one), creates the ISU agreement's two parties
with half the agents each, and opens the cases through `open_cases_bulk` (the service path: payload
checks, balanced assignment against the open queues, due dates in business days, COPY of the cases
and their opening events, one audit event per day). It reports:

- cases per second over the whole intake (setup excluded),
- the duration of the daily check (`check_commitments`) over all the open cases, the day after the
  first due dates have passed (it marks the breaches), and again the same day (nothing new),
- the duration of the queue report, and the largest gap between the two organisations' shares.

Target (issue 4): the daily check over 1,000,000 open cases in under 10 s.
Not part of the test suite; the latest figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, date, datetime

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.engine import make_engine
from recouvrement.adapters.db.tables import (
    agent,
    authorization,
    organisation,
    partnership,
    training,
)
from recouvrement.domain.actors import system_actor
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.cases import ACTIVITY
from recouvrement.services import case_queues
from recouvrement.services.cases_bulk import CaseDraft, open_cases_bulk

TARGET_CHECK_S = 10.0
ACTOR = system_actor("benchmark")
DB_NAME = "recouvrement_bench_cases"
TRAINING = "isu-operations-communes"
FIRST_DAY = date(2015, 1, 5)
MIX = (  # a day's intake: flow rejects, anomalies, complaints
    ("registration_reject", lambda i: {"reason": "NIR inconnu", "line": i}),
    ("entitlement_reject", lambda i: {"reason": "droits non ouverts", "line": i}),
    ("anomaly", lambda i: {"list": "revenus manquants", "anomaly": f"ligne {i}"}),
    ("complaint", lambda i: {"channel": "portal", "subject": "appel contesté"}),
)


def fresh_database(admin_url: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def seed_agents(engine, agents: int) -> None:
    with engine.begin() as conn:
        ids = {}
        for code, kind in (("URSSAF-RA", "collector"), ("RSI-RA", "self_employed_fund")):
            ids[code] = conn.execute(
                insert(organisation).values(code=code, name=code, kind=kind, territory="69")
            ).inserted_primary_key[0]
        conn.execute(
            insert(partnership),
            [
                {"organisation_id": ids["URSSAF-RA"], "partner_id": ids["RSI-RA"]},
                {"organisation_id": ids["RSI-RA"], "partner_id": ids["URSSAF-RA"]},
            ],
        )
        conn.execute(
            insert(agent),
            [
                {
                    "login": f"agent.{i:04d}",
                    "name": f"Agent {i}",
                    "organisation_id": ids["URSSAF-RA" if i % 2 else "RSI-RA"],
                    "roles": ["joint_unit_agent"],
                    "active": True,
                }
                for i in range(agents)
            ],
        )
        # Only authorized agents receive cases: every agent holds the case activities, with the
        # art. 3 training the ISU agreement requires for work done for the partner.
        now = datetime.now(UTC)
        agent_ids = conn.execute(select(agent.c.id)).scalars().all()
        conn.execute(
            insert(authorization),
            [
                {
                    "agent_id": a,
                    "activity": activity,
                    "valid_from": date(2014, 1, 15),
                    "training": TRAINING,
                    "granted_by": ACTOR.login,
                    "granted_at": now,
                }
                for a in agent_ids
                for activity in sorted(set(ACTIVITY.values()))
            ],
        )
        conn.execute(
            insert(training),
            [
                {
                    "agent_id": a,
                    "training": TRAINING,
                    "completed_on": date(2014, 1, 15),
                    "recorded_by": ACTOR.login,
                    "recorded_at": now,
                }
                for a in agent_ids
            ],
        )


def intake(engine, cases: int, days: int, daily: bool) -> tuple[float, date, list[float]]:
    """Open the cases day by day; with `daily`, run the day's check after each intake (as the
    daily cycle does), timed apart from the intake."""
    per_day = cases // days
    calendar = calendar_for(None)
    day = FIRST_DAY
    elapsed = 0.0
    checks: list[float] = []
    opened = 0
    for d in range(days):
        n = per_day if d < days - 1 else cases - opened
        drafts = [
            CaseDraft(MIX[i % len(MIX)][0], MIX[i % len(MIX)][1](i))
            for i in range(opened, opened + n)
        ]
        started = time.perf_counter()
        open_cases_bulk(engine, ACTOR, drafts, on=day, source="benchmark")
        elapsed += time.perf_counter() - started
        opened += n
        if daily:
            started = time.perf_counter()
            case_queues.check_commitments(engine, day, ACTOR)
            checks.append(time.perf_counter() - started)
        last = day
        day = calendar.add_business_days(day, 1)
    return elapsed, last, checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument(
        "--catch-up",
        action="store_true",
        help="no check during the intake: the final check catches up every breach at once",
    )
    args = parser.parse_args()
    admin_url = os.environ.get(
        "RECOUVREMENT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    url = fresh_database(admin_url)
    engine = make_engine(url)
    try:
        seed_agents(engine, args.agents)
        elapsed, last, checks = intake(engine, args.cases, args.days, not args.catch_up)
        print(
            f"intake: {args.cases:,} cases over {args.days} days to {args.agents} agents in "
            f"{elapsed:.1f} s = {args.cases / elapsed:,.0f} cases/s"
        )
        if checks:
            print(
                f"daily checks during the intake: median {statistics.median(checks):.2f} s, "
                f"max {max(checks):.2f} s"
            )
        with engine.connect() as conn:
            conn.execute(text('ANALYZE "case"'))
        check_day = calendar_for(None).add_business_days(last, 1)
        for label in ("next day", "again"):
            started = time.perf_counter()
            result = case_queues.check_commitments(engine, check_day, ACTOR)
            took = time.perf_counter() - started
            print(
                f"daily check ({label}) on {check_day}: {took:.2f} s over {result['open']:,} open "
                f"cases, {result['new_breaches']:,} new breaches, {result['breached']:,} breached "
                f"(target < {TARGET_CHECK_S:.0f} s: {'met' if took < TARGET_CHECK_S else 'MISSED'})"
            )
        started = time.perf_counter()
        report = case_queues.queue_report(engine, ACTOR, on=check_day)
        took = time.perf_counter() - started
        gap = max(q["balance_gap"] for q in report["queues"])
        print(
            f"queue report: {took:.2f} s, {len(report['queues'])} queues, largest share gap "
            f"{gap:.4%}"
        )
    finally:
        engine.dispose()
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
