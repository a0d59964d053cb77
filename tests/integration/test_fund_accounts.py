"""Per-fund figures of a year come from the journal, by the cause of each entry."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update

from recouvrement.adapters.db.fee_tables import fund_year_figure
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.domain.ledger import Entry, Posting, reversal_of
from recouvrement.services import fund_accounts, transfer_dispatch, transfers
from recouvrement.services.ledger import load_entry, post_entries
from recouvrement.services.ledger_check import check_ledger
from recouvrement.services.unit_of_work import UnitOfWork

from .conftest import SYSTEM
from .ledger_helpers import open_account


def _post(engine, *entries):
    with UnitOfWork(engine) as uow:
        post_entries(uow.conn, SYSTEM, list(entries))
        uow.commit()


def _debt(key, cid, amount, day, fund="unedic", item="unemployment_employer", period="2014-03"):
    return Entry(
        key,
        day,
        "declaration",
        (
            Posting("receivable", cid, fund, item, period, amount),
            Posting("fund_revenue", None, fund, item, period, -amount),
        ),
    )


def _paid(key, cid, amount, day, cause="payment", fund="unedic", period="2014-03"):
    return Entry(
        key,
        day,
        cause,
        (
            Posting("bank", None, "", "", "", amount),
            Posting("receivable", cid, fund, "unemployment_employer", period, -amount),
        ),
    )


@pytest.fixture
def ledger_2014(world):
    mayotte = open_account(world, 1, "CSSM")
    mainland = open_account(world, 2)
    engine = world.engine
    _post(
        engine,
        _debt("d1", mayotte, 100_000, date(2014, 4, 10)),
        _debt("d2", mainland, 50_000, date(2014, 4, 10)),
        _debt("d3", mayotte, 30_000, date(2013, 12, 10), period="2013-11"),
        _paid("p0", mayotte, 30_000, date(2013, 12, 20), period="2013-11"),
        _paid("p1", mayotte, 80_000, date(2014, 5, 5)),
        _paid("p2", mainland, 50_000, date(2014, 5, 5)),
        _paid("p3", mayotte, 20_000, date(2014, 6, 5)),
    )
    # a direct-debit reject takes back p3; a refund gives back 5,000 of p1 after a correction
    with UnitOfWork(engine) as uow:
        p3 = load_entry(uow.conn, "p3")
        post_entries(uow.conn, SYSTEM, [reversal_of(p3, "p3-rejet", date(2014, 6, 20))])
        uow.commit()
    _post(
        engine,
        Entry(
            "refund-1",
            date(2014, 9, 1),
            "refund",
            (
                Posting("receivable", mayotte, "unedic", "unemployment_employer", "2014-03", 5_000),
                Posting("bank", None, "", "", "", -5_000),
            ),
        ),
        Entry(
            "advance-2014",
            date(2014, 6, 30),
            "transfer",
            (
                Posting("fund_payable", None, "unedic", "", "2014", 30_000),
                Posting("bank", None, "", "", "", -30_000),
            ),
        ),
    )
    return world


def test_figures_by_fund_for_a_year_follow_the_causes(ledger_2014):
    rows = fund_accounts.fund_figures(ledger_2014.engine, SYSTEM, 2014)
    assert rows == [
        {
            "year": 2014,
            "fund": "unedic",
            "cashed": 80_000 + 50_000,  # p3 and its reject cancel out
            "refunded": 5_000,
            "written_off": 0,
            "transferred": 30_000,
            "owed": 30_000 + 130_000 - 5_000 - 30_000,
        }
    ]


def test_the_territory_scope_keeps_the_agreement_s_contributors_and_its_transfers(ledger_2014):
    (row,) = fund_accounts.fund_figures(ledger_2014.engine, SYSTEM, 2014, territory="976")
    assert row["cashed"] == 80_000 and row["transferred"] == 30_000
    assert row["owed"] == 30_000 + 80_000 - 5_000 - 30_000
    with ledger_2014.engine.connect() as conn:
        assert fund_accounts.fund_receipts(conn, "unedic", 2013, "976") == 30_000
        assert fund_accounts.fund_receipts(conn, "unedic", 2014, "976") == 75_000


def test_contributors_do_not_see_the_funds_accounts(ledger_2014):
    contributor = Actor("portail", None, None, frozenset({Role.CONTRIBUTOR}), contributor_id=1)
    with pytest.raises(Forbidden):
        fund_accounts.fund_figures(ledger_2014.engine, contributor, 2014)


def test_the_mayotte_advance_and_regularisation_read_the_receipts_from_the_journal(ledger_2014):
    engine = ledger_2014.engine
    advance = transfers.plan_advance(engine, SYSTEM, 2015)
    assert advance["amount"] == 75_000 and "grand livre" in advance["basis"]
    transfers.record_accounts_closing(engine, SYSTEM, 2014, date(2015, 2, 6))
    transfers.plan_advance(engine, SYSTEM, 2014, 70_000)
    regularisation = transfers.plan_regularisation(engine, SYSTEM, 2014)
    assert regularisation["amount"] == 5_000 and regularisation["direction"] == "owed"


def test_each_transfer_posts_to_the_ledger_once_and_shows_in_the_fund_figures(ledger_2014):
    engine = ledger_2014.engine
    advance = transfers.plan_advance(engine, SYSTEM, 2015)
    transfer_dispatch.issue_transfer_file(engine, SYSTEM, advance["id"])
    with pytest.raises(Conflict):
        transfer_dispatch.issue_transfer_file(engine, SYSTEM, advance["id"])
    (row,) = fund_accounts.fund_figures(engine, SYSTEM, 2015, territory="976")
    assert row["transferred"] == 75_000
    assert row["owed"] == 75_000 - 75_000 - 30_000 + 30_000  # 2014 owed 75,000 less the advance
    # an overpaid regularisation comes back once, restoring what the fund is owed
    transfers.record_accounts_closing(engine, SYSTEM, 2015, date(2016, 2, 5))
    overpaid = transfers.plan_regularisation(engine, SYSTEM, 2015, 70_000)
    assert overpaid["direction"] == "overpaid" and overpaid["amount"] == 5_000
    transfer_dispatch.record_fund_repayment(engine, SYSTEM, overpaid["id"], date(2016, 2, 20))
    with pytest.raises(Conflict):
        transfer_dispatch.record_fund_repayment(engine, SYSTEM, overpaid["id"], date(2016, 2, 21))
    (row,) = fund_accounts.fund_figures(engine, SYSTEM, 2016, territory="976")
    assert row["transferred"] == -5_000 and row["owed"] == 5_000
    with pytest.raises(DomainError):
        transfer_dispatch.record_fund_repayment(engine, SYSTEM, advance["id"], date(2016, 2, 20))


def test_kept_figures_follow_late_entries_and_ledger_check_proves_them(ledger_2014):
    engine = ledger_2014.engine
    (first,) = fund_accounts.fund_figures(engine, SYSTEM, 2014, territory="976")
    with engine.connect() as conn:
        kept = conn.execute(select(func.count()).select_from(fund_year_figure)).scalar()
    assert kept > 0
    # a receipt dated in 2014 but recorded later is added to the kept 2014 figures
    cid = open_account(ledger_2014, 3, "CSSM")
    _post(
        engine,
        _debt("d9", cid, 7_000, date(2014, 2, 1)),
        _paid("p9", cid, 7_000, date(2014, 11, 3)),
    )
    (again,) = fund_accounts.fund_figures(engine, SYSTEM, 2014, territory="976")
    assert again["cashed"] == first["cashed"] + 7_000 and again["owed"] == first["owed"] + 7_000
    assert check_ledger(engine).ok
    # a kept figure that the journal does not support is a finding of `ledger check`
    with UnitOfWork(engine) as uow:
        uow.conn.execute(
            update(fund_year_figure)
            .where(fund_year_figure.c.year == 2014, fund_year_figure.c.fund == "unedic")
            .values(cashed=fund_year_figure.c.cashed + 1)
        )
        uow.commit()
    report = check_ledger(engine)
    assert not report.ok and report.fund_figure_difference_count == 1
    assert "fonds unedic, fin 2014" in report.fund_figure_differences[0]
