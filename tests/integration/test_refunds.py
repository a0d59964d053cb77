"""Refunds on both backends: request, check, four-eyes approval, SEPA disbursement, and every
refusal leaving the ledger as it was."""

from __future__ import annotations

from datetime import date
from xml.etree import ElementTree as etree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from recouvrement.adapters.db.tables import audit_event, case_table
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.contributors import ContributorDraft, ContributorKind
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services import authentication, case_queues, contributors, ledger, refunds
from recouvrement.services import authorizations as rights
from recouvrement.services.ledger_check import check_ledger

from .case_region import AGREEMENT_START, ON, TRAINING, Region
from .conftest import SYSTEM
from .ledger_helpers import counts, siren

IBAN = "FR1420041010050500013M02606"  # La Banque postale, BIC derived: PSSTFRPP
RECENT = date(2014, 6, 2)  # a payment well within three years of ON (2015-03-02)
OLD = date(2012, 2, 1)  # more than three years before ON: time-barred


@pytest.fixture
def region(engine):
    region = Region(engine)
    region.grant_case_work()
    director = region["dir.urssaf"]
    for login, roles in (
        ("ac.1", ["accounting_officer"]),
        ("ac.2", ["accounting_officer"]),
        ("mixte", ["joint_unit_agent", "accounting_officer"]),
        ("admin", ["administrator"]),
    ):
        authentication.create_agent(engine, SYSTEM, login, login, "URSSAF-RA", roles)
    for login in ("ac.1", "ac.2", "mixte"):
        rights.grant(engine, director, login, "refund_disbursement", AGREEMENT_START)
    rights.grant(
        engine, director, "mixte", "credits_refunds", AGREEMENT_START, training_code=TRAINING
    )
    rights.record_training(engine, director, "mixte", TRAINING, AGREEMENT_START)
    return region


def open_account(region, n: int, login: str | None = None) -> int:
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name=f"Employeur {n}",
        territory="69",
        organisation_code="URSSAF-RA",
        siren=siren(n),
    )
    cid = contributors.create_contributor(region.engine, SYSTEM, draft, ON)["id"]
    if login:
        authentication.create_agent(
            region.engine, SYSTEM, login, draft.name, "URSSAF-RA", ["contributor"], cid
        )
    return cid


def pay_in_excess(engine, cid: int, amount: int, day: date, key: str | None = None) -> None:
    """A payment left as credit on the account (receipts are another module's)."""
    ledger.post_entries(
        engine,
        SYSTEM,
        [
            Entry(
                key or f"test-credit:{cid}:{day}:{amount}",
                day,
                "payment",
                (
                    Posting("bank", None, "", "", "", amount),
                    Posting("receivable", cid, "", "credit", "", -amount),
                ),
            )
        ],
    )


def balance(engine, cid, account="receivable", item="credit"):
    return ledger.balance(engine, SYSTEM, cid, item=item, ledger_account=account)


def refused_actions(engine, action):
    with engine.connect() as conn:
        return conn.execute(
            select(audit_event.c.actor, audit_event.c.detail).where(
                audit_event.c.outcome == "refused", audit_event.c.action == action
            )
        ).all()


@pytest.fixture
def account(region):
    cid = open_account(region, 1, "cotisant.1")
    pay_in_excess(region.engine, cid, 50_000, RECENT)
    return cid


def request(region, cid, amount=30_000, login="cotisant.1", **kw):
    kw.setdefault("iban", IBAN)
    return refunds.request_refund(region.engine, region[login], cid, amount, on=ON, **kw)


def checked(region, cid, amount=30_000, login="cotisant.1", on=ON):
    r = request(region, cid, amount, login)
    return refunds.check_refund(region.engine, region[r["assignee"]], r["id"], on=on)


