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
from recouvrement.services import (
    allocation,
    authentication,
    contributors,
    fund_accounts,
    ledger,
    write_off_recovery,
    write_off_report,
    write_offs,
)
from recouvrement.services.ledger_check import check_ledger
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


def pay(engine, cid: int, amount: int, day: date, ref: str) -> None:
    """A bank receipt allocated as receipts allocate it (services/allocation)."""
    with UnitOfWork(engine) as uow:
        postings = allocation.allocation_postings(uow.conn, cid, amount)
        entry = Entry(
            f"receipt:{ref}",
            day,
            "payment",
            (Posting("bank", None, "", "", "", amount), *postings),
        )
        ledger.post_entries(uow.conn, SYSTEM, [entry])
        uow.commit()


def test_the_director_alone_approves_below_the_threshold_and_the_posting_is_made_once(region):
    cid = open_debtor(region)
    wid = propose_in(region.engine, region["ura.1"], cid, [KEY, SURCHARGE], "insolvency")
    with pytest.raises(Forbidden):
        write_offs.approve_write_off(region.engine, region["ura.2"], wid, on=ON)
    with pytest.raises(Forbidden, match="directeur"):
        write_offs.approve_write_off(region.engine, region["ac.1"], wid, on=ON)
    view = write_offs.approve_write_off(region.engine, region["dir.urssaf"], wid, on=ON)
    assert view["state"] == "approved"
    assert view["written_off"] == 126_000
    assert balance(region.engine, cid, "receivable", KEY) == 0
    assert balance(region.engine, cid, "write_off", KEY) == 120_000
    assert balance(region.engine, cid, "write_off", SURCHARGE) == 6_000
    with pytest.raises(Conflict, match="approuvée"):
        write_offs.approve_write_off(region.engine, region["dir.2"], wid, on=ON)
    assert balance(region.engine, cid, "write_off", KEY) == 120_000
    with region.engine.connect() as conn:
        case = conn.execute(select(case_table).where(case_table.c.id == view["case_id"])).one()
    assert (case.state, case.closed_on) == ("approved", ON)


def test_above_the_threshold_and_since_2020_the_accounting_officer_approves_too(region):
    big = open_debtor(region, 1, principal=200_000, surcharge=0)
    wid = propose_in(region.engine, SYSTEM, big, [KEY], "closed_liquidation")
    view = write_offs.approve_write_off(region.engine, region["dir.urssaf"], wid, on=ON)
    assert (view["state"], view["needed_roles"]) == ("proposed", ["accounting_officer", "director"])
    assert balance(region.engine, big, "receivable", KEY) == 200_000
    with pytest.raises(Forbidden, match="déjà approuvé"):
        write_offs.approve_write_off(region.engine, region["dir.urssaf"], wid, on=ON)
    view = write_offs.approve_write_off(region.engine, region["ac.1"], wid, on=ON)
    assert view["state"] == "approved"
    assert balance(region.engine, big, "write_off", KEY) == 200_000
    # Décret 2020-852: the director and the accounting officer jointly, whatever the amount.
    small = open_debtor(region, 2, principal=10_000, surcharge=0)
    late = date(2021, 3, 1)
    wid = propose_in(region.engine, SYSTEM, small, [KEY], "death", on=late, source="t:2021")
    assert write_offs.get_write_off(region.engine, SYSTEM, wid)["needed_roles"] == [
        "accounting_officer",
        "director",
    ]


def test_a_key_paid_meanwhile_is_written_off_for_what_is_left_and_a_rejection_posts_nothing(region):
    cid = open_debtor(region)
    wid = propose_in(region.engine, SYSTEM, cid, [KEY], "insolvency")
    pay(region.engine, cid, 20_000, date(2015, 3, 10), "part")
    view = write_offs.approve_write_off(
        region.engine, region["dir.urssaf"], wid, on=date(2015, 4, 1)
    )
    assert view["lines"][0]["written_off"] == 100_000
    other = open_debtor(region, 2)
    wid2 = propose_in(region.engine, SYSTEM, other, [KEY], "insolvency", source="t:r")
    with pytest.raises(DomainError, match="motif"):
        write_offs.reject_write_off(region.engine, region["dir.urssaf"], wid2, on=ON, reason=" ")
    view = write_offs.reject_write_off(
        region.engine, region["dir.urssaf"], wid2, on=ON, reason="actif découvert"
    )
    assert view["state"] == "rejected"
    assert balance(region.engine, other, "receivable", KEY) == 120_000


