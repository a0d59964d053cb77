"""The audit plan on both backends: candidates by the risk criteria, the plan signed by a director
of each party, the audit carried out by the collector, its adjustments posted as debts of their
own periods with an audit call (reduced surcharge regime), and Mayotte before 2014 refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.collection_tables import collection_hold
from recouvrement.adapters.db.limitation_tables import limitation_event
from recouvrement.adapters.db.tables import audit_event
from recouvrement.domain.contributors import ContributorDraft, ContributorKind, Establishment
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.services import audit_plan, cases, contributors, ledger
from recouvrement.services.surcharges import surcharges_step

from .case_region import ON, Region
from .conftest import SYSTEM

ADJUST = [
    {"period": "2014", "fund": "unedic", "item": "unemployment_employer", "amount": "1200.00"}
]


def _employer(engine, name, siren, siret, territory, organisation, naf):
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name=name,
        territory=territory,
        organisation_code=organisation,
        siren=siren,
        establishments=(Establishment(siret, territory, naf_code=naf),),
    )
    return contributors.create_contributor(engine, SYSTEM, draft, date(2012, 1, 1))["id"]


@pytest.fixture
def region(engine):
    r = Region(engine)
    r.grant_case_work()
    r.btp = _employer(engine, "Maçonnerie du Rhône", "732829320", "73282932000017", "69",
                      "URSSAF-RA", "4399C")  # fmt: skip
    r.shop = _employer(engine, "Librairie de Lyon", "443061841", "44306184100013", "69",
                       "URSSAF-RA", "4761Z")  # fmt: skip
    r.mayotte = _employer(engine, "Hôtel de Mamoudzou", "552100554", "55210055400013", "976",
                          "CSSM", "5510Z")  # fmt: skip
    return r


def _worker(r, plan):
    """The agent the shared queue gave the plan's case to: they submit it."""
    return r[cases.get_case(r.engine, SYSTEM, plan["case_id"], on=ON)["assignee"]]


def _approved_plan(r, year=2015, on=ON, drafter="ura.1", **kw):
    actor = SYSTEM if drafter is None else r[drafter]
    plan = audit_plan.draft_plan(r.engine, actor, year, on=on, **kw)
    audit_plan.move_plan(r.engine, _worker(r, plan), plan["id"], "submit", on=on)
    audit_plan.move_plan(r.engine, r["dir.urssaf"], plan["id"], "sign_off", on=on)
    return audit_plan.move_plan(r.engine, r["dir.rsi"], plan["id"], "sign_off", on=on)


def test_candidates_follow_the_criteria_and_give_their_reasons(region):
    found = audit_plan.candidates(region.engine, region["ura.1"], 2015, on=ON)
    ids = [c["contributor_id"] for c in found["items"]]
    # the builder (priority sector, never audited) is selected; the bookshop (15 points) is not;
    # the Mayotte hotel is not within the URSSAF agent's reach
    assert ids == [region.btp]
    assert {r["criterion"] for r in found["items"][0]["reasons"]} == {"sector", "never_audited"}
    everyone = audit_plan.candidates(region.engine, SYSTEM, 2015, on=ON)
    assert region.mayotte in [c["contributor_id"] for c in everyone["items"]]
    before = audit_plan.candidates(region.engine, SYSTEM, 2013, on=ON)
    assert region.mayotte not in [c["contributor_id"] for c in before["items"]]