def test_request_check_approve_disburse(region, account):
    engine = region.engine
    r = request(region, account)
    assert r["state"] == "requested" and r["amount"] == 30_000
    assert r["bic"] == "PSSTFRPP" and r["holder"] == "Employeur 1"  # derived from the IBAN
    assert r["activity"] == "credits_refunds" and r["assignee"]
    assert r["due_on"] == "2015-03-16"  # 10 business days of the joint organisation

    r = refunds.check_refund(engine, region[r["assignee"]], r["id"], on=date(2015, 3, 3))
    assert r["state"] == "checked" and r["activity"] == "refund_disbursement"
    assert r["assignee"] in ("ac.1", "ac.2", "mixte")
    assert r["due_on"] == calendar_for("69").add_business_days(date(2015, 3, 3), 5).isoformat()
    assert balance(engine, account) == -50_000  # nothing posted until approval

    officer = "ac.1" if r["assignee"] != "ac.1" else "ac.2"
    with engine.begin() as conn:  # the officer the queue chose is away: another takes it
        conn.execute(case_table.update().where(case_table.c.id == r["id"]).values(assignee_id=None))
    r = refunds.approve_refund(engine, region[officer], r["id"], on=date(2015, 3, 4))
    assert r["state"] == "approved" and r["approved_by"] == officer
    assert balance(engine, account) == -20_000
    assert balance(engine, account, "refund_payable", "") == -30_000

    out = refunds.disburse_refunds(engine, region[officer], [r["id"]], on=date(2015, 3, 5))
    assert out["payment_count"] == 1 and out["total"] == 30_000
    assert out["message_id"].startswith("RMB-20150305-")
    assert balance(engine, account, "refund_payable", "") == 0
    r = refunds.get_refund(engine, region["cotisant.1"], r["id"], on=date(2015, 3, 5))
    assert r["state"] == "disbursed" and r["message_id"] == out["message_id"]
    assert [h["action"] for h in r["history"]] == ["open", "check", "approve", "disburse"]

    xml = refunds.refund_file_content(engine, region[officer], out["file_id"])["content"]
    doc = etree.fromstring(xml)
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
    assert doc.findtext(".//p:GrpHdr/p:MsgId", namespaces=ns) == out["message_id"]
    assert doc.findtext(".//p:CdtrAcct/p:Id/p:IBAN", namespaces=ns) == IBAN
    assert doc.findtext(".//p:InstdAmt", namespaces=ns) == "300.00"
    assert doc.findtext(".//p:EndToEndId", namespaces=ns) == f"RMB-{r['id']}"
    assert check_ledger(engine).ok


def test_one_file_pays_several_refunds(region):
    engine = region.engine
    ids = []
    for n in (2, 3):
        cid = open_account(region, n, f"cotisant.{n}")
        pay_in_excess(engine, cid, 10_000 * n, RECENT)
        r = checked(region, cid, 10_000 * n, f"cotisant.{n}")
        ids.append(refunds.approve_refund(engine, region[r["assignee"]], r["id"], on=ON)["id"])
    before = counts(engine)
    out = refunds.disburse_refunds(engine, region["ac.1"], ids, on=ON)
    assert out["payment_count"] == 2 and out["total"] == 50_000
    assert counts(engine)[0] == before[0] + 2  # one entry per refund
    xml = refunds.refund_file_content(engine, region["ac.1"], out["file_id"])["content"]
    assert xml.count(b"<CdtTrfTxInf>") == 2


def _unchanged(engine, before):
    assert counts(engine) == before


def test_a_refund_above_the_credit_is_refused_and_nothing_changes(region, account):
    before = counts(region.engine)
    with pytest.raises(DomainError) as err:
        request(region, account, 50_001)
    assert err.value.problems[0].code == "above_credit"
    assert "500,00 €" in str(err.value)
    _unchanged(region.engine, before)
    assert refused_actions(region.engine, "refund.request")
    assert refunds.list_refunds(region.engine, SYSTEM, on=ON) == []


def test_a_second_request_cannot_claim_what_the_first_claims(region, account):
    request(region, account, 40_000)
    with pytest.raises(DomainError) as err:
        request(region, account, 20_000)
    assert err.value.problems[0].code == "above_credit"


