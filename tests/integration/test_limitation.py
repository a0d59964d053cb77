"""Limitation of debts: acts recorded, dates by debt and set-based, alerts, write-off proposals,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.limitation_tables import (
    limitation_alert,
    limitation_event,
    limitation_proposal,
)
from recouvrement.adapters.db.remission_tables import write_off_line
from recouvrement.adapters.db.tables import audit_event
from recouvrement.domain.contributors import Activity, ContributorDraft, ContributorKind
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.services import contributors, ledger, limitation
from recouvrement.services.unit_of_work import UnitOfWork

from .case_region import AGREEMENT_START, Region
from .conftest import SYSTEM
from .ledger_helpers import assessment, open_account, payment, siren


def add_call(engine, cid: int, period: str, due: date) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(call).values(
                contributor_id=cid,
                period=period,
                kind="employer_monthly",
                reference=f"RF-{cid}-{period}",
                issue_date=due.replace(day=1),
                due_date=due,
                amount=0,
                status="overdue",
                created_at=datetime.now(UTC),
            )
        )


def owe(engine, cid, period, amount, item="unemployment_employer", day=None):
    day = day or date(int(period[:4]), 12, 1)
    ledger.post_entry(
        engine,
        SYSTEM,
        assessment(f"decl:{cid}:{period}:{item}", cid, amount, day, "unedic", item, period),
    )


def record(engine, cid, period, event, on, source, until=None):
    with UnitOfWork(engine) as uow:
        event_id = limitation.record_interruption(
            uow.conn, cid, period, event, on, source, until=until
        )
        uow.commit()
    return event_id


def date_of(engine, cid, period, item="unemployment_employer"):
    with engine.connect() as conn:
        return limitation.limitation_date(conn, cid, "unedic", item, period)


@pytest.fixture
def employer(world):
    cid = open_account(world, 1)
    add_call(world.engine, cid, "2021-12", date(2022, 1, 15))
    owe(world.engine, cid, "2021-12", 100_00)
    return cid


def test_claim_limitation_by_the_period_year(world, employer):
    # L244-3 since 2017: three years from the end of 2021, the year the contributions are due for
    assert date_of(world.engine, employer, "2021-12") == date(2024, 12, 31)


def test_before_2017_the_year_of_exigibility_counts(world):
    cid = open_account(world, 2)
    add_call(world.engine, cid, "2015-12", date(2016, 1, 15))
    owe(world.engine, cid, "2015-12", 50_00)
    assert date_of(world.engine, cid, "2015-12") == date(2019, 12, 31)


def test_formal_notice_opens_the_action_and_is_recorded_once(world, employer):
    first = record(world.engine, employer, "2021-12", "formal_notice", date(2024, 3, 10), "med:1")
    again = record(world.engine, employer, "2021-12", "formal_notice", date(2024, 3, 10), "med:1")
    assert first == again
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(limitation_event)) == 1
    assert date_of(world.engine, employer, "2021-12") == date(2027, 4, 10)


def test_unknown_event_is_refused(world, employer):
    with pytest.raises(DomainError):
        record(world.engine, employer, "2021-12", "phone_call", date(2024, 3, 10), "x")


def test_is_prescribed(world, employer):
    with world.engine.connect() as conn:
        assert not limitation.is_prescribed(conn, employer, "2021-12", date(2024, 12, 31))
        assert limitation.is_prescribed(conn, employer, "2021-12", date(2025, 1, 1))


def test_bulk_dates_equal_the_dates_one_by_one(world, employer):
    cid = open_account(world, 3)
    add_call(world.engine, cid, "2016-11", date(2016, 12, 15))
    owe(world.engine, cid, "2016-11", 10_00)
    owe(world.engine, cid, "2016-11", 2_00, item="surcharge_initial")
    owe(world.engine, cid, "2019-03", 7_00)  # no call
    owe(world.engine, employer, "2021-12", 5_00, item="surcharge_initial")
    record(world.engine, cid, "2019-03", "payment_plan_request", date(2022, 6, 1), "plan:1")
    with world.engine.connect() as conn:
        rows = limitation.limitation_dates(conn)
        assert len(rows) == 5
        for r in rows:
            assert r.limitation_date == limitation.limitation_date(
                conn, r.contributor_id, r.fund, r.item, r.period
            )
        by_key = {(r.contributor_id, r.item, r.period): r.limitation_date for r in rows}
        assert by_key[(cid, "unemployment_employer", "2016-11")] == date(2019, 12, 31)
        assert by_key[(cid, "unemployment_employer", "2019-03")] == date(2025, 6, 1)
        # surcharges since 2017: from the end of the year the contributions fell due (2022)
        assert by_key[(employer, "surcharge_initial", "2021-12")] == date(2025, 12, 31)
        near = limitation.limitation_dates(conn, until=date(2024, 12, 31))
        assert {(r.contributor_id, r.period) for r in near} == {
            (cid, "2016-11"),
            (employer, "2021-12"),
        }
        counts = limitation.limitation_counts(conn)
    assert counts[2019] == (2, 12_00)
    assert counts[2025] == (2, 12_00)
    assert counts[2024] == (1, 100_00)


def test_self_employed_dates_from_30_june_of_the_next_year(world):
    draft = ContributorDraft(
        kind=ContributorKind.SELF_EMPLOYED,
        name="Jeanne Martin",
        territory="69",
        organisation_code="URSSAF-REG",
        nir="180017512345660",
        activity=Activity.CRAFT,
        activity_start=date(2015, 1, 1),
    )
    cid = contributors.create_contributor(
        world.engine, world.urssaf_agent, draft, date(2016, 1, 2)
    )["id"]
    owe(world.engine, cid, "2021-Q2", 60_00)  # since 2017: 30 June 2022 + 3 years
    owe(world.engine, cid, "2015-Q4", 20_00)  # before: no call, the period's year, end 2018
    with world.engine.connect() as conn:
        rows = {r.period: r.limitation_date for r in limitation.limitation_dates(conn)}
        assert rows == {"2021-Q2": date(2025, 6, 30), "2015-Q4": date(2018, 12, 31)}
        for period, expected in rows.items():
            assert (
                limitation.limitation_date(conn, cid, "unedic", "unemployment_employer", period)
                == expected
            )
        near = limitation.limitation_dates(conn, until=date(2025, 6, 29))
        assert [r.period for r in near] == ["2015-Q4"]
        assert limitation.limitation_counts(conn) == {2018: (1, 20_00), 2025: (1, 60_00)}


def test_surcharge_of_paid_contributions_counts_from_the_year_of_payment(world, employer):
    owe(world.engine, employer, "2021-12", 5_00, item="surcharge_initial")
    ledger.post_entry(
        world.engine, SYSTEM, payment("pay:1", employer, 100_00, date(2023, 5, 2), period="2021-12")
    )
    with world.engine.connect() as conn:
        rows = limitation.limitation_dates(conn)
        assert [(r.item, r.limitation_date) for r in rows] == [
            ("surcharge_initial", date(2026, 12, 31))
        ]
        assert limitation.limitation_date(
            conn, employer, "unedic", "surcharge_initial", "2021-12"
        ) == date(2026, 12, 31)
        assert limitation.limitation_dates(conn, until=date(2026, 12, 30)) == []
        assert limitation.limitation_counts(conn) == {2026: (1, 5_00)}


def test_reading_the_dates_needs_reach(world, employer):
    rows = limitation.dates_for(world.engine, world.urssaf_agent, employer)
    assert [r.limitation_date for r in rows] == [date(2024, 12, 31)]
    with pytest.raises(Forbidden):
        limitation.dates_for(world.engine, world.outsider, employer)


def region_employer(region, n: int) -> int:
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name=f"Employeur {n}",
        territory="69",
        organisation_code="URSSAF-RA",
        siren=siren(n),
    )
    return contributors.create_contributor(region.engine, SYSTEM, draft, AGREEMENT_START)["id"]


@pytest.fixture
def region(engine):
    region = Region(engine)
    region.grant_case_work(activities=["write_offs"])
    return region


def test_step_lists_alerts_and_proposes_prescribed_debts_once(region):
    engine = region.engine
    soon, old = region_employer(region, 4), region_employer(region, 5)
    add_call(engine, soon, "2012-12", date(2013, 1, 15))  # exigible in 2013: ends 2016-12-31
    owe(engine, soon, "2012-12", 30_00)
    add_call(engine, old, "2011-06", date(2011, 7, 15))  # ended 2014-12-31
    owe(engine, old, "2011-06", 40_00)
    day = date(2016, 11, 1)
    report = limitation.limitation_step(engine, day)
    assert report.counts == {"limitation_alerts": 1, "prescribed_proposed": 1}
    assert report.amounts == {"limitation_alerts": 30_00, "prescribed_proposed": 40_00}
    again = limitation.limitation_step(engine, day)
    assert again.counts == {}
    later = limitation.limitation_step(engine, date(2016, 11, 2))
    assert later.counts == {}
    with engine.connect() as conn:
        alert = conn.execute(select(limitation_alert)).one()
        proposal = conn.execute(select(limitation_proposal)).one()
        write_off_lines = conn.execute(select(write_off_line)).all()
    assert (alert.contributor_id, alert.limitation_date) == (soon, date(2016, 12, 31))
    assert (proposal.contributor_id, proposal.period) == (old, "2011-06")
    assert [(w.contributor_id, w.period, w.proposed) for w in write_off_lines] == [
        (old, "2011-06", 40_00)
    ]
    listed = limitation.alerts(engine, SYSTEM, day)
    assert [a["contributor_id"] for a in listed] == [soon]
    with engine.connect() as conn:
        actions = conn.scalars(
            select(audit_event.c.action).where(audit_event.c.action.like("limitation.%"))
        ).all()
    assert actions == ["limitation.alerts_listed"]


def test_a_refused_proposal_is_counted_and_tried_again_later(world, monkeypatch):
    """A key already in an agent's pending proposal is refused: nothing is marked, the debt is
    proposed again on a later day."""
    from recouvrement.services import write_offs

    def refuse(*args, **kwargs):
        raise Conflict.single(
            "keys", "déjà proposé en non-valeur et en attente", "already_proposed"
        )

    cid = open_account(world, 6)
    add_call(world.engine, cid, "2019-06", date(2019, 7, 15))
    owe(world.engine, cid, "2019-06", 25_00)
    with monkeypatch.context() as patched:
        patched.setattr(write_offs, "propose_write_off", refuse)
        report = limitation.limitation_step(world.engine, date(2023, 3, 1))
    assert report.counts == {"prescribed_not_proposed": 1}
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(limitation_proposal)) == 0


@pytest.fixture
def cli(world, database_url, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["limitation", *args])


def test_command_line_dates_and_alerts(world, employer, cli):
    out = cli(
        "dates", "--contributor", str(employer), "--on", "2025-01-01", "--login", "agent.urssaf"
    )
    assert out.exit_code == 0, out.output
    assert "2021-12 unedic unemployment_employer : 100,00 €, prescrite depuis le 2024-12-31" in (
        out.output.replace("\u202f", " ").replace("\xa0", " ")
    )
    refused = cli("dates", "--contributor", str(employer), "--login", "agent.autre")
    assert refused.exit_code == 2
    stock = cli("dates")
    assert stock.exit_code == 0, stock.output
    assert stock.output.startswith("2024 : 1 dettes")
    assert cli("dates", "--login", "agent.urssaf").exit_code == 2
    limitation.limitation_step(world.engine, date(2024, 11, 1))
    alerts = cli("alerts", "--on", "2024-11-01")
    assert alerts.exit_code == 0, alerts.output
    assert f"cotisant {employer} — 2021-12" in alerts.output
    assert limitation.alerts(world.engine, world.urssaf_agent, date(2024, 11, 1))
    assert limitation.alerts(world.engine, world.outsider, date(2024, 11, 1)) == []


def test_the_daily_cycle_runs_the_step_before_the_commitments():
    from recouvrement.services.daily_cycle import STEPS, resolve_steps

    step = "recouvrement.services.limitation:limitation_step"
    assert STEPS.index(step) < STEPS.index("recouvrement.services.daily_cycle:commitments_step")
    assert resolve_steps([step])


def test_run_day_with_the_step(world, employer):
    from recouvrement.services import daily_cycle

    report = daily_cycle.run_day(
        world.engine,
        SYSTEM,
        date(2024, 11, 1),
        steps=["recouvrement.services.limitation:limitation_step"],
    )
    assert "limitation" in str(report)
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(limitation_alert)) == 1
