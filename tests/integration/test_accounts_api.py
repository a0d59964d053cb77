"""The accounts API: a contributor's balances and entries, and who may read them."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from recouvrement.adapters.api import create_app
from recouvrement.domain.ledger import reversal_of
from recouvrement.services import authentication, ledger

from .conftest import SYSTEM
from .ledger_helpers import assessment, open_account, payment


@pytest.fixture
def api(world):
    a = open_account(world, 21)
    b = open_account(world, 22)
    mayotte = open_account(world, 23, "CSSM")
    authentication.create_agent(
        world.engine, SYSTEM, "cotisant.a", "Employeur 21", "URSSAF-REG", ["contributor"], a
    )
    ledger.post_entries(
        world.engine,
        SYSTEM,
        [
            assessment("d-1", a, 10_000, date(2024, 2, 15), period="2024-01"),
            assessment("d-2", a, 20_000, date(2024, 3, 15), period="2024-02"),
            assessment("d-3", a, 3_000, date(2024, 3, 15), fund="ags", item="wage_guarantee"),
            payment("p-1", a, 4_000, date(2024, 4, 2), period="2024-01"),
            assessment("d-4", b, 999, date(2024, 3, 15)),
            assessment("d-5", mayotte, 777, date(2024, 3, 15)),
        ],
    )
    ledger.post_entry(
        world.engine,
        SYSTEM,
        reversal_of(assessment("d-2", a, 20_000, date(2024, 3, 15)), "r-2", date(2024, 5, 1)),
    )
    client = TestClient(create_app(world.engine))
    tokens = {
        login: authentication.issue_token(world.engine, SYSTEM, login)
        for login in ("agent.urssaf", "agent.rsi", "agent.cssm", "agent.autre", "cotisant.a")
    }
    return client, tokens, a, b, mayotte


def get(client, token, path, **params):
    return client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def test_an_account_shows_its_balances_by_fund_item_period_and_its_entries(api):
    client, tokens, a, _, _ = api
    r = get(client, tokens["agent.urssaf"], f"/api/v1/accounts/{a}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contributor_id"] == a and body["unit"] == "cents"
    assert body["balance"] == 9_000
    assert body["by_fund"] == [
        {"fund": "ags", "balance": 3_000},
        {"fund": "unedic", "balance": 6_000},
    ]
    assert {(x["fund"], x["item"], x["period"]): x["balance"] for x in body["balances"]} == {
        ("ags", "wage_guarantee", "2024-02"): 3_000,
        ("unedic", "unemployment_employer", "2024-01"): 6_000,
    }
    items = body["entries"]["items"]
    assert [e["idempotency_key"] for e in items] == ["r-2", "p-1", "d-3", "d-2", "d-1"]
    assert items[0]["reverses"] == "d-2" and items[0]["cause"] == "reversal"
    # only the contributor's own lines are shown, never the collector's side
    assert all(p["ledger_account"] == "receivable" for e in items for p in e["postings"])
    assert items[1]["postings"] == [
        {
            "ledger_account": "receivable",
            "fund": "unedic",
            "item": "unemployment_employer",
            "period": "2024-01",
            "amount": -4_000,
        }
    ]


def test_as_of_a_date_gives_the_balances_and_entries_of_that_day(api):
    client, tokens, a, _, _ = api
    body = get(client, tokens["agent.urssaf"], f"/api/v1/accounts/{a}", as_of="2024-03-31").json()
    assert body["as_of"] == "2024-03-31"
    assert body["balance"] == 33_000
    assert [e["idempotency_key"] for e in body["entries"]["items"]] == ["d-3", "d-2", "d-1"]
    r = get(client, tokens["agent.urssaf"], f"/api/v1/accounts/{a}", as_of="2024-02-30")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "as_of"


def test_entries_come_page_by_page(api):
    client, tokens, a, _, _ = api
    seen, after = [], None
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        body = get(client, tokens["agent.urssaf"], f"/api/v1/accounts/{a}", **params).json()
        seen += [e["idempotency_key"] for e in body["entries"]["items"]]
        after = body["entries"]["next"]
        if after is None:
            break
    assert seen == ["r-2", "p-1", "d-3", "d-2", "d-1"]
    r = get(client, tokens["agent.urssaf"], f"/api/v1/accounts/{a}", after="nonsense")
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "bad_cursor"


def test_a_single_balance_can_be_narrowed(api):
    client, tokens, a, _, _ = api
    r = get(
        client,
        tokens["agent.urssaf"],
        f"/api/v1/accounts/{a}/balance",
        fund="unedic",
        period="2024-01",
    )
    assert r.json()["balance"] == 6_000
    r = get(client, tokens["agent.urssaf"], f"/api/v1/accounts/{a}/balance", as_of="2024-03-31")
    assert r.json()["balance"] == 33_000
    r = get(client, tokens["agent.urssaf"], f"/api/v1/accounts/{a}/balance", ledger_account="x")
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_account"


def test_a_contributor_sees_their_own_account_and_no_other(api):
    client, tokens, a, b, _ = api
    assert get(client, tokens["cotisant.a"], f"/api/v1/accounts/{a}").json()["balance"] == 9_000
    r = get(client, tokens["cotisant.a"], f"/api/v1/accounts/{b}")
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "forbidden"


def test_an_agent_reaches_the_accounts_of_the_organisations_they_reach(api):
    client, tokens, a, _, mayotte = api
    assert get(client, tokens["agent.rsi"], f"/api/v1/accounts/{a}").status_code == 200
    assert get(client, tokens["agent.cssm"], f"/api/v1/accounts/{mayotte}").status_code == 200
    assert get(client, tokens["agent.cssm"], f"/api/v1/accounts/{a}").status_code == 403
    assert get(client, tokens["agent.autre"], f"/api/v1/accounts/{a}").status_code == 403
    assert get(client, tokens["agent.urssaf"], "/api/v1/accounts/999999").status_code == 404
    assert client.get(f"/api/v1/accounts/{a}").status_code == 401
