"""Calls of contributions: employers' calls from declarations, self-employed instalments."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from recouvrement.adapters.api import create_app
from recouvrement.adapters.cli import app as cli_app
from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.tables import journal_entry, journal_posting
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.assessment.self_employed import assess_year, summarise
from recouvrement.domain.contributors import (
    Activity,
    ContributorDraft,
    ContributorKind,
    Establishment,
)
from recouvrement.domain.errors import Forbidden
from recouvrement.rules.parameters import load_parameters
from recouvrement.services import authentication, calls, contributors, payroll
from recouvrement.services import self_employed_calls as se

from .conftest import SYSTEM

SIRET = "73282932000074"
LINES = [
    {"nir": "180017512345660", "birth_date": "1980-01-01", "gross_pay": "2000.00"},
    {"nir": "295109912611193", "birth_date": "1984-02-10", "gross_pay": "1500.00"},
]
NIR = "180017512345660"
INCOME = 3_000_000  # 30 000 €


@pytest.fixture
def employer(world):
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name="Boulangerie de Mamoudzou",
        territory="976",
        organisation_code="CSSM",
        siren="732829320",
        establishments=(Establishment(SIRET, "976", "Mamoudzou"),),
    )
    return contributors.create_contributor(world.engine, SYSTEM, draft, date(2020, 1, 2))["id"]


@pytest.fixture
def craftsman(world):
    draft = ContributorDraft(
        kind=ContributorKind.SELF_EMPLOYED,
        name="Jeanne Martin",
        territory="69",
        organisation_code="URSSAF-REG",
        nir=NIR,
        activity=Activity.CRAFT,
        activity_start=date(2018, 1, 1),
    )
    return contributors.create_contributor(world.engine, SYSTEM, draft, date(2023, 1, 2))["id"]


def _calls(engine, cid):
    with engine.connect() as conn:
        return conn.execute(
            select(call).where(call.c.contributor_id == cid).order_by(call.c.period)
        ).all()


def _entries(engine):
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(journal_entry))


def _receivable(engine, cid, period=None, item=None):
    query = select(func.coalesce(func.sum(journal_posting.c.amount), 0)).where(
        journal_posting.c.ledger_account == "receivable",
        journal_posting.c.contributor_id == cid,
    )
    if period is not None:
        query = query.where(journal_posting.c.period == period)
    if item is not None:
        query = query.where(journal_posting.c.item == item)
    with engine.connect() as conn:
        return conn.scalar(query)


# --- employers ---------------------------------------------------------------------------------


def test_a_declaration_creates_the_call_of_its_month_due_on_the_15th(world, employer):
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, date(2020, 4, 3))
    (row,) = _calls(world.engine, employer)
    # 2 employees: fewer than 50, monthly from 2017 (no quarterly option recorded): 15 April 2020
    assert row.period == "2020-03" and row.kind == "employer_monthly"
    assert row.due_date == date(2020, 4, 15)
    assert row.issue_date == date(2020, 4, 3) and row.status == "scheduled"
    assert row.amount == _receivable(world.engine, employer, "2020-03") > 0
    assert row.reference.startswith("RF") and row.reference.endswith("2020-03")


def test_a_correction_updates_the_amount_of_the_call_and_a_replay_changes_nothing(world, employer):
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, date(2020, 4, 3))
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, date(2020, 4, 3))
    first = _calls(world.engine, employer)[0].amount
    corrected = [LINES[0], {**LINES[1], "gross_pay": "3000.00"}]
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", corrected, date(2020, 4, 9))
    (row,) = _calls(world.engine, employer)
    assert row.amount > first
    assert row.amount == _receivable(world.engine, employer, "2020-03")
    assert row.due_date == date(2020, 4, 15)


def test_before_2017_a_small_employer_pays_by_quarter(world, employer):
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2016-02", LINES, date(2016, 3, 3))
    (row,) = _calls(world.engine, employer)
    # nine employees at most: quarterly, within the first 15 days of the next quarter (R243-6 1°)
    assert row.kind == "employer_quarterly" and row.due_date == date(2016, 4, 15)


# --- self-employed ------------------------------------------------------------------------------


def _total(year, income):
    return summarise(assess_year(load_parameters(), year, "craft", income))["total"]


def test_a_self_employed_year_posts_12_instalments_summing_to_the_assessment(world, craftsman):
    result = se.call_year(
        world.engine,
        world.urssaf_agent,
        craftsman,
        2024,
        due_day=20,
        income_basis_cents=INCOME,
        today=date(2023, 11, 15),
    )
    rows = _calls(world.engine, craftsman)
    assert [r.period for r in rows] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert sum(r.amount for r in rows) == _total(2024, INCOME) == result["total"]
    assert _receivable(world.engine, craftsman) == _total(2024, INCOME)
    for r in rows:
        assert r.amount == _receivable(world.engine, craftsman, r.period)
        assert r.kind == "self_employed_monthly" and r.due_date.weekday() < 5
        assert (r.due_date - r.issue_date).days == 15
    # 20 April 2024 is a Saturday: moved to Monday 22 April
    assert rows[3].due_date == date(2024, 4, 22)
    assert max(r.amount for r in rows) - min(r.amount for r in rows) <= 10


def test_quarterly_instalments_fall_on_5_feb_may_aug_nov(world, craftsman):
    se.call_year(
        world.engine,
        world.urssaf_agent,
        craftsman,
        2025,
        schedule="quarterly",
        income_basis_cents=INCOME,
        today=date(2024, 11, 15),
    )
    rows = _calls(world.engine, craftsman)
    assert [r.period for r in rows] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert [r.due_date for r in rows] == [
        date(2025, 2, 5),
        date(2025, 5, 5),
        date(2025, 8, 5),
        date(2025, 11, 5),
    ]
    assert sum(r.amount for r in rows) == _total(2025, INCOME)


def test_a_replay_posts_nothing(world, craftsman):
    kwargs = dict(income_basis_cents=INCOME, today=date(2023, 11, 15))
    se.call_year(world.engine, world.urssaf_agent, craftsman, 2024, **kwargs)
    count = _entries(world.engine)
    again = se.call_year(world.engine, world.urssaf_agent, craftsman, 2024, **kwargs)
    assert again["status"] == "already_called"
    assert _entries(world.engine) == count


def test_declaring_n_minus_1_recalculates_only_the_instalments_to_come(world, craftsman):
    se.call_year(
        world.engine,
        world.urssaf_agent,
        craftsman,
        2023,
        income_basis_cents=INCOME,
        today=date(2022, 12, 1),
    )
    se.call_year(
        world.engine,
        world.urssaf_agent,
        craftsman,
        2024,
        income_basis_cents=INCOME,
        today=date(2023, 11, 15),
    )
    before = {r.period: r.amount for r in _calls(world.engine, craftsman)}
    declared = 4_000_000
    result = se.declare_income(
        world.engine, world.urssaf_agent, craftsman, 2023, declared, today=date(2024, 5, 10)
    )
    after = {r.period: r.amount for r in _calls(world.engine, craftsman)}
    # instalments due before 25 May (10 May + 15 days) keep their amounts
    for month in range(1, 6):
        assert after[f"2024-{month:02d}"] == before[f"2024-{month:02d}"]
    assert sum(after[f"2024-{m:02d}"] for m in range(1, 13)) == _total(2024, declared)
    # posted: only the difference for 2024, and the regularisation of 2023 on its year key
    recalc = result["recalculation"]
    assert sum(recalc["posted"].values()) == _total(2024, declared) - _total(2024, INCOME)
    regul = result["regularisation"]
    assert regul["owed"] == _total(2023, declared) - _total(2023, INCOME)
    assert _receivable(world.engine, craftsman, "2023") == regul["owed"]
    assert after["2023"] == regul["owed"]
    reg_call = next(r for r in _calls(world.engine, craftsman) if r.period == "2023")
    assert reg_call.kind == "self_employed_regularisation"
    assert reg_call.due_date == date(2024, 6, 5)  # first instalment at least 15 days later
    # declaring again the same income posts nothing more
    count = _entries(world.engine)
    se.declare_income(
        world.engine, world.urssaf_agent, craftsman, 2023, declared, today=date(2024, 5, 12)
    )
    assert _entries(world.engine) == count


def test_a_lower_income_makes_the_excess_already_called_a_credit(world, craftsman):
    se.call_year(
        world.engine,
        world.urssaf_agent,
        craftsman,
        2024,
        income_basis_cents=10_000_000,
        today=date(2023, 11, 15),
    )
    result = se.call_year(
        world.engine,
        world.urssaf_agent,
        craftsman,
        2024,
        income_basis_cents=0,
        basis="estimate",
        today=date(2024, 11, 1),
    )
    assert result["credit"] > 0
    assert _receivable(world.engine, craftsman, "", "credit") == -result["credit"]
    # the account as a whole now carries exactly the new total
    assert _receivable(world.engine, craftsman) == _total(2024, 0)
    # back to the first income: the credit is taken back and December carries the rest
    again = se.call_year(
        world.engine,
        world.urssaf_agent,
        craftsman,
        2024,
        income_basis_cents=10_000_000,
        basis="estimate",
        today=date(2024, 11, 2),
    )
    assert again["credit"] == 0
    assert _receivable(world.engine, craftsman, "", "credit") == 0
    assert _receivable(world.engine, craftsman) == _total(2024, 10_000_000)


# --- reading ------------------------------------------------------------------------------------


def test_a_contributor_sees_only_their_own_calls(world, craftsman, employer):
    se.call_year(
        world.engine,
        world.urssaf_agent,
        craftsman,
        2024,
        income_basis_cents=INCOME,
        today=date(2023, 11, 15),
    )
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, date(2020, 4, 3))
    portal = Actor("jeanne", None, None, frozenset({Role.CONTRIBUTOR}), contributor_id=craftsman)
    own = calls.list_calls(world.engine, portal)
    assert len(own) == 12 and {c["contributor_id"] for c in own} == {craftsman}
    with pytest.raises(Forbidden):
        calls.list_calls(world.engine, portal, contributor_id=employer)
    other = _calls(world.engine, employer)[0].id
    with pytest.raises(Forbidden):
        calls.get_call(world.engine, portal, other)
    # an agent of another region reaches neither
    assert calls.list_calls(world.engine, world.outsider) == []
    assert len(calls.list_calls(world.engine, world.rsi_agent, status="scheduled")) == 12


# --- API and command line -----------------------------------------------------------------------


def test_calls_through_the_api(world, craftsman):
    client = TestClient(create_app(world.engine))
    headers = {
        "Authorization": f"Bearer {authentication.issue_token(world.engine, SYSTEM, 'agent.urssaf')}"
    }
    body = {"contributor_id": craftsman, "year": 2024, "income": "30000.00", "on": "2023-11-15"}
    made = client.post("/api/v1/calls/self-employed", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "called"
    listed = client.get(f"/api/v1/calls?contributor_id={craftsman}&limit=5", headers=headers)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 5
    one = listed.json()["items"][0]
    assert client.get(f"/api/v1/calls/{one['id']}", headers=headers).json()["period"] == "2024-12"
    bad = client.post(
        "/api/v1/calls/self-employed", json={**body, "income": "1.001"}, headers=headers
    )
    assert bad.status_code == 422
    outsider = {
        "Authorization": f"Bearer {authentication.issue_token(world.engine, SYSTEM, 'agent.autre')}"
    }
    refused = client.get(f"/api/v1/calls/{one['id']}", headers=outsider)
    assert refused.status_code == 403
    assert "accessible" in refused.json()["errors"][0]["reason"]


def test_calling_a_year_on_the_command_line(world, craftsman, database_url):
    env = {"RECOUVREMENT_DATABASE_URL": database_url}
    args = ["calls", "self-employed", str(craftsman), "2024", "--income", "30000.00"]
    args += ["--schedule", "quarterly", "--on", "2023-11-15", "--agent", "agent.urssaf"]
    first = CliRunner().invoke(cli_app, args, env=env)
    assert first.exit_code == 0, first.output
    assert "Année 2024 appelée" in first.output and "2024-Q4" in first.output
    again = CliRunner().invoke(cli_app, args, env=env)
    assert "déjà appelée" in again.output
    listed = CliRunner().invoke(
        cli_app, ["calls", "list", "--contributor", str(craftsman)], env=env
    )
    assert listed.exit_code == 0 and listed.output.count("prévu") == 4