def test_a_later_receipt_pays_the_written_off_debt_and_the_fund_is_owed_it(region):
    cid = open_debtor(region)
    wid = propose_in(region.engine, SYSTEM, cid, [KEY, SURCHARGE], "disappearance")
    write_offs.approve_write_off(region.engine, region["dir.urssaf"], wid, on=ON)
    with region.engine.connect() as conn:
        before = fund_accounts.fund_year(conn, 2015)["unedic"]
    assert before["written_off"] == 126_000
    # The debtor reappears and pays 1 000 €: nothing is open, so receipts leave it as a credit…
    day = date(2015, 6, 1)
    pay(region.engine, cid, 100_000, day, "late")
    assert balance(region.engine, cid, "receivable", ("", "credit", "")) == -100_000
    # …which the daily step moves onto the written-off keys, oldest period first.
    report = write_off_recovery.recoveries_step(region.engine, day)
    assert report.counts == {"write_offs_recovered": 1}
    assert report.amounts == {"write_offs_recovered": 100_000}
    again = write_off_recovery.recoveries_step(region.engine, day)
    assert again.counts == {}  # the credit is used: nothing more to post
    assert balance(region.engine, cid, "receivable", ("", "credit", "")) == 0
    assert balance(region.engine, cid, "receivable", KEY) == 0
    left = balance(region.engine, cid, "write_off", KEY) + balance(
        region.engine, cid, "write_off", SURCHARGE
    )
    assert left == 26_000
    with region.engine.connect() as conn:
        after = fund_accounts.fund_year(conn, 2015)["unedic"]
    assert after["written_off"] == 26_000
    assert after["cashed"] - before["cashed"] == 100_000
    assert after["owed"] - before["owed"] == 100_000
    view = write_offs.get_write_off(region.engine, SYSTEM, wid)
    assert sum(x["recovered"] for x in view["lines"]) == 100_000
    assert check_ledger(region.engine).findings == 0


def test_the_yearly_report_counts_and_sums_by_grounds_and_fund(region):
    a = open_debtor(region, 1)
    b = open_debtor(region, 2, principal=50_000, surcharge=0)
    for cid, grounds, source in ((a, "insolvency", "r:a"), (b, "death", "r:b")):
        wid = propose_in(region.engine, SYSTEM, cid, [KEY], grounds, source=source)
        write_offs.approve_write_off(region.engine, region["dir.urssaf"], wid, on=ON)
    report = write_off_report.yearly_report(region.engine, region["dir.urssaf"], 2015)
    by = {g["grounds"]: g for g in report["grounds"]}
    assert (by["insolvency"]["count"], by["insolvency"]["written_off"]) == (1, 120_000)
    assert by["death"]["by_fund"] == {"unedic": {"written_off": 50_000, "recovered": 0}}
    assert report["total"] == {"count": 2, "written_off": 170_000, "recovered": 0}
    assert write_off_report.yearly_report(region.engine, SYSTEM, 2016)["total"]["count"] == 0
    text = write_off_report.report_csv(report)
    assert "2015;death;décès du débiteur sans actif;unedic;1;500.00;0.00" in text.splitlines()
    # An agent of an organisation outside the region sees none of it.
    outside = write_off_report.yearly_report(region.engine, region["agent.cssm"], 2015)
    assert outside["total"]["count"] == 0


def test_the_command_line_proposes_approves_and_reports(
    region, database_url, monkeypatch, tmp_path
):
    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app

    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()
    cid = open_debtor(region)
    key = "/".join(KEY)

    def run(*args):
        return runner.invoke(app, ["write-offs", *map(str, args)])

    refused = run(
        "propose", cid, key, "--grounds", "insolvency", "--on", "2014-12-01", "--login", "ura.1"
    )
    assert refused.exit_code == 2 and "12 mois après" in refused.output
    done = run("propose", cid, key, "--grounds", "insolvency", "--on", ON, "--login", "ura.1")
    assert done.exit_code == 0, done.output
    assert "Admission en non-valeur n° 1" in done.output and "1\u202f200,00 €" in done.output
    approved = run("approve", 1, "--on", ON, "--login", "dir.urssaf")
    assert approved.exit_code == 0 and "approuvée" in approved.output
    out = tmp_path / "etat.csv"
    reported = run("report", "--year", 2015, "--format", "csv", "--output", out)
    assert reported.exit_code == 0 and "1 admission(s)" in reported.output
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("2015;insolvency;")
    listed = run("list", "--contributor", cid)
    assert "approuvée et comptabilisée" in listed.output