def test_only_the_part_paid_within_three_years_is_refundable(region):
    cid = open_account(region, 4, "cotisant.4")
    pay_in_excess(region.engine, cid, 40_000, OLD)
    pay_in_excess(region.engine, cid, 10_000, RECENT)
    before = counts(region.engine)
    with pytest.raises(DomainError) as err:
        request(region, cid, 10_001, "cotisant.4")
    assert err.value.problems[0].code == "time_barred"
    assert "L243-6" in str(err.value)
    _unchanged(region.engine, before)
    assert request(region, cid, 10_000, "cotisant.4")["state"] == "requested"


@pytest.mark.parametrize(
    ("iban", "bic", "code"),
    [
        ("FR1420041010050500013M02607", None, "bad_iban"),
        ("not an iban", None, "bad_iban"),
        (IBAN, "DEUTDEFFXXX", "bad_bic"),
    ],
)
def test_a_wrong_account_is_refused(region, account, iban, bic, code):
    before = counts(region.engine)
    with pytest.raises(DomainError) as err:
        request(region, account, iban=iban, bic=bic)
    assert code in {p.code for p in err.value.problems}
    _unchanged(region.engine, before)


def test_a_contributor_asks_only_for_their_own_account(region, account):
    other = open_account(region, 5, "cotisant.5")
    pay_in_excess(region.engine, other, 10_000, RECENT)
    with pytest.raises(Forbidden):
        request(region, other, 1_000, "cotisant.1")
    mine = request(region, account)
    with pytest.raises(Forbidden):
        refunds.get_refund(region.engine, region["cotisant.5"], mine["id"], on=ON)
    assert refunds.list_refunds(region.engine, region["cotisant.5"], on=ON) == []
    with pytest.raises(Forbidden):  # a contributor does not check
        refunds.check_refund(region.engine, region["cotisant.1"], mine["id"], on=ON)


def test_approval_by_someone_other_than_an_accounting_officer_is_refused(region, account):
    r = checked(region, account)
    before = counts(region.engine)
    with pytest.raises(Forbidden) as err:
        refunds.approve_refund(region.engine, region["ura.1"], r["id"], on=ON)
    assert err.value.problems[0].code == "forbidden"
    with pytest.raises(Forbidden) as err:
        refunds.approve_refund(region.engine, region["admin"], r["id"], on=ON)
    assert err.value.problems[0].code == "not_accounting_officer"
    _unchanged(region.engine, before)
    assert len(refused_actions(region.engine, "refund.approve")) == 2


def test_the_checker_cannot_approve(region, account):
    r = request(region, account)
    with region.engine.begin() as conn:  # give the check to the agent who is also an officer
        conn.execute(case_table.update().where(case_table.c.id == r["id"]).values(assignee_id=None))
    r = refunds.check_refund(region.engine, region["mixte"], r["id"], on=ON)
    with region.engine.begin() as conn:
        conn.execute(case_table.update().where(case_table.c.id == r["id"]).values(assignee_id=None))
    before = counts(region.engine)
    with pytest.raises(Forbidden) as err:
        refunds.approve_refund(region.engine, region["mixte"], r["id"], on=ON)
    assert err.value.problems[0].code == "self_approval"
    assert "quatre yeux" in str(err.value) and "mixte" in str(err.value)
    _unchanged(region.engine, before)
    (actor, detail), *_ = refused_actions(region.engine, "refund.approve")
    assert actor == "mixte" and "self_approval" in detail["reason"]
    assert refunds.get_refund(region.engine, SYSTEM, r["id"], on=ON)["state"] == "checked"


def test_the_agent_who_requested_cannot_approve(region, account):
    r = request(region, account, login="mixte")
    r = refunds.check_refund(region.engine, region[r["assignee"]], r["id"], on=ON)
    with region.engine.begin() as conn:
        conn.execute(case_table.update().where(case_table.c.id == r["id"]).values(assignee_id=None))
    with pytest.raises(Forbidden) as err:
        refunds.approve_refund(region.engine, region["mixte"], r["id"], on=ON)
    assert err.value.problems[0].code == "self_approval"


