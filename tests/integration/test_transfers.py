"""Transfers to Unédic for Mayotte: the notification, the closing and the transfers are recorded
once, by the accounting officer, with an audit event for each change and each refusal."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from recouvrement.adapters.db.tables import audit_event
from recouvrement.adapters.db.transfer_tables import fund_notification, transfer
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.services import authentication, transfers
from recouvrement.services.audit import events

from .conftest import SYSTEM

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def officer(world):
    authentication.create_agent(
        world.engine,
        SYSTEM,
        "comptable.acoss",
        "Agent comptable",
        "URSSAF-REG",
        ["accounting_officer"],
    )
    return authentication.actor_for_login(world.engine, "comptable.acoss")


def notify(engine, actor, **over):
    args = {
        "amount": 1_234_567_89,
        "notified_on": date(2013, 5, 15),
        "notified_by": "Direction financière de l'Unédic",
        "channel": "letter_and_email",
        "reference": "UNEDIC-2013-042",
    } | over
    return transfers.record_fund_notification(engine, actor, **args)


def count(engine, table):
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_the_2013_advance_is_refused_without_the_notification_then_equals_it(world, officer):
    engine = world.engine
    with pytest.raises(DomainError) as err:
        transfers.plan_advance(engine, officer, 2013)
    assert err.value.problems[0].code == "notification_missing"
    assert "notification" in err.value.problems[0].reason and "2012" in err.value.problems[0].reason
    assert count(engine, transfer) == 0
    assert events(engine, object_type="transfer")[0]["outcome"] == "refused"

    recorded = notify(engine, officer)
    assert recorded["late"] is False
    advance = transfers.plan_advance(engine, officer, 2013)
    assert advance["amount"] == 1_234_567_89
    assert advance["due_on"] == date(2013, 6, 28)
    assert advance["account"] == "annex_1"
    assert advance["status"] == "planned"
    # the same request again changes nothing
    assert transfers.plan_advance(engine, officer, 2013)["id"] == advance["id"]
    assert count(engine, transfer) == 1


def test_the_first_advance_takes_no_typed_amount(world, officer):
    notify(world.engine, officer)
    with pytest.raises(DomainError) as err:
        transfers.plan_advance(world.engine, officer, 2013, previous_year_receipts=100)
    assert err.value.problems[0].field == "previous_year_receipts"


def test_a_second_notification_is_refused_and_the_first_kept(world, officer):
    notify(world.engine, officer)
    with pytest.raises(Conflict):
        notify(world.engine, officer, amount=1)
    with world.engine.connect() as conn:
        assert conn.scalar(select(fund_notification.c.amount)) == 1_234_567_89
    refused = events(world.engine, object_type="transfer")[0]
    assert refused["outcome"] == "refused" and "déjà enregistrée" in refused["detail"]["reason"]


def test_a_late_notification_is_refused_unless_accepted_as_late(world, officer):
    with pytest.raises(DomainError) as err:
        notify(world.engine, officer, notified_on=date(2013, 5, 31))
    assert err.value.problems[0].code == "late"
    assert count(world.engine, fund_notification) == 0
    recorded = notify(world.engine, officer, notified_on=date(2013, 6, 3), accept_late=True)
    assert recorded["late"] is True
    last = events(world.engine, object_type="transfer")[0]
    assert last["outcome"] == "done" and last["detail"]["late"] is True


@pytest.mark.parametrize(
    "over, field",
    [
        ({"amount": -5}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"channel": "fax"}, "channel"),
        ({"notified_by": "  "}, "notified_by"),
        ({"notified_on": date(2012, 12, 20)}, "notified_on"),
    ],
)
def test_bad_notifications_name_the_field_and_change_nothing(world, officer, over, field):
    with pytest.raises(DomainError) as err:
        notify(world.engine, officer, **over)
    assert err.value.problems[0].field == field
    assert count(world.engine, fund_notification) == 0


def test_only_an_actor_who_may_post_to_the_ledger_records_transfers(world):
    with pytest.raises(Forbidden):
        notify(world.engine, world.cssm_agent)
    with pytest.raises(Forbidden):
        transfers.plan_advance(world.engine, world.cssm_agent, 2014, 100)


def test_later_advances_equal_the_receipts_given_and_a_different_amount_is_refused(world, officer):
    advance = transfers.plan_advance(world.engine, officer, 2014, 2_000_000_00)
    assert advance["due_on"] == date(2014, 6, 30)
    assert advance["announce_before"] == datetime(2014, 6, 27, 16, 30, tzinfo=PARIS)
    replay = transfers.plan_advance(world.engine, officer, 2014, 2_000_000_00)
    assert replay["id"] == advance["id"]
    assert replay["announce_before"] == advance["announce_before"]
    with pytest.raises(Conflict):
        transfers.plan_advance(world.engine, officer, 2014, 2_000_000_01)


def test_regularisation_waits_for_the_closing_and_pays_the_complement(world, officer):
    engine = world.engine
    transfers.plan_advance(engine, officer, 2014, 2_000_000_00)
    with pytest.raises(DomainError) as err:
        transfers.plan_regularisation(engine, officer, 2014, 2_100_000_00)
    assert err.value.problems[0].code == "closing_missing"

    closing = transfers.record_accounts_closing(engine, officer, 2014, date(2015, 2, 6))
    assert closing["late"] is False
    assert closing["regularisation_due"] == date(2015, 2, 20)
    with pytest.raises(Conflict):
        transfers.record_accounts_closing(engine, officer, 2014, date(2015, 2, 9))

    owed = transfers.plan_regularisation(engine, officer, 2014, 2_100_000_00)
    assert (owed["direction"], owed["amount"], owed["account"]) == ("owed", 100_000_00, "annex_1")
    assert owed["due_on"] == date(2015, 2, 20)
    assert owed["announce_before"] == datetime(2015, 2, 19, 16, 30, tzinfo=PARIS)


def test_an_overpaid_advance_is_asked_back_to_the_central_agency_account(world, officer):
    engine = world.engine
    transfers.plan_advance(engine, officer, 2015, 3_000_000_00)
    closing = transfers.record_accounts_closing(engine, officer, 2015, date(2016, 2, 19))
    assert closing["late"] is True  # after 15 February: recorded, and flagged
    r = transfers.plan_regularisation(engine, officer, 2015, 2_900_000_00)
    assert (r["direction"], r["amount"], r["account"]) == ("overpaid", 100_000_00, "annex_2")
    assert r["due_on"] == date(2016, 2, 26)  # 28 February 2016 is a Sunday
    assert r["announce_before"] is None


def test_a_closing_inside_the_year_is_refused(world, officer):
    with pytest.raises(DomainError) as err:
        transfers.record_accounts_closing(world.engine, officer, 2015, date(2015, 12, 31))
    assert err.value.problems[0].field == "closing_day"
    with world.engine.connect() as conn:
        refusals = conn.scalar(
            select(func.count()).where(
                audit_event.c.action == "transfer.closing.record",
                audit_event.c.outcome == "refused",
            )
        )
    assert refusals == 1
