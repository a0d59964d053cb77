"""Exemptions: entered by one agent, checked by another, applied by re-assessment."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from recouvrement.adapters.db.tables import audit_event, journal_entry, journal_posting
from recouvrement.domain.assessment.business_creator_exemption import business_creator_relief
from recouvrement.domain.assessment.self_employed import assess_year, summarise
from recouvrement.domain.contributors import Activity, ContributorDraft, ContributorKind
from recouvrement.domain.errors import Conflict, Forbidden
from recouvrement.rules.parameters import load_parameters
from recouvrement.services import contributors, exemptions
from recouvrement.services import self_employed_calls as se

from .conftest import SYSTEM

CREATION = date(2024, 3, 1)
INCOME = 2_000_000  # 20 000 €: under 75 % of the 2024 PASS, so the exemption is full


@pytest.fixture
def creator(world):
    draft = ContributorDraft(
        kind=ContributorKind.SELF_EMPLOYED,
        name="Paul Durand",
        territory="69",
        organisation_code="URSSAF-REG",
        nir="180017512345660",
        activity=Activity.TRADE,
        activity_start=CREATION,
    )
    cid = contributors.create_contributor(world.engine, SYSTEM, draft, CREATION)["id"]
    se.call_year(
        world.engine,
        world.urssaf_agent,
        cid,
        2024,
        income_basis_cents=INCOME,
        basis="estimate",
        today=date(2024, 3, 2),
    )
    return cid


def _receivable(engine, cid):
    with engine.connect() as conn:
        return conn.scalar(
            select(func.coalesce(func.sum(journal_posting.c.amount), 0)).where(
                journal_posting.c.ledger_account == "receivable",
                journal_posting.c.contributor_id == cid,
            )
        )


def _entries(engine):
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(journal_entry))


def _expected_total():
    params = load_parameters()
    lines = assess_year(params, 2024, "trade", INCOME)
    relief = business_creator_relief(params, 2024, CREATION, INCOME, lines)
    return summarise(lines)["total"] - sum(relief.values())


def test_the_agent_who_entered_a_request_cannot_approve_it(world, creator):
    request = exemptions.enter_exemption(
        world.engine, world.urssaf_agent, creator, CREATION, today=date(2024, 6, 1)
    )
    count = _entries(world.engine)
    with pytest.raises(Forbidden) as err:
        exemptions.check_exemption(
            world.engine, world.urssaf_agent, request["id"], approve=True, today=date(2024, 6, 2)
        )
    assert "ne peut pas l'approuver" in err.value.problems[0].reason
    assert _entries(world.engine) == count
    assert exemptions.get_exemption(world.engine, world.rsi_agent, request["id"])["status"] == (
        "entered"
    )
    with world.engine.connect() as conn:
        refused = conn.scalar(
            select(func.count())
            .select_from(audit_event)
            .where(audit_event.c.action == "exemptions.approve", audit_event.c.outcome == "refused")
        )
    assert refused == 1


def test_approval_by_another_agent_posts_the_reassessment_difference(world, creator):
    before = _receivable(world.engine, creator)
    request = exemptions.enter_exemption(
        world.engine, world.urssaf_agent, creator, CREATION, today=date(2024, 6, 1)
    )
    assert _receivable(world.engine, creator) == before  # entering changes nothing
    result = exemptions.check_exemption(
        world.engine, world.rsi_agent, request["id"], approve=True, today=date(2024, 6, 10)
    )
    assert result["status"] == "approved" and result["checked_by"] == "agent.rsi"
    expected = _expected_total()
    assert expected < before
    # the account now carries exactly the exempted assessment: instalments to come reduced, the
    # excess of those already called on the credit key
    assert _receivable(world.engine, creator) == expected
    (recalc,) = result["reassessed"]
    assert sum(recalc["posted"].values()) == expected - before
    # checking it again is refused, and nothing more is posted
    count = _entries(world.engine)
    with pytest.raises(Conflict):
        exemptions.check_exemption(
            world.engine, world.rsi_agent, request["id"], approve=True, today=date(2024, 6, 11)
        )
    assert _entries(world.engine) == count


def test_a_refused_request_changes_nothing(world, creator):
    before = _receivable(world.engine, creator)
    request = exemptions.enter_exemption(
        world.engine, world.urssaf_agent, creator, CREATION, today=date(2024, 6, 1)
    )
    result = exemptions.check_exemption(
        world.engine,
        world.rsi_agent,
        request["id"],
        approve=False,
        note="pas éligible",
        today=date(2024, 6, 2),
    )
    assert result["status"] == "refused" and result["reassessed"] == []
    assert _receivable(world.engine, creator) == before


def test_an_agent_of_another_region_can_neither_enter_nor_check(world, creator):
    with pytest.raises(Forbidden):
        exemptions.enter_exemption(
            world.engine, world.outsider, creator, CREATION, today=date(2024, 6, 1)
        )
    request = exemptions.enter_exemption(
        world.engine, world.urssaf_agent, creator, CREATION, today=date(2024, 6, 1)
    )
    with pytest.raises(Forbidden):
        exemptions.check_exemption(
            world.engine, world.outsider, request["id"], approve=True, today=date(2024, 6, 2)
        )