def test_the_plan_needs_a_director_of_each_party_then_the_collector_carries_it_out(region):
    e = region.engine
    plan = audit_plan.draft_plan(e, region["ura.1"], 2015, on=ON)
    assert plan["state"] == "draft" and [a["contributor_id"] for a in plan["audits"]] == [
        region.btp
    ]
    audit_id = plan["audits"][0]["id"]
    worker = _worker(region, plan)
    audit_plan.move_plan(e, worker, plan["id"], "submit", on=ON)
    with pytest.raises(Forbidden):  # an agent is not a director
        audit_plan.move_plan(e, worker, plan["id"], "sign_off", on=ON)
    half = audit_plan.move_plan(e, region["dir.urssaf"], plan["id"], "sign_off", on=ON)
    assert half["state"] == "awaiting_signoffs"
    with pytest.raises(Conflict, match="pas approuvé"):
        audit_plan.start_audit(e, region["ura.1"], audit_id, on=ON)
    done = audit_plan.move_plan(e, region["dir.rsi"], plan["id"], "sign_off", on=ON)
    assert done["state"] == "approved"
    with pytest.raises(Forbidden, match="relève de l'URSSAF"):
        audit_plan.start_audit(e, region["rsi.1"], audit_id, on=ON)
    started = audit_plan.start_audit(e, region["ura.1"], audit_id, on=date(2015, 4, 1))
    assert started["status"] == "in_progress"
    with e.connect() as conn:
        hold = conn.execute(select(collection_hold)).one()
    assert (hold.kind, hold.source, hold.lifted_on) == ("audit", f"audit:{audit_id}", None)

    result = audit_plan.record_results(
        e, region["ura.1"], audit_id, ADJUST, notice_date=date(2015, 6, 1)
    )
    assert result["status"] == "completed" and result["adjusted"] == 120_000
    assert result["adjustments"][0]["entry_key"] == f"audit:{audit_id}:2014"
    key = dict(item="unemployment_employer", period="2014")
    assert ledger.balance(e, SYSTEM, region.btp, **key) == 120_000
    with e.connect() as conn:
        c = conn.execute(select(call).where(call.c.contributor_id == region.btp)).one()
        lifted = conn.execute(select(collection_hold.c.lifted_on)).scalar_one()
    assert (c.kind, c.period, c.issue_date, c.due_date, c.amount) == (
        "audit_adjustment", "2014", date(2015, 6, 1), date(2015, 7, 1), 120_000,
    )  # fmt: skip
    assert lifted == date(2015, 6, 1)
    with e.connect() as conn:
        events = conn.execute(
            select(limitation_event.c.period, limitation_event.c.event, limitation_event.c.on)
            .order_by(limitation_event.c.on)
        ).all()  # fmt: skip
    assert [tuple(x) for x in events] == [
        ("2014", "audit_contradictory_phase", date(2015, 4, 1)),
        ("2014", "formal_notice", date(2015, 6, 1)),
    ]
    with pytest.raises(Conflict, match="completed"):
        audit_plan.record_results(
            e, region["ura.1"], audit_id, ADJUST, notice_date=date(2015, 6, 2)
        )
    assert ledger.balance(e, SYSTEM, region.btp, **key) == 120_000
    # unpaid 31 days after the notice: the audit regime's additional surcharge is posted
    report = surcharges_step(e, date(2015, 7, 10))
    assert report.counts.get("surcharge_audit_posted", 0) > 0


def test_an_adjustment_on_a_period_already_called_is_refused(region):
    from recouvrement.services import calls

    e = region.engine
    plan = _approved_plan(region, contributor_ids=[region.btp])
    audit_id = plan["audits"][0]["id"]
    audit_plan.start_audit(e, region["ura.1"], audit_id, on=date(2015, 4, 1))
    with e.begin() as conn:
        calls.record_call(conn, contributor_id=region.btp, period="2014-03",
                          kind="employer_monthly", issue_date=date(2014, 4, 1),
                          due_date=date(2014, 4, 15), amount=0)  # fmt: skip
    monthly = [{**ADJUST[0], "period": "2014-03"}]
    with pytest.raises(Conflict, match="déjà appelée"):
        audit_plan.record_results(
            e, region["ura.1"], audit_id, monthly, notice_date=date(2015, 6, 1)
        )
    assert ledger.balance(e, SYSTEM, region.btp) == 0