CYCLE_STEPS = (
    "recouvrement.services.call_issuing:issue_calls_step",
    "recouvrement.services.allocation:apply_credits_step",
    "recouvrement.services.write_off_recovery:recoveries_step",
    "recouvrement.services.call_issuing:payment_incidents_step",
    "recouvrement.services.surcharges:surcharges_step",
    "recouvrement.services.remission:automatic_remission_step",
)


def open_keys(engine, cid: int) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(account_balance.c.fund, account_balance.c.item, account_balance.c.period).where(
                account_balance.c.contributor_id == cid,
                account_balance.c.ledger_account == "receivable",
                account_balance.c.balance > 0,
            )
        ).all()
    return sorted(tuple(r) for r in rows)


def test_from_declarations_to_a_written_off_debt_paid_by_the_heirs(engine, tmp_path, monkeypatch):
    """Employers declare, calls are issued and surcharged by the daily cycle; one never pays and
    dies; the write-off is approved by both roles (décret 2020-852), then the heirs pay."""
    from recouvrement.services import daily_cycle

    from .cycle_world import build_cycle_world

    monkeypatch.setenv("RECOUVREMENT_DOCUMENTS_DIR", str(tmp_path / "documents"))
    ids = build_cycle_world(engine)
    for login, roles in (("dir.reg", ["director"]), ("ac.reg", ["accounting_officer"])):
        authentication.create_agent(engine, SYSTEM, login, login, "URSSAF-REG", roles)
    cycle = daily_cycle.run_until
    cycle(engine, SYSTEM, date(2024, 4, 20), start=date(2024, 2, 1), steps=CYCLE_STEPS)
    dead = ids[2]  # never paid
    keys = open_keys(engine, dead)
    assert {k[2] for k in keys} == {"2024-01", "2024-02"}
    assert any(k[1] == "surcharge_initial" for k in keys)
    owed = sum(balance(engine, dead, "receivable", k) for k in keys)
    agent = authentication.actor_for_login(engine, "agent.urssaf")
    view = write_offs.propose(engine, agent, dead, keys, "death", on=date(2024, 4, 22))
    assert view["case_id"] is None  # the ISU agreement has ended: worked from its record
    assert view["needed_roles"] == ["accounting_officer", "director"]
    director = authentication.actor_for_login(engine, "dir.reg")
    officer = authentication.actor_for_login(engine, "ac.reg")
    write_offs.approve_write_off(engine, director, view["id"], on=date(2024, 4, 23))
    assert open_keys(engine, dead) == keys  # one approval of two: nothing posted
    done = write_offs.approve_write_off(engine, officer, view["id"], on=date(2024, 4, 24))
    assert done["written_off"] == owed
    assert open_keys(engine, dead) == []
    with engine.connect() as conn:
        figures = fund_accounts.fund_year(conn, 2024)
    written = sum(f["written_off"] for f in figures.values())
    cashed = sum(f["cashed"] for f in figures.values())
    assert written == owed
    # The heirs pay 200 €: receipts leave it as a credit, the cycle pays the written-off debt.
    assert owed > 20_000
    pay(engine, dead, 20_000, date(2024, 5, 2), "heirs")
    daily_cycle.run_day(engine, SYSTEM, date(2024, 5, 3), steps=CYCLE_STEPS)
    assert balance(engine, dead, "receivable", ("", "credit", "")) == 0
    with engine.connect() as conn:
        after = fund_accounts.fund_year(conn, 2024)
    assert sum(f["written_off"] for f in after.values()) == owed - 20_000
    assert sum(f["cashed"] for f in after.values()) == cashed + 20_000
    report = write_off_report.yearly_report(engine, director, 2024)
    death = next(g for g in report["grounds"] if g["grounds"] == "death")
    assert (death["count"], death["written_off"], death["recovered"]) == (1, owed, 20_000)
    assert check_ledger(engine).findings == 0
