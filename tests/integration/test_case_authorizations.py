"""Case work obeys the agents' authorizations (habilitations) and trainings on the day of the act
(ISU agreement art. 3 and 6): refusals name their reason, are audited once, and change nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recouvrement.adapters.api import create_app
from recouvrement.adapters.db.tables import audit_event, case_comment, case_event, case_table
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.services import authentication, case_queues, cases
from recouvrement.services import authorizations as rights

from .case_region import ON, TRAINING, Region
from .conftest import SYSTEM

BEFORE = date(2015, 2, 27)  # the Friday before ON
YESTERDAY = ON - timedelta(days=1)


@pytest.fixture
def region(engine):
    return Region(engine)


def complaint(region, actor, on=ON):
    payload = {"channel": "phone", "subject": "appel de cotisations contesté"}
    return cases.open_case(region.engine, actor, "complaint", on=on, payload=payload)


def state_of(engine, case_id=None):
    """Everything a refused act could have touched: cases, their history and comments, the
    queue report, and the audit events that are not refusals."""
    with engine.connect() as conn:
        rows = conn.execute(select(case_table).order_by(case_table.c.id)).all()
        if case_id is not None:
            rows = [r for r in rows if r.id == case_id] + [len(rows)]
        events = conn.scalar(select(func.count()).select_from(case_event))
        comments = conn.scalar(select(func.count()).select_from(case_comment))
        done = conn.scalar(
            select(func.count()).select_from(audit_event).where(audit_event.c.outcome == "done")
        )
    report = case_queues.queue_report(engine, SYSTEM, on=ON)
    return rows, events, comments, done, report


def refusals(engine):
    with engine.connect() as conn:
        return conn.execute(
            select(audit_event.c.actor, audit_event.c.action, audit_event.c.detail)
            .where(audit_event.c.outcome == "refused")
            .order_by(audit_event.c.id)
        ).all()


def test_an_agent_without_authorization_cannot_open_work_nor_be_given_cases(region):
    region.grant_case_work(["ura.1", "resp.urssaf", "resp.rsi"])
    first = complaint(region, SYSTEM)
    second = complaint(region, SYSTEM)
    # Only the authorized agent is in the queue: rsi.1 and rsi.2 hold the role, not the right.
    assert first["assignee"] == second["assignee"] == "ura.1"
    [queue] = case_queues.queue_report(region.engine, SYSTEM, on=ON)["queues"]
    available = {o["organisation"]: o["agents_available"] for o in queue["organisations"]}
    assert available == {"RSI-RA": 0, "URSSAF-RA": 1}

    before = state_of(region.engine)
    with pytest.raises(Forbidden) as err:
        complaint(region, region["rsi.2"])
    assert err.value.problems[0].code == "no_authorization"
    assert "aucune habilitation sur l'activité « complaints »" in err.value.problems[0].reason
    with pytest.raises(Forbidden) as err:
        cases.transition(
            region.engine, region["rsi.1"], first["id"], "withdraw", on=ON, data={"reason": "x"}
        )
    assert err.value.problems[0].code == "no_authorization"
    with pytest.raises(DomainError) as err:
        cases.assign(region.engine, region["resp.rsi"], first["id"], "rsi.1", on=ON)
    assert err.value.problems[0].field == "agent"
    assert err.value.problems[0].code == "no_authorization"
    assert "rsi.1" in err.value.problems[0].reason
    with pytest.raises(Forbidden) as err:
        cases.comment(region.engine, region["rsi.1"], first["id"], "vu", on=ON)
    assert err.value.problems[0].code == "no_authorization"
    assert state_of(region.engine) == before
    assert [(r.actor, r.action) for r in refusals(region.engine)] == [
        ("rsi.2", "case.open"),
        ("rsi.1", "case.withdraw"),
        ("resp.rsi", "case.assign"),
        ("rsi.1", "case.comment"),
    ]
    assert all("no_authorization" in r.detail["reason"] for r in refusals(region.engine))

    # Granting the authorization (with the art. 3 training) makes the same acts work.
    region.grant_case_work(["rsi.1"])
    case = cases.assign(region.engine, region["resp.rsi"], first["id"], "rsi.1", on=ON)
    assert case["assignee"] == "rsi.1" and case["owner"] == "RSI-RA"
    case = cases.transition(
        region.engine,
        region["rsi.1"],
        first["id"],
        "qualify",
        on=ON,
        data={"qualification": "montant"},
    )
    assert case["state"] == "qualified"
    third = complaint(region, SYSTEM)
    assert third["assignee"] == "rsi.1"  # now in the queue, with the lightest load


def test_an_authorization_that_ended_is_refused_with_its_end_date(region):
    region.grant_case_work(["ura.1"], valid_to=YESTERDAY)
    with pytest.raises(Forbidden) as err:
        complaint(region, region["ura.1"])
    problem = err.value.problems[0]
    assert problem.code == "authorization_expired" and "2015-03-01" in problem.reason
    assert [r.action for r in refusals(region.engine)] == ["case.open"]
    with region.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(case_table)) == 0


def _expired_training_case(region):
    """A case given to rsi.1 on Friday, whose training ran out on Sunday."""
    region.grant_case_work(["ura.1", "resp.rsi"])
    region.grant_case_work(["rsi.1"], trained=False)
    region.train("rsi.1", expires_on=YESTERDAY)
    case = complaint(region, SYSTEM, on=BEFORE)
    return cases.assign(region.engine, region["resp.rsi"], case["id"], "rsi.1", on=BEFORE)


def test_a_training_expired_yesterday_is_refused_today_audited_once(region):
    case = _expired_training_case(region)
    assert case["assignee"] == "rsi.1"
    before = state_of(region.engine, case["id"])
    with pytest.raises(Forbidden) as err:
        cases.transition(
            region.engine,
            region["rsi.1"],
            case["id"],
            "qualify",
            on=ON,
            data={"qualification": "montant"},
        )
    problem = err.value.problems[0]
    assert problem.code == "training_expired"
    assert f"la formation « {TRAINING} »" in problem.reason and "2015-03-01" in problem.reason
    assert state_of(region.engine, case["id"]) == before
    [refusal] = refusals(region.engine)
    assert (refusal.actor, refusal.action) == ("rsi.1", "case.qualify")
    assert (
        "training_expired" in refusal.detail["reason"] and "2015-03-01" in refusal.detail["reason"]
    )
    # The queue no longer gives rsi.1 anything either.
    assert complaint(region, SYSTEM)["assignee"] == "ura.1"

    # Yesterday the same act was allowed; after the training is renewed it is allowed again.
    region.train("rsi.1", completed_on=ON)
    case = cases.transition(
        region.engine,
        region["rsi.1"],
        case["id"],
        "qualify",
        on=ON,
        data={"qualification": "montant"},
    )
    assert case["state"] == "qualified"


def test_through_the_api_a_refusal_is_audited_exactly_once(region, engine):
    case = _expired_training_case(region)
    client = TestClient(create_app(engine))
    token = authentication.issue_token(engine, SYSTEM, "rsi.1")
    before = state_of(engine, case["id"])
    r = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        json={"action": "qualify", "data": {"qualification": "montant"}, "on": ON.isoformat()},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403
    [error] = r.json()["errors"]
    assert error["code"] == "training_expired" and "a expiré le 2015-03-01" in error["reason"]
    assert state_of(engine, case["id"]) == before
    assert [(x.actor, x.action) for x in refusals(engine)] == [("rsi.1", "case.qualify")]
    # A refusal no service audits itself is still recorded once, by the API.
    r = client.get("/api/v1/audit/events", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert len(refusals(engine)) == 2


def test_whoever_submitted_a_referral_cannot_sign_it_off(region):
    rights.grant(region.engine, SYSTEM, "dir.urssaf", "national_referral", date(2015, 1, 1))
    case = cases.open_case(
        region.engine,
        region["dir.urssaf"],
        "national_referral",
        on=ON,
        payload={"subject": "échange des NIR certifiés"},
    )
    case = cases.transition(
        region.engine,
        region["dir.urssaf"],
        case["id"],
        "submit",
        on=ON,
        data={"committee_informed_on": "2015-02-26"},
    )
    before = state_of(region.engine, case["id"])
    with pytest.raises(Forbidden) as err:
        cases.transition(region.engine, region["dir.urssaf"], case["id"], "sign_off", on=ON)
    assert err.value.problems[0].code == "self_approval"
    assert "dir.urssaf" in err.value.problems[0].reason
    assert state_of(region.engine, case["id"]) == before
    assert [(r.actor, r.action) for r in refusals(region.engine)] == [
        ("dir.urssaf", "case.sign_off")
    ]
    signed = cases.transition(region.engine, region["dir.rsi"], case["id"], "sign_off", on=ON)
    assert signed["payload"]["signoffs"] == {"RSI-RA": "dir.rsi"}