def test_a_refund_opened_through_the_generic_case_api_keeps_four_eyes(region, account):
    from recouvrement.services import cases

    payload = {"amount": 30_000, "iban": IBAN}
    case = cases.open_case(
        region.engine, region["mixte"], "refund", on=ON, payload=payload, contributor_id=account
    )
    with region.engine.begin() as conn:
        conn.execute(
            case_table.update().where(case_table.c.id == case["id"]).values(assignee_id=None)
        )
    r = refunds.check_refund(region.engine, region["ura.1"], case["id"], on=ON)
    assert r["bic"] == "PSSTFRPP"  # the check completes what the generic opening left out
    with region.engine.begin() as conn:
        conn.execute(case_table.update().where(case_table.c.id == r["id"]).values(assignee_id=None))
    with pytest.raises(Forbidden) as err:
        refunds.approve_refund(region.engine, region["mixte"], r["id"], on=ON)
    assert err.value.problems[0].code == "self_approval"


def test_a_credit_consumed_since_the_request_is_not_refunded(region, account):
    r = checked(region, account)
    # A new debt is paid from the credit after the check (the allocation's daily step).
    ledger.post_entries(
        region.engine,
        SYSTEM,
        [
            Entry(
                "test-consume",
                date(2015, 3, 3),
                "allocation",
                (
                    Posting("receivable", account, "", "credit", "", 40_000),
                    Posting(
                        "receivable", account, "unedic", "unemployment_employer", "2015-02", -40_000
                    ),
                ),
            )
        ],
    )
    before = counts(region.engine)
    with pytest.raises(DomainError) as err:
        refunds.approve_refund(region.engine, region[r["assignee"]], r["id"], on=date(2015, 3, 3))
    assert err.value.problems[0].code == "above_credit"
    _unchanged(region.engine, before)


def test_disbursing_twice_is_refused(region, account):
    r = checked(region, account)
    officer = region[r["assignee"]]
    refunds.approve_refund(region.engine, officer, r["id"], on=ON)
    first = refunds.disburse_refunds(region.engine, officer, [r["id"]], on=ON)
    before = counts(region.engine)
    with pytest.raises(Conflict) as err:
        refunds.disburse_refunds(region.engine, officer, [r["id"]], on=ON)
    assert err.value.problems[0].code == "already_disbursed"
    assert first["message_id"] in str(err.value)
    _unchanged(region.engine, before)


def test_an_unapproved_refund_is_not_disbursed(region, account):
    r = checked(region, account)
    before = counts(region.engine)
    with pytest.raises(Conflict) as err:
        refunds.disburse_refunds(region.engine, region[r["assignee"]], [r["id"]], on=ON)
    assert err.value.problems[0].code == "wrong_state"
    _unchanged(region.engine, before)


def test_the_accounting_officer_commitment_is_tracked_and_breached(region, account):
    r = checked(region, account)
    due = date.fromisoformat(r["due_on"])
    case_queues.check_commitments(region.engine, due)
    assert refunds.get_refund(region.engine, SYSTEM, r["id"], on=due)["breached_on"] is None
    late = calendar_for("69").add_business_days(due, 1)
    result = case_queues.check_commitments(region.engine, late)
    assert result["new_breaches"] >= 1
    view = refunds.get_refund(region.engine, SYSTEM, r["id"], on=late)
    assert view["breached_on"] == late.isoformat() and view["overdue"]


def test_refunds_step_reports_and_changes_nothing(region, account):
    engine = region.engine
    old = open_account(region, 6)
    pay_in_excess(engine, old, 7_000, date(2012, 4, 10))  # time-barred on 2015-04-10
    checked(region, account)
    day = date(2015, 3, 20)
    before = counts(engine)
    seen = []
    first = refunds.refunds_step(engine, day, progress=lambda done, total: seen.append(total))
    second = refunds.refunds_step(engine, day)
    assert first.as_dict() == second.as_dict()
    assert first.counts["credits_reaching_limitation"] == 1
    assert first.amounts["credits_reaching_limitation"] == 7_000
    assert first.counts["refund_approvals_overdue"] == 1
    assert seen == [2]
    _unchanged(engine, before)
    later = refunds.refunds_step(engine, date(2015, 7, 3))
    assert later.counts.get("refunds_past_legal_deadline") == 1  # 4 months after 2015-03-02
    assert "credits_reaching_limitation" not in later.counts  # time-barred by then