def test_mayotte_employers_are_audited_from_2014_and_pre_2013_periods_adjusted(region):
    e = region.engine
    early = date(2014, 2, 3)  # the ISU agreement is in force, the Mayotte audits not yet
    with pytest.raises(DomainError, match="à compter de 2014") as err:
        audit_plan.draft_plan(e, SYSTEM, 2013, on=early, contributor_ids=[region.mayotte])
    assert err.value.problems[0].code == "mayotte_audits_not_started"
    with e.connect() as conn:  # the refused attempt is in the audit trail
        refused = (
            conn.execute(select(audit_event.c.action).where(audit_event.c.outcome == "refused"))
            .scalars()
            .all()
        )
    assert refused == ["audits.plan"]
    # an URSSAF agent cannot name the CSSM's employer: the plan is drafted by the system
    plan = _approved_plan(
        region, year=2014, on=early, drafter=None, contributor_ids=[region.mayotte]
    )
    assert plan["state"] == "approved" and plan["audits"] == []  # out of the directors' reach
    audit_id = audit_plan.get_plan(e, region["agent.cssm"], plan["id"])["audits"][0]["id"]
    with pytest.raises(DomainError, match="à compter de 2014"):
        audit_plan.start_audit(e, region["agent.cssm"], audit_id, on=date(2013, 12, 30))
    audit_plan.start_audit(e, region["agent.cssm"], audit_id, on=date(2014, 3, 3))
    legacy = [{"period": "2012", "fund": "unedic", "item": "unemployment_employer",
               "amount": "500.00"}]  # fmt: skip
    done = audit_plan.record_results(
        e, region["agent.cssm"], audit_id, legacy, notice_date=date(2014, 4, 1)
    )
    assert done["adjusted"] == 50_000
    assert ledger.balance(e, SYSTEM, region.mayotte, period="2012") == 50_000
    assert audit_plan.completed_audits(e, 2014, territory="976") == 1
    assert audit_plan.completed_audits(e, 2014, territory="69") == 0


def test_the_plan_through_the_api(region):
    from fastapi.testclient import TestClient

    from recouvrement.adapters.api import create_app
    from recouvrement.services import authentication

    client = TestClient(create_app(region.engine))

    def call_as(login, method, url, body=None):
        token = authentication.issue_token(region.engine, SYSTEM, login)
        r = client.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code < 300, r.text
        return r.json()

    found = call_as("ura.1", "GET", "/api/v1/audits/candidates?year=2015&on=2015-03-02")
    assert [c["contributor_id"] for c in found["items"]] == [region.btp]
    plan = call_as("ura.1", "POST", "/api/v1/audit-plans", {"year": 2015, "on": "2015-03-02"})
    worker = cases.get_case(region.engine, SYSTEM, plan["case_id"], on=ON)["assignee"]
    url = f"/api/v1/audit-plans/{plan['id']}/transitions"
    call_as(worker, "POST", url, {"action": "submit", "on": "2015-03-02"})
    call_as("dir.urssaf", "POST", url, {"action": "sign_off", "on": "2015-03-02"})
    done = call_as("dir.rsi", "POST", url, {"action": "sign_off", "on": "2015-03-02"})
    assert done["state"] == "approved"
    audit_id = done["audits"][0]["id"]
    call_as("ura.1", "POST", f"/api/v1/audits/{audit_id}/start", {"on": "2015-04-01"})
    result = call_as(
        "ura.1",
        "POST",
        f"/api/v1/audits/{audit_id}/results",
        {"notice_date": "2015-06-01", "adjustments": ADJUST},
    )
    assert result["adjusted"] == 120_000
    assert call_as("ura.1", "GET", f"/api/v1/audits/{audit_id}")["status"] == "completed"


