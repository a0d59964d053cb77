"""Account statements and call notices read from the ledger and the call table, on SQLite and
PostgreSQL: their figures, their PDF, and who may download them."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from typer.testing import CliRunner

from recouvrement.adapters.api import create_app
from recouvrement.adapters.cli import app
from recouvrement.adapters.db.tables import audit_event
from recouvrement.domain.errors import Forbidden, NotFound
from recouvrement.domain.ledger import Entry, Posting, reversal_of
from recouvrement.services import authentication, calls, ledger, statements

from .conftest import SYSTEM
from .ledger_helpers import open_account

MARCH = "2024-03"


def declared(key: str, cid: int, item: str, amount: int, day: date, period: str = MARCH) -> Entry:
    fund = "ags" if item == "ags" else "unedic"
    return Entry(
        key,
        day,
        "declaration",
        (
            Posting("receivable", cid, fund, item, period, amount),
            Posting("fund_revenue", None, fund, item, period, -amount),
        ),
        description=f"Déclaration {period}",
    )


def paid(key: str, cid: int, amount: int, day: date, period: str = MARCH, item: str = "") -> Entry:
    return Entry(
        key,
        day,
        "payment",
        (
            Posting("bank", None, "", "", "", amount),
            Posting("receivable", cid, "unedic", item or "unemployment_employer", period, -amount),
        ),
        description="Virement reçu",
    )


def surcharge(key: str, cid: int, amount: int, day: date, period: str = MARCH) -> Entry:
    return Entry(
        key,
        day,
        "surcharge",
        (
            Posting("receivable", cid, "unedic", "surcharge_initial", period, amount),
            Posting("fund_revenue", None, "unedic", "surcharge_initial", period, -amount),
        ),
    )


def credit(key: str, cid: int, amount: int, day: date) -> Entry:
    return Entry(
        key,
        day,
        "payment",
        (
            Posting("bank", None, "", "", "", amount),
            Posting("receivable", cid, "", "credit", "", -amount),
        ),
    )


@pytest.fixture
def account(world):
    """An employer with a March call, a correction, a partial payment, a surcharge and a credit;
    another employer of the same organisation; both with a contributor login."""
    engine = world.engine
    own, other = open_account(world, 31), open_account(world, 32)
    for login, cid in (("cotisant.a", own), ("cotisant.b", other)):
        authentication.create_agent(
            engine, SYSTEM, login, login, "URSSAF-REG", ["contributor"], cid
        )
    wrong = declared("decl-own-ee-wrong", own, "unemployment_employee", 9_999, date(2024, 4, 2))
    ledger.post_entries(
        engine,
        SYSTEM,
        [
            declared("decl-own-er", own, "unemployment_employer", 123_456, date(2024, 4, 2)),
            wrong,
            declared("decl-own-ags", own, "ags", 1_200, date(2024, 4, 2)),
            declared("decl-own-ee", own, "unemployment_employee", 23_456, date(2024, 4, 3)),
            paid("pay-own-1", own, 100_000, date(2024, 4, 10)),
            surcharge("sur-own-1", own, 2_500, date(2024, 5, 16)),
            credit("credit-own", own, 1_000, date(2024, 6, 1)),
            declared("decl-own-late", own, "ags", 700, date(2024, 6, 10), period="2024-05"),
            declared("decl-other", other, "unemployment_employer", 5_000, date(2024, 4, 2)),
        ],
    )
    ledger.post_entry(
        engine, SYSTEM, reversal_of(wrong, "decl-own-ee-wrong:annule", date(2024, 4, 3))
    )
    with engine.begin() as conn:
        call_id = calls.record_call(
            conn,
            contributor_id=own,
            period=MARCH,
            kind="employer_monthly",
            issue_date=date(2024, 4, 5),
            due_date=date(2024, 4, 15),
            amount=148_112,
        )
        other_call = calls.record_call(
            conn,
            contributor_id=other,
            period=MARCH,
            kind="employer_monthly",
            issue_date=date(2024, 4, 5),
            due_date=date(2024, 4, 15),
            amount=5_000,
        )
    actor = authentication.actor_for_login
    return {
        "engine": engine,
        "own": own,
        "other": other,
        "call": call_id,
        "other_call": other_call,
        "me": actor(engine, "cotisant.a"),
        "agent": world.urssaf_agent,
        "outsider": world.outsider,
    }


def text_of(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(p.extract_text() for p in reader.pages).replace("\u00a0", " ")


def refusals(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(
            select(audit_event.c.actor, audit_event.c.action, audit_event.c.object_id).where(
                audit_event.c.outcome == "refused"
            )
        ).all()


def test_statement_figures_debts_by_period_surcharges_credit_calls_and_movements(account):
    data = statements.account_statement_data(
        account["engine"], account["me"], account["own"], date(2024, 6, 30), date(2024, 4, 1)
    )
    march, may = data["periods"]
    assert march["period"] == MARCH and march["due_date"] == "2024-04-15"
    assert [(x["item"], x["kind"], x["amount"]) for x in march["lines"]] == [
        ("ags", "principal", 1_200),
        ("unemployment_employee", "principal", 23_456),
        ("unemployment_employer", "principal", 23_456),
        ("surcharge_initial", "surcharge", 2_500),
    ]
    assert may["period"] == "2024-05" and may["due_date"] is None and may["total"] == 700
    assert data["totals"] == {
        "principal": 1_200 + 23_456 + 23_456 + 700,
        "surcharge": 2_500,
        "penalty": 0,
        "credit": 1_000,
        "due": 48_812 + 2_500 - 1_000,
        "balance": 48_812 + 2_500 - 1_000,
    }
    assert [c["reference"] for c in data["calls"]] and data["calls"][0]["amount"] == 148_112
    moves = [(m["value_date"], m["cause"], m["debit"], m["credit"]) for m in data["entries"]]
    assert moves[0] == ("2024-04-02", "declaration", 123_456, 0)
    assert ("2024-04-10", "payment", 0, 100_000) in moves
    assert ("2024-04-03", "reversal", 0, 9_999) in moves
    assert moves[-1] == ("2024-06-10", "declaration", 700, 0)
    # As of an earlier date, what was posted later is not there.
    before = statements.account_statement_data(
        account["engine"], account["agent"], account["own"], date(2024, 4, 30)
    )
    assert before["totals"]["surcharge"] == 0 and before["totals"]["credit"] == 0


def test_call_notice_prints_what_was_called_on_its_issue_date(account):
    data = statements.call_notice_data(account["engine"], account["me"], account["call"])
    assert data["lines"] == [
        {"fund": "ags", "item": "ags", "amount": 1_200},
        {"fund": "unedic", "item": "unemployment_employee", "amount": 23_456},
        {"fund": "unedic", "item": "unemployment_employer", "amount": 123_456},
    ]
    assert data["total"] == 148_112
    # Paid on 10 April, after the notice: on its issue date everything was still due.
    assert data["outstanding"] == 148_112
    name, content = statements.call_notice(account["engine"], account["me"], account["call"])
    assert name.startswith("appel-de-cotisations-") and name.endswith(".pdf")
    text = text_of(content)
    for expected in (
        "Appel de cotisations — mars 2024",
        "Employeur 31",
        "Assurance chômage (part salariale)",
        "234,56 €",
        "1 481,12 €",
        "15 avril 2024",
        "Le 5 avril 2024",
    ):
        assert expected in text, expected
    assert (
        statements.call_notice(account["engine"], account["agent"], account["call"])[1] == content
    )


def test_a_contributor_cannot_read_another_account_and_the_refusal_is_audited(account):
    engine, me = account["engine"], account["me"]
    with pytest.raises(Forbidden):
        statements.account_statement_data(engine, me, account["other"], date(2024, 6, 30))
    with pytest.raises(Forbidden):
        statements.call_notice(engine, me, account["other_call"])
    with pytest.raises(Forbidden):  # an agent of an organisation that does not reach it
        statements.account_statement_pdf(
            engine, account["outsider"], account["own"], date(2024, 6, 30)
        )
    assert sorted(refusals(engine)) == sorted(
        [
            ("cotisant.a", "statements.account", str(account["other"])),
            ("cotisant.a", "statements.call_notice", str(account["other"])),
            ("agent.autre", "statements.account", str(account["own"])),
        ]
    )
    with pytest.raises(NotFound):
        statements.call_notice(engine, account["agent"], 10**9)


def test_api_statement_json_and_pdf_and_notice_pdf_for_the_own_account_only(account):
    engine = account["engine"]
    client = TestClient(create_app(engine))
    tokens = {
        who: authentication.issue_token(engine, SYSTEM, who) for who in ("cotisant.a", "cotisant.b")
    }

    def get(who, path):
        return client.get(path, headers={"Authorization": f"Bearer {tokens[who]}"})

    own = account["own"]
    r = get("cotisant.a", f"/api/v1/accounts/{own}/statement?as_of=2024-06-30")
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["due"] == 50_312 and r.json()["unit"] == "cents"
    r = get("cotisant.a", f"/api/v1/accounts/{own}/statement.pdf?as_of=2024-06-30")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "releve-de-compte" in r.headers["content-disposition"]
    assert "Relevé de compte au 30 juin 2024" in text_of(r.content)
    r = get("cotisant.a", f"/api/v1/calls/{account['call']}/notice.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "appel-de-cotisations" in r.headers["content-disposition"]
    before = len(refusals(engine))
    for path in (
        f"/api/v1/accounts/{own}/statement",
        f"/api/v1/accounts/{own}/statement.pdf",
        f"/api/v1/calls/{account['call']}/notice.pdf",
    ):
        r = get("cotisant.b", path)
        assert r.status_code == 403, (path, r.text)
    assert len(refusals(engine)) == before + 3  # one audit event per refused download
    r = get("cotisant.a", f"/api/v1/accounts/{own}/statement?as_of=2024-06-30&since=2024-07-01")
    assert r.status_code == 422


def test_command_line_writes_the_statement_and_the_notice(
    account, database_url, monkeypatch, tmp_path
):
    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()
    statement_file, notice_file = tmp_path / "releve.pdf", tmp_path / "avis.pdf"
    r = runner.invoke(
        app,
        [
            "statements",
            "account",
            str(account["own"]),
            "--pdf",
            str(statement_file),
            "--as-of",
            "2024-06-30",
            "--since",
            "2024-04-01",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Majoration de retard (5 %)" in text_of(statement_file.read_bytes())
    r = runner.invoke(
        app, ["statements", "notice", str(account["call"]), "--pdf", str(notice_file)]
    )
    assert r.exit_code == 0, r.output
    assert "Appel de cotisations — mars 2024" in text_of(notice_file.read_bytes())
    r = runner.invoke(app, ["statements", "account", "1", "--pdf", "x.pdf", "--as-of", "30/06"])
    assert r.exit_code != 0
