"""The case engine on both backends: each case type's path, refusals, sign-offs, pauses, queues."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from recouvrement.adapters.db.tables import audit_event, case_event, case_table
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.services import case_queues, cases

from .case_region import ON, Region
from .conftest import SYSTEM


@pytest.fixture
def region(engine):
    region = Region(engine)
    region.grant_case_work()
    return region


def complaint(region, actor="ura.1", on=ON, **extra):
    payload = {"channel": "phone", "subject": "appel de cotisations contesté", **extra}
    return cases.open_case(region.engine, region[actor], "complaint", on=on, payload=payload)


def act(region, login, case, action, on=ON, **data):
    return cases.transition(region.engine, region[login], case["id"], action, on=on, data=data)


def snapshot(engine, case_id):
    with engine.connect() as conn:
        row = dict(
            conn.execute(select(case_table).where(case_table.c.id == case_id)).one()._mapping
        )
        events = conn.scalar(
            select(func.count()).select_from(case_event).where(case_event.c.case_id == case_id)
        )
    return row, events


def refused(engine, action):
    with engine.connect() as conn:
        return conn.execute(
            select(audit_event.c.actor, audit_event.c.detail).where(
                audit_event.c.outcome == "refused", audit_event.c.action == action
            )
        ).all()


def test_complaint_from_reception_to_closure(region):
    c = complaint(region)
    assert c["state"] == "received" and c["due_on"] == "2015-03-23"  # 15 business days
    assert c["time_left"] == 15
    worker = c["assignee"]
    c = act(region, worker, c, "qualify", qualification="contestation du montant")
    c = act(region, worker, c, "answer", date(2015, 3, 10), answer="montant corrigé")
    c = act(region, worker, c, "close", date(2015, 3, 11))
    assert c["state"] == "closed" and c["closed_on"] == "2015-03-11"
    assert c["time_left"] is None and c["actions"] == []
    assert [h["action"] for h in c["history"]] == ["open", "qualify", "answer", "close"]
    assert c["payload"]["answer"] == "montant corrigé"


def test_waiting_for_the_contributor_extends_the_due_date(region):
    c = complaint(region)
    worker = c["assignee"]
    c = act(region, worker, c, "qualify", qualification="revenu")
    c = act(region, worker, c, "ask_contributor", date(2015, 3, 4))
    assert c["paused_since"] == "2015-03-04"
    frozen = c["time_left"]
    later = cases.get_case(region.engine, region[worker], c["id"], on=date(2015, 3, 20))
    assert later["time_left"] == frozen  # the clock stands still while paused
    c = act(region, worker, c, "contributor_replied", date(2015, 3, 11))  # Thu 5 → Wed 11: 5 days
    assert c["paused_business_days"] == 5 and c["paused_since"] is None
    assert c["due_on"] == calendar_for(None).add_business_days(date(2015, 3, 23), 5).isoformat()


def test_reception_visit_opens_a_complaint(region):
    visit = cases.open_case(
        region.engine,
        region["rsi.1"],
        "reception_visit",
        on=ON,
        payload={"desk": "DESK-LYON", "visitor": "M. Durand", "topic": "majorations contestées"},
    )
    assert visit["assignee"] == "rsi.1"  # the agent at the desk works the visit
    visit = act(region, "rsi.1", visit, "open_complaint")
    assert visit["state"] == "referred" and visit["closed_on"] == ON.isoformat()
    new = cases.get_case(region.engine, region["rsi.1"], visit["payload"]["opened_case_id"], on=ON)
    assert new["case_type"] == "complaint" and new["state"] == "received"
    assert new["payload"] == {
        "channel": "desk",
        "subject": "majorations contestées",
        "desk": "DESK-LYON",
        "opened_from": visit["id"],
    }
    other = cases.open_case(
        region.engine,
        region["ura.1"],
        "reception_visit",
        on=ON,
        payload={"desk": "DESK-SAINT-ETIENNE", "visitor": "Mme Roux", "topic": "attestation"},
    )
    assert act(region, "ura.1", other, "conclude", outcome="attestation remise")["state"] == (
        "concluded"
    )


def test_unknown_desk_is_refused(region):
    with pytest.raises(DomainError) as err:
        cases.open_case(
            region.engine,
            region["ura.1"],
            "reception_visit",
            on=ON,
            payload={"desk": "DESK-PARIS", "visitor": "X", "topic": "Y"},
        )
    assert err.value.problems[0].field == "payload.desk"
    assert "DESK-LYON" in err.value.problems[0].reason
    with region.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(case_table)) == 0
    assert len(refused(region.engine, "case.open")) == 1


@pytest.mark.parametrize("case_type", ["registration_reject", "entitlement_reject"])
def test_flow_rejects_are_worked_to_closure(region, case_type):
    c = cases.open_case(
        region.engine,
        SYSTEM,
        case_type,
        on=ON,
        payload={"reason": "NIR inconnu", "reject_id": 7, "line": 12},
    )
    assert c["due_on"] == "2015-03-16" and c["assignee"] is not None
    worker = c["assignee"]
    c = act(region, worker, c, "start")
    c = act(region, worker, c, "ask_contributor")
    c = act(region, worker, c, "contributor_replied", date(2015, 3, 3))
    c = act(region, worker, c, "correct", date(2015, 3, 3), resolution="NIR rectifié")
    assert c["state"] == "corrected" and c["paused_business_days"] == 1


def test_anomaly_list_item(region):
    c = cases.open_case(
        region.engine,
        region["rsi.2"],
        "anomaly",
        on=ON,
        payload={"list": "revenus manquants 2014", "anomaly": "DSI absente"},
        priority="high",
    )
    assert c["priority"] == "high" and c["due_on"] == "2015-03-30"  # 20 business days
    c = act(region, c["assignee"], c, "resolve", resolution="DSI saisie")
    assert c["state"] == "resolved"


def test_referral_needs_a_director_of_each_party(region):
    c = cases.open_case(
        region.engine,
        region["ura.1"],
        "national_referral",
        on=ON,
        payload={"subject": "délais de l'échange des NIR certifiés"},
    )
    assert c["due_on"] is None and c["time_left"] is None
    worker = c["assignee"]
    with pytest.raises(DomainError) as err:
        act(region, worker, c, "submit")
    assert err.value.problems[0].field == "data.committee_informed_on"
    c = act(region, worker, c, "submit", committee_informed_on="2015-02-26")
    with pytest.raises(Forbidden):
        act(region, "resp.urssaf", c, "sign_off")  # a manager is not a director
    c = act(region, "dir.urssaf", c, "sign_off")
    assert c["state"] == "awaiting_signoffs"
    assert c["payload"]["signoffs"] == {"URSSAF-RA": "dir.urssaf"}
    with pytest.raises(Forbidden) as err:
        act(region, "dir.urssaf", c, "sign_off")
    assert err.value.problems[0].code == "already_signed"
    c = act(region, "dir.rsi", c, "sign_off")
    assert c["state"] == "sent"
    c = act(region, worker, c, "record_reply", reply="réponse de l'ACOSS et du RSI national")
    assert c["state"] == "closed"
    assert len(refused(region.engine, "case.sign_off")) == 2


def test_unknown_transition_is_refused_audited_and_changes_nothing(region):
    c = complaint(region)
    before = snapshot(region.engine, c["id"])
    with pytest.raises(DomainError) as err:
        act(region, c["assignee"], c, "close")
    problem = err.value.problems[0]
    assert problem.code == "unknown_transition" and "qualify" in problem.reason
    assert snapshot(region.engine, c["id"]) == before
    [(who, detail)] = refused(region.engine, "case.close")
    assert who == c["assignee"] and "transition inconnue" in detail["reason"]


@pytest.mark.parametrize("login", ["agent.cssm", "dir.rsi"])
def test_transition_by_an_agent_without_authorization_is_refused(region, login):
    c = complaint(region)
    before = snapshot(region.engine, c["id"])
    with pytest.raises(Forbidden):
        act(region, login, c, "qualify", qualification="x")
    assert snapshot(region.engine, c["id"]) == before
    assert [who for who, _ in refused(region.engine, "case.qualify")] == [login]


def test_only_the_assignee_or_a_manager_moves_an_assigned_case(region):
    c = complaint(region)
    other = next(login for login in ("ura.1", "ura.2", "rsi.1", "rsi.2") if login != c["assignee"])
    with pytest.raises(Forbidden) as err:
        act(region, other, c, "qualify", qualification="x")
    assert err.value.problems[0].code == "not_assignee"
    manager = "resp.urssaf"
    assert act(region, manager, c, "qualify", qualification="x")["state"] == "qualified"


def test_new_cases_are_shared_evenly_between_the_two_organisations(region):
    opened = [complaint(region) for _ in range(8)]
    owners = sorted(c["owner"] for c in opened)
    assert owners == ["RSI-RA"] * 4 + ["URSSAF-RA"] * 4
    assert sorted(c["assignee"] for c in opened) == sorted(["ura.1", "ura.2", "rsi.1", "rsi.2"] * 2)
    report = case_queues.queue_report(region.engine, region["resp.rsi"], on=ON)
    [queue] = report["queues"]
    assert queue["activity"] == "complaints" and queue["open"] == 8
    assert [o["share"] for o in queue["organisations"]] == [0.5, 0.5]
    assert queue["balanced"] is True


def test_absent_agents_get_no_new_case_and_managers_reassign(region):
    case_queues.add_absence(
        region.engine, region["resp.urssaf"], "ura.1", ON, date(2015, 3, 6), "congés"
    )
    with pytest.raises(Forbidden):
        case_queues.add_absence(region.engine, region["resp.rsi"], "ura.2", ON, ON)
    opened = [complaint(region) for _ in range(6)]
    assert "ura.1" not in {c["assignee"] for c in opened}
    assert sorted(c["owner"] for c in opened) == ["RSI-RA"] * 3 + ["URSSAF-RA"] * 3
    c = opened[0]
    with pytest.raises(Forbidden):
        cases.assign(region.engine, region["rsi.1"], c["id"], "rsi.2", on=ON)
    with pytest.raises(DomainError) as err:
        cases.assign(region.engine, region["resp.rsi"], c["id"], "ura.1", on=ON)
    assert err.value.problems[0].code == "absent"
    moved = cases.assign(region.engine, region["resp.rsi"], c["id"], "ura.1", on=date(2015, 3, 9))
    assert moved["assignee"] == "ura.1" and moved["owner"] == "URSSAF-RA"
    assert moved["history"][-1]["action"] == "assign"
    assert len(refused(region.engine, "case.assign")) == 2


def test_daily_check_marks_breaches_once_and_spares_paused_cases(region):
    late = complaint(region)
    waiting = complaint(region)
    act(region, waiting["assignee"], waiting, "qualify", qualification="x")
    act(region, waiting["assignee"], waiting, "ask_contributor", date(2015, 3, 5))
    day = date(2015, 3, 24)  # the day after the due date
    first = case_queues.check_commitments(region.engine, day)
    assert first == {
        "on": "2015-03-24",
        "open": 2,
        "paused": 1,
        "new_breaches": 1,
        "breached": 1,
    }
    again = case_queues.check_commitments(region.engine, day)
    assert again["new_breaches"] == 0 and again["breached"] == 1
    page = case_queues.list_cases(region.engine, region["resp.urssaf"], on=day, breached=True)
    assert [c["id"] for c in page["items"]] == [late["id"]]
    assert page["items"][0]["time_left"] == -1 and page["items"][0]["breached_on"] == "2015-03-24"


def test_list_filters_and_pages(region):
    for _ in range(5):
        complaint(region)
    page = case_queues.list_cases(region.engine, region["ura.1"], on=ON, limit=2)
    assert page["total"] == 5 and len(page["items"]) == 2 and page["next"]
    rest = case_queues.list_cases(region.engine, region["ura.1"], on=ON, after=int(page["next"]))
    assert len(rest["items"]) == 3 and rest["next"] is None
    mine = case_queues.list_cases(region.engine, region["ura.1"], on=ON, assignee="ura.1")
    assert mine["total"] >= 1 and {c["assignee"] for c in mine["items"]} == {"ura.1"}
    assert case_queues.list_cases(region.engine, region["agent.cssm"], on=ON)["total"] == 0
    cases.open_case(
        region.engine, region["ura.1"], "national_referral", on=ON, payload={"subject": "s"}
    )
    late = date(2015, 3, 24)
    assert case_queues.list_cases(region.engine, SYSTEM, on=late, overdue=True)["total"] == 5
    on_time = case_queues.list_cases(region.engine, SYSTEM, on=late, overdue=False)
    assert [c["case_type"] for c in on_time["items"]] == ["national_referral"]
    with pytest.raises(DomainError):
        case_queues.list_cases(region.engine, region["ura.1"], on=ON, case_type="bogus")


def test_comments_and_attachments_are_kept_with_the_case(region):
    c = complaint(region)
    worker = region[c["assignee"]]
    cases.comment(region.engine, worker, c["id"], "rappel prévu lundi", on=ON)
    att = cases.attach(
        region.engine, worker, c["id"], "courrier.pdf", "application/pdf", b"%PDF-1", on=ON
    )
    assert len(att["sha256"]) == 64
    with pytest.raises(DomainError) as err:
        cases.attach(region.engine, region["ura.1"], c["id"], "../x", "pdf", b"", on=ON)
    assert {p.field for p in err.value.problems} == {"name", "media_type", "content"}
    with pytest.raises(Forbidden):
        cases.comment(region.engine, region["agent.cssm"], c["id"], "intrus", on=ON)
    view = cases.get_case(region.engine, region["ura.2"], c["id"], on=ON)
    assert [x["text"] for x in view["comments"]] == ["rappel prévu lundi"]
    assert view["attachments"][0]["name"] == "courrier.pdf"


def test_a_case_outside_the_agreements_period_is_refused(region):
    with pytest.raises(DomainError) as err:
        complaint(region, on=date(2018, 1, 3))
    assert err.value.problems[0].field == "agreement"
    assert "n'est pas en vigueur" in err.value.problems[0].reason


def test_a_transition_cannot_be_dated_before_the_last_event(region):
    c = complaint(region, on=date(2015, 3, 4))
    with pytest.raises(DomainError) as err:
        act(region, c["assignee"], c, "qualify", date(2015, 3, 3), qualification="x")
    assert err.value.problems[0].code == "date_before_last_event"


def test_the_commands_check_commitments_and_report(region, database_url, monkeypatch):
    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app

    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    complaint(region)
    runner = CliRunner()
    found = runner.invoke(app, ["cases", "check-commitments", "2015-03-24"])
    assert found.exit_code == 1, found.output
    assert "1 nouveau(x) dépassement(s)" in found.output
    assert runner.invoke(app, ["cases", "check-commitments", "2015-03-24"]).exit_code == 0
    assert runner.invoke(app, ["cases", "check-commitments", "24/03/2015"]).exit_code == 2
    shown = runner.invoke(app, ["cases", "report", "--on", "2015-03-24"])
    assert shown.exit_code == 0, shown.output
    assert "complaints : 1 ouvert(s)" in shown.output and "dépassements 1" in shown.output


def test_a_days_intake_opened_in_bulk_is_balanced_and_all_or_nothing(region):
    from recouvrement.services.cases_bulk import CaseDraft, open_cases_bulk

    drafts = [
        CaseDraft("registration_reject", {"reason": f"NIR invalide ligne {i}", "line": i})
        for i in range(30)
    ] + [CaseDraft("anomaly", {"list": "L1", "anomaly": f"a{i}"}, priority="low") for i in range(9)]
    bad = [*drafts, CaseDraft("anomaly", {"list": "L1"})]
    with pytest.raises(DomainError) as err:
        open_cases_bulk(region.engine, SYSTEM, bad, on=ON)
    assert err.value.problems[0].field == "drafts[39].payload.anomaly"
    with pytest.raises(Forbidden):
        open_cases_bulk(region.engine, region["agent.cssm"], drafts, on=ON)
    complaint(region)  # an earlier case: the queues start from what is already open
    result = open_cases_bulk(region.engine, SYSTEM, drafts, on=ON)
    assert result.opened == 39 and result.last_id - result.first_id == 38
    assert result.unassigned == 0
    page = case_queues.list_cases(
        region.engine, SYSTEM, on=ON, activity="registration_flow_rejects", limit=100
    )
    assert page["total"] == 30
    assert Counter(c["owner"] for c in page["items"]) == {"RSI-RA": 15, "URSSAF-RA": 15}
    assert {c["due_on"] for c in page["items"]} == {"2015-03-16"}
    one = cases.get_case(region.engine, SYSTEM, result.first_id, on=ON)
    assert one["payload"] == {"reason": "NIR invalide ligne 0", "line": 0}
    assert [h["action"] for h in one["history"]] == ["open"]
    one = act(region, one["assignee"], one, "start")  # bulk-opened cases work like the others
    assert one["state"] == "in_progress"
    anomalies = case_queues.list_cases(region.engine, SYSTEM, on=ON, case_type="anomaly")
    assert anomalies["total"] == 9 and {c["priority"] for c in anomalies["items"]} == {"low"}


def test_each_reject_of_a_registration_import_becomes_one_case(region, database_url, monkeypatch):
    from datetime import UTC, datetime

    from sqlalchemy import insert
    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app
    from recouvrement.adapters.db.tables import registration_import, registration_reject

    with region.engine.begin() as conn:
        import_id = conn.execute(
            insert(registration_import).values(
                file_name="ri46.csv",
                file_sha256="0" * 64,
                format="csv",
                imported_at=datetime.now(UTC),
                records=5,
                applied=2,
                rejected=3,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(registration_reject),
            [
                {
                    "import_id": import_id,
                    "line": line,
                    "field": "nir",
                    "reason": "clé du NIR invalide",
                    "code": "bad_nir",
                    "record": {"nir": "x"},
                    "status": "open",
                }
                for line in (2, 4, 5)
            ],
        )
    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()
    first = runner.invoke(app, ["cases", "open-rejects", str(import_id), "--on", "2015-03-02"])
    assert first.exit_code == 0, first.output
    assert "3 dossier(s) ouvert(s)" in first.output
    again = runner.invoke(app, ["cases", "open-rejects", str(import_id), "--on", "2015-03-03"])
    assert "0 dossier(s) ouvert(s)" in again.output
    page = case_queues.list_cases(region.engine, SYSTEM, on=ON, case_type="registration_reject")
    assert sorted(c["payload"]["line"] for c in page["items"]) == [2, 4, 5]
    assert {c["payload"]["import_id"] for c in page["items"]} == {import_id}