def test_the_plan_from_the_command_line(region, database_url, monkeypatch, tmp_path):
    import json
    import re

    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app

    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, ["audits", *map(str, args)])
        assert result.exit_code == 0, result.output
        return result.output

    assert "secteur prioritaire (NAF 4399C)" in run("candidates", 2015, "--on", "2015-03-02")
    out = run("draft", 2015, "--on", "2015-03-02", "--contributor", region.btp)
    plan_id = int(re.search(r"Plan de contrôle n° (\d+)", out).group(1))
    audit_id = int(re.search(r"contrôle n° (\d+) · cotisant", out).group(1))
    run("move", plan_id, "submit", "--on", "2015-03-02")
    run("move", plan_id, "sign_off", "--on", "2015-03-02", "--agent", "dir.urssaf")
    assert "état approved" in run("move", plan_id, "sign_off", "--on", "2015-03-02",
                                  "--agent", "dir.rsi")  # fmt: skip
    refused = runner.invoke(app, ["audits", "start", str(audit_id), "--agent", "rsi.1"])
    assert refused.exit_code == 2 and "relève de l'URSSAF" in refused.output
    run("start", audit_id, "--agent", "ura.1", "--on", "2015-04-01")
    path = tmp_path / "redressements.json"
    path.write_text(json.dumps(ADJUST), encoding="utf-8")
    out = run("results", audit_id, "--file", path, "--notice", "2015-06-01", "--agent", "ura.1")
    assert "redressé 1 200,00 €" in out.replace("\u202f", " ").replace("\xa0", " ")


def test_the_criteria_read_arrears_incidents_and_payroll_from_the_account(region, monkeypatch):
    """The facts behind a score, set-based on both backends: principal past its due date,
    incidents of the last twelve months, the payroll declared in the two years before."""
    from recouvrement.adapters.db.audit_plan_tables import audit as audit_table
    from recouvrement.services import payroll
    from recouvrement.services.call_issuing import issue_calls_step, payment_incidents_step

    monkeypatch.setenv("RECOUVREMENT_CALL_NOTICES", "none")

    e, siret = region.engine, "44306184100013"
    two = [
        {"nir": "180017512345660", "birth_date": "1980-01-01", "gross_pay": "3000.00"},
        {"nir": "295109912611193", "birth_date": "1975-02-10", "gross_pay": "2000.00"},
    ]
    payroll.declare(e, SYSTEM, siret, "2013-03", two, date(2013, 4, 5))
    payroll.declare(e, SYSTEM, siret, "2014-03", two[:1], date(2014, 4, 5))
    issue_calls_step(e, date(2014, 4, 5))
    payment_incidents_step(e, date(2014, 4, 20))  # both calls unpaid at their due date
    with e.connect() as conn:
        (facts,) = audit_plan.account_facts(conn, [region.shop], ON, 12)
        owed = ledger.balance(e, SYSTEM, region.shop)
    assert facts.overdue_principal == owed > 0
    assert facts.incidents == 2
    assert (facts.payroll_before, facts.payroll_last) == (500_000, 300_000)
    assert facts.naf_codes == ("4761Z",) and not facts.audited_before
    found = audit_plan.candidates(e, region["ura.1"], 2015, on=ON)
    reasons = {c["contributor_id"]: {r["criterion"] for r in c["reasons"]} for c in found["items"]}
    assert reasons[region.shop] == {"incidents", "payroll_variation", "never_audited"}
    with e.begin() as conn:  # an audit completed before: the account is no longer "never audited"
        plan = conn.execute(
            audit_plan.audit_plan.insert()
            .values(agreement="x", year=2014, case_id=0, criteria_from=date(2014, 1, 1),
                    created_by="t", created_on=ON, created_at=datetime.now(UTC))
            .returning(audit_plan.audit_plan.c.id)
        ).scalar_one()  # fmt: skip
        conn.execute(
            audit_table.insert().values(plan_id=plan, contributor_id=region.shop, score=0,
                                        reasons=[], status="completed", adjusted=0)
        )  # fmt: skip
        (again,) = audit_plan.account_facts(conn, [region.shop], ON, 12)
    assert again.audited_before