# ---------------------------------------------------------------------------------------------
# API and command line


def test_api_path(region, account):
    from recouvrement.adapters.api import create_app

    engine = region.engine
    client = TestClient(create_app(engine))

    def auth(login):
        return {"Authorization": f"Bearer {authentication.issue_token(engine, SYSTEM, login)}"}

    body = {"contributor_id": account, "amount": "300.00", "iban": IBAN, "on": ON.isoformat()}
    r = client.post("/api/v1/refunds", json=body, headers=auth("cotisant.1"))
    assert r.status_code == 201, r.text
    refund = r.json()
    assert refund["amount"] == 30_000
    r = client.post(
        "/api/v1/refunds", json=body | {"amount": "9999.00"}, headers=auth("cotisant.1")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "above_credit"
    r = client.post("/api/v1/refunds", json=body | {"amount": 300.5}, headers=auth("cotisant.1"))
    assert r.status_code == 422
    on = {"on": ON.isoformat()}
    r = client.post(
        f"/api/v1/refunds/{refund['id']}/check", json=on, headers=auth(refund["assignee"])
    )
    assert r.status_code == 200, r.text
    officer = r.json()["assignee"]
    r = client.post(f"/api/v1/refunds/{refund['id']}/approve", json=on, headers=auth("ura.1"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/refunds/{refund['id']}/approve", json=on, headers=auth(officer))
    assert r.status_code == 200 and r.json()["state"] == "approved"
    r = client.post(f"/api/v1/refunds/{refund['id']}/disburse", json=on, headers=auth(officer))
    assert r.status_code == 200, r.text
    file_id = r.json()["file_id"]
    r = client.post(f"/api/v1/refunds/{refund['id']}/disburse", json=on, headers=auth(officer))
    assert r.status_code == 409
    r = client.get(f"/api/v1/refunds/files/{file_id}", headers=auth(officer))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert b"pain.001.001.03" in r.content
    r = client.get(f"/api/v1/refunds/{refund['id']}", headers=auth("cotisant.1"))
    assert r.status_code == 200 and r.json()["state"] == "disbursed"


def test_cli_path(region, account, monkeypatch, database_url):
    from recouvrement.adapters.cli import app

    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    from recouvrement.adapters.db import engine as engine_module

    engine_module.default_engine.cache_clear() if hasattr(
        engine_module.default_engine, "cache_clear"
    ) else None
    runner = CliRunner()
    day = ON.isoformat()
    out = runner.invoke(
        app,
        [
            "refunds",
            "request",
            str(account),
            "300.00",
            "--iban",
            IBAN,
            "--on",
            day,
            "--login",
            "ura.1",
        ],
    )
    assert out.exit_code == 0, out.output
    case_id = refunds.list_refunds(region.engine, SYSTEM, on=ON)[0]["id"]
    assignee = refunds.get_refund(region.engine, SYSTEM, case_id, on=ON)["assignee"]
    out = runner.invoke(app, ["refunds", "check", str(case_id), "--on", day, "--login", assignee])
    assert out.exit_code == 0, out.output
    officer = refunds.get_refund(region.engine, SYSTEM, case_id, on=ON)["assignee"]
    out = runner.invoke(app, ["refunds", "approve", str(case_id), "--on", day, "--login", "ura.1"])
    assert out.exit_code == 2 and "refunds.approve" in out.output
    out = runner.invoke(app, ["refunds", "approve", str(case_id), "--on", day, "--login", officer])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["refunds", "disburse", str(case_id), "--on", day, "--login", officer])
    assert out.exit_code == 0 and "RMB-" in out.output, out.output
    out = runner.invoke(app, ["refunds", "list", "--on", day])
    assert out.exit_code == 0 and "décaissé" in out.output
