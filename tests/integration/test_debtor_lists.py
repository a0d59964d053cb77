"""Debtor lists and phone reminders, from declarations through the daily cycle, on SQLite and
PostgreSQL: ranking, filters, pages, CSV, rights; a promise holds the written reminders."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from recouvrement.adapters.cli import app
from recouvrement.adapters.db.collection_tables import collection_hold, collection_step
from recouvrement.adapters.db.tables import audit_event
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.services import authentication, daily_cycle, debtor_lists, phone_reminders
from recouvrement.services import authorizations as rights
from recouvrement.services.escalation import escalation_step

from .conftest import SYSTEM
from .cycle_world import FIRST_DAY, build_cycle_world

CYCLE = system_actor("cycle quotidien")
ON = date(2024, 3, 25)
STEPS = (
    "recouvrement.services.call_issuing:issue_calls_step",
    "recouvrement.services.allocation:apply_credits_step",
    "recouvrement.services.call_issuing:payment_incidents_step",
    "recouvrement.services.surcharges:surcharges_step",
    "recouvrement.services.escalation:escalation_step",
)


@pytest.fixture(autouse=True)
def documents(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "documents"
    monkeypatch.setenv("RECOUVREMENT_DOCUMENTS_DIR", str(path))
    return path


@pytest.fixture
def arrears(engine):
    """The cycle world run to 25 March 2024: employer 2 never paid, employer 3 paid half of
    January; employer 1 paid February 14 days late and owes its surcharge; employer 0 nothing."""
    ids = build_cycle_world(engine)
    daily_cycle.run_until(engine, CYCLE, ON, start=FIRST_DAY, steps=STEPS)
    return ids


def _reached(engine, cid: int, period: str) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(
            select(collection_step.c.step, collection_step.c.reached_on).where(
                collection_step.c.contributor_id == cid, collection_step.c.period == period
            )
        ).all()
    return dict(rows)


def _agent(engine, login="agent.urssaf", activities=("debtor_lists", "phone_reminders")):
    for activity in activities:
        rights.grant(engine, SYSTEM, login, activity, date(2024, 1, 1))
    return authentication.actor_for_login(engine, login)


def test_the_list_ranks_the_debtors_with_their_figures_and_a_link_to_the_account(engine, arrears):
    late, never, half = arrears[1], arrears[2], arrears[3]
    result = debtor_lists.debtor_list(engine, _agent(engine), ON)
    assert result["total"] == 3
    first, second, third = result["lines"]
    assert [x["contributor_id"] for x in result["lines"]] == [never, half, late]
    assert third["owed"] < 10_000 and third["step"] == "reminder"  # January, paid after it
    assert first["rank"] == 1 and first["score"] > second["score"]
    assert first["owed"] > second["owed"] > 0
    assert first["oldest_due_date"] == "2024-02-15" and first["age_days"] == 39
    assert first["incidents"] == 2 and first["step"] == "formal_notice"
    assert first["link"] == f"/api/v1/accounts/{never}"
    assert result["total_owed"] == first["owed"] + second["owed"] + third["owed"]


def test_filters_pages_and_the_csv_export(engine, arrears):
    never, half = arrears[2], arrears[3]
    agent = _agent(engine)
    page2 = debtor_lists.debtor_list(engine, agent, ON, page=2, page_size=1)
    assert [x["contributor_id"] for x in page2["lines"]] == [half] and page2["total"] == 3
    owed_half = page2["lines"][0]["owed"]
    big = debtor_lists.debtor_list(engine, agent, ON, min_amount=owed_half + 1)
    assert [x["contributor_id"] for x in big["lines"]] == [never]
    assert debtor_lists.debtor_list(engine, agent, ON, scheme="self_employed")["total"] == 0
    notices = debtor_lists.debtor_list(engine, agent, ON, step="formal_notice")
    assert [x["contributor_id"] for x in notices["lines"]] == [never, half]
    reminded = debtor_lists.debtor_list(engine, agent, ON, step="reminder")
    assert [x["contributor_id"] for x in reminded["lines"]] == [arrears[1]]
    assert debtor_lists.debtor_list(engine, agent, ON, min_age_days=40)["total"] == 0
    assert debtor_lists.debtor_list(engine, agent, ON, organisation="URSSAF-REG")["total"] == 3
    body = debtor_lists.debtor_list_csv(engine, agent, ON)
    header, *rows = body.splitlines()
    assert header.split(";") == list(debtor_lists.COLUMNS)
    assert rows[0].split(";")[1] == str(never) and len(rows) == 3
    assert rows[0].split(";")[-1] == f"/api/v1/accounts/{never}"


def test_only_authorized_agents_within_reach_list_debtors_and_refusals_are_audited(engine, arrears):
    unauthorized = authentication.actor_for_login(engine, "agent.urssaf")
    with pytest.raises(Forbidden):
        debtor_lists.debtor_list(engine, unauthorized, ON)
    with engine.connect() as conn:
        refused = (
            conn.execute(
                select(audit_event.c.outcome).where(audit_event.c.action == "activity.check")
            )
            .scalars()
            .all()
        )
    assert "refused" in refused
    outsider = _agent(engine, "agent.autre", ("debtor_lists",))
    assert debtor_lists.debtor_list(engine, outsider, ON)["total"] == 0
    with pytest.raises(Forbidden):
        debtor_lists.debtor_list(engine, outsider, ON, organisation="URSSAF-REG")
    with pytest.raises(DomainError):
        debtor_lists.debtor_list(engine, _agent(engine), ON, page_size=0)


def test_a_promise_holds_the_written_reminders_until_the_promised_date_plus_grace(engine):
    ids = build_cycle_world(engine)
    half = ids[3]
    daily_cycle.run_until(engine, CYCLE, date(2024, 3, 20), start=FIRST_DAY, steps=STEPS)
    agent = _agent(engine)
    row = phone_reminders.log_phone_reminder(
        engine,
        agent,
        half,
        date(2024, 3, 20),
        "promise",
        promised_on=date(2024, 3, 28),
        promised_amount=50_000,
        note="paiera par virement",
    )
    assert row["hold_id"] is not None and row["agent"] == "agent.urssaf"
    with engine.connect() as conn:
        until = conn.scalar(
            select(collection_hold.c.until).where(collection_hold.c.id == row["hold_id"])
        )
    assert until == date(2024, 4, 2)  # 28 March + 5 days of grace
    # The February reminder falls due on 23 March: held.
    daily_cycle.run_until(engine, CYCLE, date(2024, 4, 2), steps=STEPS)
    assert _reached(engine, half, "2024-02") == {}
    report = escalation_step(engine, date(2024, 4, 2))
    assert report.counts.get("files_suspended", 0) >= 1
    escalation_step(engine, date(2024, 4, 3))  # the hold has lapsed: the reminder goes out
    assert _reached(engine, half, "2024-02") == {"reminder": date(2024, 4, 3)}
    assert [r["id"] for r in phone_reminders.phone_reminders_of(engine, agent, half)] == [row["id"]]


def test_a_phone_reminder_is_checked_and_refused_in_french(engine, arrears):
    agent = _agent(engine)
    with pytest.raises(DomainError, match="une promesse a une date"):
        phone_reminders.log_phone_reminder(engine, agent, arrears[2], ON, "promise")
    with pytest.raises(DomainError, match="issue inconnue"):
        phone_reminders.log_phone_reminder(engine, agent, arrears[2], ON, "peut-être")
    no_grant = authentication.actor_for_login(engine, "agent.rsi")
    with pytest.raises(Forbidden):
        phone_reminders.log_phone_reminder(engine, no_grant, arrears[2], ON, "no_answer")
    with engine.connect() as conn:
        refusals = (
            conn.execute(
                select(audit_event.c.actor).where(
                    audit_event.c.action == "collection.phone_reminder",
                    audit_event.c.outcome == "refused",
                )
            )
            .scalars()
            .all()
        )
    assert refusals.count("agent.rsi") == 1 and refusals.count("agent.urssaf") == 2


def test_the_command_line_lists_debtors_writes_the_csv_and_logs_a_call(
    engine, arrears, monkeypatch, tmp_path
):
    monkeypatch.setenv(
        "RECOUVREMENT_DATABASE_URL", engine.url.render_as_string(hide_password=False)
    )
    _agent(engine)
    runner = CliRunner()
    out = runner.invoke(app, ["collection", "debtors", "--date", ON.isoformat()])
    assert out.exit_code == 0, out.output
    assert "3 débiteurs au 2024-03-25" in out.stdout and "mise en demeure" in out.stdout
    target = tmp_path / "debiteurs.csv"
    out = runner.invoke(
        app, ["collection", "debtors", "--date", ON.isoformat(), "--csv", str(target)]
    )
    assert out.exit_code == 0 and target.read_text().startswith("rank;contributor_id")
    out = runner.invoke(
        app,
        [
            "collection",
            "remind",
            str(arrears[2]),
            "no_answer",
            "--date",
            "2024-03-25",
            "--agent",
            "agent.urssaf",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "Relance n°" in out.stdout
    out = runner.invoke(app, ["collection", "ladder", "--contributor", str(arrears[2])])
    assert "mise en demeure" in out.stdout and f"MED-{arrears[2]}-2024-01" in out.stdout
