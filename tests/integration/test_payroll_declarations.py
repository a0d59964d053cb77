"""Payroll declarations: assessed and posted once per establishment, month and version."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from recouvrement.adapters.api import create_app
from recouvrement.adapters.cli import app
from recouvrement.adapters.db.tables import audit_event, journal_entry, journal_posting
from recouvrement.domain.contributors import ContributorDraft, ContributorKind, Establishment
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.services import authentication, contributors

from .conftest import SYSTEM

# Declarations post through the ledger service; until it is installed these tests are skipped
# with this visible reason rather than breaking the collection of the whole suite.
pytest.importorskip("recouvrement.services.ledger", reason="service du grand livre absent")
from recouvrement.services import payroll

TODAY = date(2020, 4, 10)
SIRET = "73282932000074"
LINES = [
    {"nir": "180017512345660", "birth_date": "1980-01-01", "gross_pay": "2000.00"},
    {"nir": "295109912611193", "birth_date": "1954-02-10", "gross_pay": "1500.00"},
]


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
    return contributors.create_contributor(world.engine, SYSTEM, draft, TODAY)


def _receivable(engine, item):
    with engine.connect() as conn:
        return conn.execute(
            select(func.coalesce(func.sum(journal_posting.c.amount), 0)).where(
                journal_posting.c.ledger_account == "receivable",
                journal_posting.c.item == item,
                journal_posting.c.period == "2020-03",
            )
        ).scalar()


def _entries(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(journal_entry)).scalar()


def test_declaration_posts_its_assessed_debt_and_a_replay_posts_nothing(world, employer):
    first = payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, TODAY)
    # 2 000 € × 2.80 %; the employee born 1954 is 66: excluded (amendment art. 2.2)
    assert first["status"] == "declared" and first["version"] == 1
    assert first["totals"] == {
        "unemployment_employer": "56.00",
        "unemployment_employee": "0.00",
        "ags": "3.00",
    }
    assert _receivable(world.engine, "unemployment_employer") == 5600
    assert _receivable(world.engine, "ags") == 300
    count = _entries(world.engine)

    again = payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, TODAY)
    assert again["status"] == "already_declared"
    assert again["entry_key"] == first["entry_key"]
    assert _entries(world.engine) == count
    assert _receivable(world.engine, "unemployment_employer") == 5600


def test_corrected_declaration_posts_only_the_difference(world, employer):
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, TODAY)
    corrected = [{**LINES[0], "gross_pay": "2500.00"}, LINES[1]]
    second = payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", corrected, TODAY)
    assert second["version"] == 2
    assert second["posted"] == {"unemployment_employer": "14.00", "ags": "0.75"}
    assert _receivable(world.engine, "unemployment_employer") == 7000
    back = payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, TODAY)
    assert back["version"] == 3
    assert back["posted"] == {"unemployment_employer": "-14.00", "ags": "-0.75"}
    assert _receivable(world.engine, "unemployment_employer") == 5600


def test_bad_lines_reject_the_whole_declaration_and_name_each_field(world, employer):
    bad = [{**LINES[0], "nir": "123"}, {**LINES[1], "gross_pay": "abc"}]
    with pytest.raises(DomainError) as err:
        payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", bad, TODAY)
    fields = {p.field for p in err.value.problems}
    assert fields == {"lines[0].nir", "lines[1].gross_pay"}
    assert _entries(world.engine) == 0


def test_an_agent_of_another_organisation_cannot_declare(world, employer):
    with pytest.raises(Forbidden):
        payroll.declare(world.engine, world.outsider, SIRET, "2020-03", LINES, TODAY)
    assert _entries(world.engine) == 0


def test_months_with_a_gap_in_the_law_data_are_refused(world, employer):
    with pytest.raises(DomainError) as err:
        payroll.declare(world.engine, world.cssm_agent, SIRET, "2014-03", LINES, TODAY)
    assert err.value.problems[0].field == "period"
    assert "lacune" in err.value.problems[0].reason


def test_declarations_are_audited(world, employer):
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, TODAY)
    with world.engine.connect() as conn:
        actions = conn.execute(
            select(audit_event.c.action).where(audit_event.c.actor == "agent.cssm")
        ).scalars()
        assert "payroll.declare" in list(actions)


def test_public_sector_employer_posts_nothing_before_its_opt_in(world):
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name="Société publique de Mayotte",
        territory="976",
        organisation_code="CSSM",
        siren="732829320",
        public_sector=True,
        establishments=(Establishment(SIRET, "976", "Mamoudzou"),),
    )
    created = contributors.create_contributor(world.engine, SYSTEM, draft, TODAY)
    before = payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-02", LINES, TODAY)
    assert before["posted"] == {} and before["entry_key"] is None
    payroll.record_opt_in(world.engine, world.cssm_agent, created["id"], date(2020, 3, 1))
    after = payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", LINES, TODAY)
    assert after["posted"]["unemployment_employer"] == "56.00"


def test_declarations_through_the_api(world, employer):
    client = TestClient(create_app(world.engine))
    token = authentication.issue_token(world.engine, SYSTEM, "agent.cssm")
    body = {"siret": SIRET, "period": "2020-03", "lines": LINES}
    headers = {"Authorization": f"Bearer {token}"}
    first = client.post("/api/v1/assessments/declarations", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["posted"]["unemployment_employer"] == "56.00"
    replay = client.post("/api/v1/assessments/declarations", json=body, headers=headers)
    assert replay.json()["status"] == "already_declared"
    bad = client.post(
        "/api/v1/assessments/declarations",
        json={**body, "lines": [{**LINES[0], "gross_pay": "-5"}]},
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "lines[0].gross_pay"


def test_declarations_from_a_jsonl_file_on_the_command_line(
    world, employer, database_url, tmp_path
):
    src = tmp_path / "dsn.jsonl"
    src.write_text(
        "".join(json.dumps({"siret": SIRET, "period": "2020-03", **line}) + "\n" for line in LINES),
        encoding="utf-8",
    )
    env = {"RECOUVREMENT_DATABASE_URL": database_url}
    args = ["declare", str(src), "--today", "2020-04-10"]
    first = CliRunner().invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    assert "version 1 enregistrée" in first.output
    again = CliRunner().invoke(app, args, env=env)
    assert "déjà enregistrée" in again.output
    assert _receivable(world.engine, "unemployment_employer") == 5600
