"""Payment plans on both backends, from declarations to a lapsed plan: the contributor asks through
the API, the examination refuses while a declaration is missing and the employee share unpaid,
an agent grants once they are, the schedule letter is produced, the daily cycle pays the first
instalment and lapses the plan after the grace period of the second, and the hold is lifted."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from recouvrement.adapters.api import create_app
from recouvrement.adapters.db.collection_tables import collection_hold
from recouvrement.adapters.db.cycle_tables import document
from recouvrement.adapters.db.tables import audit_event, case_table
from recouvrement.domain.contributors import ContributorDraft, ContributorKind, Establishment
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services import (
    authentication,
    collection_holds,
    contributors,
    daily_cycle,
    ledger,
    payment_plans,
    payroll,
)
from recouvrement.services.allocation import open_debts

from .case_region import ON, Region
from .conftest import SYSTEM
from .cycle_world import LINES, siren, siret

# The steps of issue #5 and this one: the other steps of the cycle are other areas' tests.
STEPS = tuple(
    s
    for s in daily_cycle.STEPS
    if s.split(":")[0].rsplit(".", 1)[1]
    in ("call_issuing", "allocation", "payment_plans", "surcharges", "refunds", "daily_cycle")
)
DECLARED = {"2016-01": date(2016, 2, 5), "2016-03": date(2016, 4, 5)}


@pytest.fixture
def region(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_DOCUMENTS_DIR", str(tmp_path / "documents"))
    region = Region(engine)
    region.grant_case_work()
    return region


def open_employer(region, n: int, login: str) -> int:
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name=f"Employeur {n}",
        territory="69",
        organisation_code="URSSAF-RA",
        siren=siren(n),
        establishments=(Establishment(siret(n), "69", f"Établissement {n}"),),
    )
    cid = contributors.create_contributor(region.engine, SYSTEM, draft, ON)["id"]
    authentication.create_agent(
        region.engine, SYSTEM, login, draft.name, "URSSAF-RA", ["contributor"], cid
    )
    return cid


def receivable(engine, cid: int) -> dict[tuple[str, str, str], int]:
    with engine.connect() as conn:
        return {(d.fund, d.item, d.period): d.amount for d in open_debts(conn, cid)}


def pay(engine, cid: int, amounts: dict[tuple[str, str, str], int], day: date, key: str) -> None:
    """A bank receipt paying the given keys."""
    total = sum(amounts.values())
    postings = [Posting("bank", None, "", "", "", total)] + [
        Posting("receivable", cid, fund, item, period, -amount)
        for (fund, item, period), amount in sorted(amounts.items())
    ]
    ledger.post_entry(engine, SYSTEM, Entry(key, day, "payment", tuple(postings)))


def employee_share(engine, cid: int) -> dict[tuple[str, str, str], int]:
    return {k: v for k, v in receivable(engine, cid).items() if k[1] == "unemployment_employee"}


def client_for(engine, login: str) -> tuple[TestClient, dict]:
    token = authentication.issue_token(engine, SYSTEM, login)
    return TestClient(create_app(engine)), {"Authorization": f"Bearer {token}"}


def test_from_declarations_to_a_lapsed_plan(region):
    engine = region.engine
    cid = open_employer(region, 1, "cotisant.1")
    agent = region["ura.1"]
    for period, on in DECLARED.items():
        payroll.declare(engine, agent, siret(1), period, LINES, on)
    client, headers = client_for(engine, "cotisant.1")

    # The contributor asks through the API; February was never declared, the employee share is
    # unpaid: the examination refuses, naming both.
    r = client.post(
        "/api/v1/payment-plans",
        json={"contributor_id": cid, "months": 6, "on": "2016-04-20"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["status"] == "requested" and plan["requested_by"] == "cotisant.1"
    examiner = region[plan["assignee"]]
    out = payment_plans.examine_plan(engine, examiner, plan["id"], on=date(2016, 4, 21))
    assert out["status"] == "refused"
    codes = {p["code"]: p["reason"] for p in out["problems"]}
    assert set(codes) == {"declarations_missing", "employee_share_unpaid"}
    assert "2016-02" in codes["declarations_missing"]
    assert "R243-21" in codes["employee_share_unpaid"]
    with engine.connect() as conn:
        case = conn.execute(
            select(case_table.c.state, case_table.c.closed_on).where(
                case_table.c.id == plan["case_id"]
            )
        ).one()
    assert case.state == "refused" and case.closed_on == date(2016, 4, 21)

    # February declared, the employee share paid: a new request is eligible and granted.
    payroll.declare(engine, agent, siret(1), "2016-02", LINES, date(2016, 4, 21))
    pay(engine, cid, employee_share(engine, cid), date(2016, 4, 22), "receipt:test-share")
    r = client.post(
        "/api/v1/payment-plans",
        json={"contributor_id": cid, "months": 6, "on": "2016-04-25"},
        headers=headers,
    )
    plan = r.json()
    examiner = region[plan["assignee"]]
    out = payment_plans.examine_plan(engine, examiner, plan["id"], on=date(2016, 4, 25))
    assert out["status"] == "eligible" and out["problems"] == []
    owed = sum(receivable(engine, cid).values())
    out = payment_plans.grant_plan(engine, examiner, plan["id"], on=date(2016, 4, 26))
    assert out["status"] == "granted" and out["total"] == owed
    schedule = out["instalments"]
    assert len(schedule) == 6 and sum(i["amount"] for i in schedule) == owed
    assert {i["amount"] for i in schedule[:-1]} == {owed // 6}
    # 15 May 2016 is a Sunday and the 16th Whit Monday: the first instalment moves to the 17th.
    assert [i["due_date"] for i in schedule[:2]] == ["2016-05-17", "2016-06-15"]
    with engine.connect() as conn:
        assert collection_holds.active_holds(conn, [cid], date(2016, 4, 27))[cid]
        doc = conn.execute(select(document).where(document.c.kind == "payment_plan")).one()
    assert doc.contributor_id == cid and doc.reference == out["document_reference"]
    letter = client.get(f"/api/v1/payment-plans/{plan['id']}/letter.pdf", headers=headers)
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")

    # The first instalment paid on its day; the second never: the cycle lapses the plan the day
    # after the grace period and lifts the hold.
    pay(engine, cid, _first_debts(out, schedule[0]["amount"]), date(2016, 5, 17), "receipt:i1")
    daily_cycle.run_until(engine, SYSTEM, date(2016, 6, 30), start=date(2016, 4, 27), steps=STEPS)
    mid = payment_plans.get_plan(engine, SYSTEM, plan["id"])
    assert mid["status"] == "granted"
    assert [i["paid_on"] for i in mid["instalments"][:2]] == ["2016-05-17", None]
    daily_cycle.run_until(engine, SYSTEM, date(2016, 7, 1), steps=STEPS)
    end = payment_plans.get_plan(engine, SYSTEM, plan["id"])
    assert end["status"] == "lapsed" and end["lapsed_on"] == "2016-07-01"
    with engine.connect() as conn:
        hold = conn.execute(
            select(collection_hold).where(collection_hold.c.source == f"payment_plan:{plan['id']}")
        ).one()
        assert hold.lifted_on == date(2016, 7, 1)
        assert not collection_holds.active_holds(conn, [cid], date(2016, 7, 2)).get(cid)
        actions = set(conn.scalars(select(audit_event.c.action)))
    assert {"payment_plan.request", "payment_plan.grant", "payment_plan.lapse"} <= actions
    # Surcharges kept accruing during the plan (the surcharges step is not suspended).
    assert any(k[1].startswith("surcharge_") for k in receivable(engine, cid))
    # A re-run of the day changes nothing.
    daily_cycle.run_day(engine, SYSTEM, date(2016, 7, 1), steps=STEPS)
    assert payment_plans.get_plan(engine, SYSTEM, plan["id"]) == end


def _first_debts(plan: dict, amount: int) -> dict[tuple[str, str, str], int]:
    """Debts of the plan, oldest first, paid up to `amount`."""
    out, left = {}, amount
    for d in plan["debts"]:
        paid = min(d["amount"], left)
        if paid:
            out[(d["fund"], d["item"], d["period"])] = paid
            left -= paid
    return out


def test_completed_plan_lifts_the_hold(region):
    engine = region.engine
    cid = open_employer(region, 2, "cotisant.2")
    agent = region["ura.1"]
    for period, on in (*DECLARED.items(), ("2016-02", date(2016, 3, 4))):
        payroll.declare(engine, agent, siret(2), period, LINES, on)
    # Two employees before 2017: called by quarter, due 15 April (R243-6 1°).
    pay(engine, cid, employee_share(engine, cid), date(2016, 4, 15), "receipt:share-2")
    plan = payment_plans.request_plan(engine, agent, cid, months=2, on=date(2016, 5, 2))
    examiner = region[plan["assignee"]]
    seen = payment_plans.examine_plan(engine, examiner, plan["id"], on=date(2016, 5, 2))
    assert seen["status"] == "eligible", seen["problems"]
    out = payment_plans.grant_plan(engine, examiner, plan["id"], on=date(2016, 5, 3))
    assert [i["due_date"] for i in out["instalments"]] == ["2016-06-15", "2016-07-15"]
    pay(engine, cid, _first_debts(out, out["total"]), date(2016, 6, 20), "receipt:all-2")
    # Paid late for the first instalment but within its grace period, and in full.
    report = payment_plans.payment_plans_step(engine, date(2016, 6, 21))
    assert report.counts["payment_plans_completed"] == 1
    again = payment_plans.payment_plans_step(engine, date(2016, 6, 22))
    assert "payment_plans_completed" not in again.counts
    done = payment_plans.get_plan(engine, SYSTEM, plan["id"])
    assert done["status"] == "completed" and done["completed_on"] == "2016-06-20"
    with engine.connect() as conn:
        assert not collection_holds.active_holds(conn, [cid], date(2016, 6, 21)).get(cid)


def test_reach_and_refusals(region):
    engine = region.engine
    own = open_employer(region, 3, "cotisant.3")
    other = open_employer(region, 4, "cotisant.4")
    with pytest.raises(Forbidden):
        payment_plans.request_plan(engine, region["cotisant.3"], other, months=3, on=ON)
    with pytest.raises(Forbidden):  # a Mayotte agent does not reach the region's employers
        payment_plans.request_plan(engine, region["agent.cssm"], own, months=3, on=ON)
    with pytest.raises(DomainError) as err:
        payment_plans.request_plan(engine, region["cotisant.3"], own, months=0, on=ON)
    assert err.value.problems[0].code == "months"
    plan = payment_plans.request_plan(engine, region["cotisant.3"], own, months=18, on=ON)
    with pytest.raises(Forbidden):  # the contributor cannot examine their own request
        payment_plans.examine_plan(engine, region["cotisant.3"], plan["id"], on=ON)
    with pytest.raises(Forbidden):
        payment_plans.get_plan(engine, region["cotisant.4"], plan["id"])
    assert payment_plans.list_plans(engine, region["cotisant.4"]) == []
    examiner = region[plan["assignee"]]
    out = payment_plans.examine_plan(engine, examiner, plan["id"], on=ON)
    assert {p["code"] for p in out["problems"]} == {"no_debt", "too_long"}
    with pytest.raises(Conflict):
        payment_plans.grant_plan(engine, examiner, out["id"], on=ON)
    with engine.connect() as conn:
        refused = conn.scalars(
            select(audit_event.c.action).where(audit_event.c.outcome == "refused")
        ).all()
    assert "payment_plan.request" in refused and "payment_plan.grant" in refused


def test_the_command_line_requests_examines_grants_and_lists(region, database_url, monkeypatch):
    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app

    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    engine = region.engine
    cid = open_employer(region, 3, "cotisant.3")
    agent = region["ura.1"]
    for period, on in (*DECLARED.items(), ("2016-02", date(2016, 3, 4))):
        payroll.declare(engine, agent, siret(3), period, LINES, on)
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(app, ["plans", *map(str, args)])

    asked = cli("request", cid, "--months", 2, "--login", "ura.1", "--on", "2016-05-02")
    assert asked.exit_code == 0, asked.output
    plan_id = payment_plans.list_plans(engine, SYSTEM, contributor_id=cid)[0]["id"]
    examiner = payment_plans.get_plan(engine, SYSTEM, plan_id)["assignee"]
    refused = cli("examine", plan_id, "--login", examiner, "--on", "2016-05-02")
    assert refused.exit_code == 0 and "refusé" in refused.output
    assert "condition non remplie" in refused.output  # the employee share is not paid
    listed = cli("list", "--contributor", cid, "--login", "ura.1")
    assert f"Échéancier n° {plan_id}" in listed.output
    bad = cli("grant", plan_id, "--login", examiner, "--on", "2016-05-03")
    assert bad.exit_code == 2 and "Erreur" in bad.output
