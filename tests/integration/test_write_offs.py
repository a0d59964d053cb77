"""Write-offs on both backends: proposal (grounds, conditions, one per source), approval by the
roles the amount needs, posting once, a later payment on a written-off debt, the yearly report."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from recouvrement.adapters.db.tables import account_balance, audit_event, case_table
from recouvrement.domain.contributors import ContributorDraft, ContributorKind
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services import authentication, contributors, ledger, write_offs
from recouvrement.services.unit_of_work import UnitOfWork

from .case_region import AGREEMENT_START, Region
from .conftest import SYSTEM
from .ledger_helpers import siren

DUE = date(2014, 2, 15)
ON = date(2015, 3, 2)  # more than twelve months after DUE
KEY = ("unedic", "unemployment_employer", "2014-01")
SURCHARGE = ("unedic", "surcharge_initial", "2014-01")


@pytest.fixture
def region(engine):
    region = Region(engine)
    region.grant_case_work(activities=["write_offs", "surcharge_remission_requests"])
    for login, roles in (("ac.1", ["accounting_officer"]), ("dir.2", ["director"])):
        authentication.create_agent(engine, SYSTEM, login, login, "URSSAF-RA", roles)
    return region


def open_debtor(region, n: int = 1, principal: int = 120_000, surcharge: int = 6_000) -> int:
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name=f"Employeur {n}",
        territory="69",
        organisation_code="URSSAF-RA",
        siren=siren(n),
    )
    cid = contributors.create_contributor(region.engine, SYSTEM, draft, AGREEMENT_START)["id"]
    postings = [Posting("receivable", cid, *KEY, principal)]
    revenue = [Posting("fund_revenue", None, "unedic", KEY[1], KEY[2], -principal)]
    if surcharge:
        postings.append(Posting("receivable", cid, *SURCHARGE, surcharge))
        revenue.append(Posting("fund_revenue", None, "unedic", SURCHARGE[1], KEY[2], -surcharge))
    ledger.post_entry(
        region.engine,
        SYSTEM,
        Entry(f"test-debt:{cid}", DUE, "assessment", tuple(postings + revenue)),
    )
    return cid


def balance(engine, cid: int, account: str, key) -> int:
    with engine.connect() as conn:
        return (
            conn.scalar(
                select(account_balance.c.balance).where(
                    account_balance.c.contributor_id == cid,
                    account_balance.c.ledger_account == account,
                    account_balance.c.fund == key[0],
                    account_balance.c.item == key[1],
                    account_balance.c.period == key[2],
                )
            )
            or 0
        )


def propose_in(engine, actor, cid, keys, grounds, on=ON, source="test:1") -> int:
    with UnitOfWork(engine) as uow:
        wid = write_offs.propose_write_off(uow.conn, actor, cid, keys, grounds, on, source)
        uow.commit()
    return wid


def test_a_proposal_opens_a_case_for_the_keys_balances_and_is_one_per_source(region):
    cid = open_debtor(region)
    wid = propose_in(region.engine, SYSTEM, cid, [KEY, SURCHARGE], "insolvency")
    again = propose_in(region.engine, SYSTEM, cid, [KEY, SURCHARGE], "insolvency")
    assert again == wid
    view = write_offs.get_write_off(region.engine, SYSTEM, wid)
    assert view["state"] == "proposed"
    assert view["total"] == 126_000
    assert [x["proposed"] for x in view["lines"]] == [120_000, 6_000]
    assert view["needed_roles"] == ["director"]  # 1 260 € < 1 500 € before décret 2020-852
    with region.engine.connect() as conn:
        case = conn.execute(select(case_table).where(case_table.c.id == view["case_id"])).one()
        assert (case.case_type, case.activity, case.state) == (
            "write_off",
            "write_offs",
            "proposed",
        )
        assert conn.scalar(
            select(audit_event.c.id).where(audit_event.c.action == "write_off.propose")
        )
    # A key already pending is refused under another source.
    with pytest.raises(Conflict, match="déjà proposé"):
        propose_in(region.engine, SYSTEM, cid, [KEY], "death", source="test:2")
    # Nothing is posted by a proposal.
    assert balance(region.engine, cid, "receivable", KEY) == 120_000


def test_the_grounds_conditions_are_checked(region):
    cid = open_debtor(region)
    with pytest.raises(DomainError, match="12 mois après") as err:
        propose_in(region.engine, SYSTEM, cid, [KEY], "insolvency", on=date(2014, 12, 1))
    assert err.value.problems[0].code == "too_early"
    # A death ends collection at once.
    assert propose_in(region.engine, SYSTEM, cid, [KEY], "death", on=date(2014, 12, 1))
    other = open_debtor(region, 2)
    with pytest.raises(DomainError, match="petite créance"):
        propose_in(region.engine, SYSTEM, other, [SURCHARGE], "small_balance", source="s")
    with pytest.raises(DomainError, match="aucune créance ouverte"):
        propose_in(
            region.engine, SYSTEM, other, [("unedic", "ags", "2014-01")], "death", source="t"
        )
    with pytest.raises(DomainError, match="motif d'admission en non-valeur inconnu"):
        propose_in(region.engine, SYSTEM, other, [KEY], "boredom", source="u")


def test_an_agent_proposes_only_with_the_permission_and_on_reachable_accounts(region):
    cid = open_debtor(region)
    with pytest.raises(Forbidden):
        propose_in(region.engine, region["dir.urssaf"], cid, [KEY], "death")
    with pytest.raises(Forbidden):
        propose_in(region.engine, region["agent.cssm"], cid, [KEY], "death")
    view = write_offs.propose(region.engine, region["ura.1"], cid, [list(KEY)], "death", on=ON)
    assert view["proposed_by"] == "ura.1"
