"""Bank receipts on SQLite and PostgreSQL: camt.053 and CSV imports, matching, suspense cases,
direct-debit rejects, idempotent re-imports, malformed files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from recouvrement.adapters.cli import app
from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.receipt_tables import receipt, receipt_import
from recouvrement.adapters.db.tables import agent, audit_event, case_table, journal_posting
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.contributors import ContributorDraft, ContributorKind
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.domain.payment_reference import account_reference
from recouvrement.services import contributors, ledger, receipts
from recouvrement.services import receipts_bulk as bulk
from recouvrement.services.allocation import allocation_postings, apply_credits_step
from recouvrement.services.ledger_check import check_ledger
from recouvrement.services.unit_of_work import UnitOfWork

from .case_region import ON, Region
from .conftest import SYSTEM
from .ledger_helpers import counts, siren

FIXTURES = Path(__file__).parent.parent / "fixtures" / "camt053"
STATEMENT = FIXTURES / "statement_001_02.xml"
BANK_IBAN = "FR7630006000011234567890189"
JAN, FEB, MAR = "2015-01", "2015-02", "2015-03"
LATER = date(2015, 3, 9)
DUE = {JAN: date(2015, 2, 16), FEB: date(2015, 3, 16), MAR: date(2015, 4, 15)}


def add_call(engine, cid: int, period: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(call).values(
                contributor_id=cid,
                period=period,
                kind="employer_monthly",
                reference=f"{account_reference(cid)} {period}",
                issue_date=DUE[period].replace(day=1),
                due_date=DUE[period],
                amount=0,
                status="issued",
                created_at=datetime.now(UTC),
            )
        )


def owe(engine, cid: int, period: str, amount: int) -> None:
    day = DUE[period].replace(day=5)
    entry = Entry(
        f"decl:{cid}:{period}",
        day,
        "assessment",
        (
            Posting("receivable", cid, "unedic", "unemployment_employer", period, amount),
            Posting("fund_revenue", None, "unedic", "unemployment_employer", period, -amount),
        ),
    )
    ledger.post_entry(engine, SYSTEM, entry)


class Setup:
    def __init__(self, engine):
        self.engine = engine
        self.region = Region(engine)
        self.region.grant_case_work()
        draft = ContributorDraft(
            kind=ContributorKind.EMPLOYER,
            name="Boulangerie Dupont",
            territory="69",
            organisation_code="URSSAF-RA",
            siren=siren(1),
        )
        self.cid = contributors.create_contributor(engine, self.region["ura.1"], draft, ON)["id"]
        assert self.cid == 1, "the fixture statement quotes the reference of contributor 1"
        for period, amount in ((JAN, 100_000), (FEB, 120_000)):
            add_call(engine, self.cid, period)
            owe(engine, self.cid, period, amount)

    @property
    def agent(self) -> Actor:
        return self.region["ura.1"]

    def receivable(self) -> dict[str, int]:
        return {
            r["period"]: r["balance"]
            for r in ledger.balances(self.engine, SYSTEM, self.cid, ledger_account="receivable")
        }

    def account_total(self, account: str) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(
                select(func.coalesce(func.sum(journal_posting.c.amount), 0)).where(
                    journal_posting.c.ledger_account == account
                )
            )

    def receipt(self, bank_reference: str) -> dict:
        [row] = [
            r
            for r in receipts.list_receipts(self.engine, SYSTEM, limit=1000)
            if r["bank_reference"] == bank_reference
        ]
        return row


@pytest.fixture
def setup(engine) -> Setup:
    return Setup(engine)


def camt(entries: list[str], statement_id: str = "STMT-T") -> bytes:
    """A camt.053.001.02 statement of the collector's account with the given Ntry elements."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<Stmt><Id>{statement_id}</Id><Acct><Id><IBAN>{BANK_IBAN}</IBAN></Id></Acct>"
        + "".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def ntry(ref: str, amount: str, *, debit=False, e2e="", text="", reason="", day="2015-03-02"):
    rtr = f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf>" if reason else ""
    rmt = f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf>" if text else ""
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{"DBIT" if debit else "CRDT"}</CdtDbtInd>'
        f"<Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls><TxDtls>"
        f"<Refs><EndToEndId>{e2e or 'NOTPROVIDED'}</EndToEndId></Refs>{rtr}{rmt}"
        "</TxDtls></NtryDtls></Ntry>"
    )


def test_a_statement_is_matched_allocated_suspended_rejected_and_returned(setup):
    report = receipts.import_statement(setup.engine, setup.agent, STATEMENT)
    assert report["transactions"] == 6
    assert (report["allocated"], report["suspense"], report["rejected"]) == (3, 1, 1)
    assert report["returned"] == 1 and report["already_imported"] == 0
    assert report["status"] == "posted"
    assert setup.receipt("BK-0001")["status"] == "allocated"
    assert setup.receipt("BK-0001")["contributor_id"] == setup.cid
    assert setup.receipt("BK-0002")["status"] == "suspense"
    usd = setup.receipt("BK-0003")
    assert usd["status"] == "rejected" and "devise USD refusée" in usd["reason"]
    assert usd["entry_key"] is None
    # The first direct debit of the batch was returned (AM04) by the last entry.
    first, second = setup.receipt("BK-0004/1"), setup.receipt("BK-0004/2")
    assert first["status"] == "returned" and second["status"] == "allocated"
    assert second["contributor_id"] == setup.cid  # reference typed in free text
    assert setup.receipt("BK-0005")["status"] == "reversal"
    assert first["returned_by_id"] == setup.receipt("BK-0005")["id"]
    # 1,500 + 200 paid January's 1,000 first (oldest due date), then 700 of February's 1,200.
    assert setup.receivable() == {FEB: 50_000}
    assert setup.account_total("bank") == 150_000 + 25_000 + 50_000 - 30_000
    assert setup.account_total("suspense") == -25_000
    assert check_ledger(setup.engine).ok


def test_reimporting_the_statement_changes_nothing(setup):
    receipts.import_statement(setup.engine, setup.agent, STATEMENT)
    before = counts(setup.engine), setup.receivable()
    with setup.engine.connect() as conn:
        rows = conn.scalar(select(func.count()).select_from(receipt))
    again = receipts.import_statement(setup.engine, setup.agent, STATEMENT.read_bytes())
    assert again["already_imported"] == 6
    assert (again["allocated"], again["suspense"], again["returned"]) == (0, 0, 0)
    assert again["entries_posted"] == 0
    assert (counts(setup.engine), setup.receivable()) == before
    with setup.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(receipt)) == rows


def test_an_overlapping_statement_posts_only_what_is_new(setup):
    ref = account_reference(setup.cid)
    receipts.import_statement(setup.engine, setup.agent, camt([ntry("A-1", "100.00", text=ref)]))
    report = receipts.import_statement(
        setup.engine,
        setup.agent,
        camt([ntry("A-1", "100.00", text=ref), ntry("A-2", "50.00", text=ref)]),
    )
    assert (report["already_imported"], report["allocated"]) == (1, 1)
    assert setup.receivable() == {JAN: 85_000, FEB: 120_000}


def test_a_malformed_statement_posts_nothing(setup):
    data = STATEMENT.read_bytes()
    truncated = data[: len(data) * 2 // 3]
    before = counts(setup.engine)
    with pytest.raises(DomainError) as err:
        receipts.import_statement(setup.engine, setup.agent, truncated, file_name="coupé.xml")
    [problem] = err.value.problems
    assert problem.code == "malformed_xml" and "ligne" in problem.reason
    assert counts(setup.engine) == before
    with setup.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(receipt)) == 0
        assert conn.scalar(select(func.count()).select_from(receipt_import)) == 0
        refused = conn.execute(
            select(audit_event.c.outcome).where(audit_event.c.action == "receipts.import")
        ).all()
    assert [r.outcome for r in refused] == ["refused"]


def test_a_direct_debit_reject_restores_the_balances_exactly(setup):
    ref = account_reference(setup.cid)
    before = setup.receivable()
    receipts.import_statement(
        setup.engine, setup.agent, camt([ntry("DD-1", "1500.00", e2e="SDD-9", text=ref)])
    )
    assert setup.receivable() == {FEB: 70_000}
    returned = receipts.import_statement(
        setup.engine,
        setup.agent,
        camt([ntry("RJ-1", "1500.00", debit=True, e2e="SDD-9", reason="AC04", day="2015-03-06")]),
    )
    assert returned["returned"] == 1
    assert setup.receivable() == before
    assert setup.receipt("DD-1")["status"] == "returned"
    # A second reject of the same payment is kept as rejected and posts nothing.
    again = receipts.import_statement(
        setup.engine,
        setup.agent,
        camt([ntry("RJ-2", "1500.00", debit=True, e2e="SDD-9", reason="MD06")]),
    )
    assert again["rejected"] == 1 and "déjà rejeté" in setup.receipt("RJ-2")["reason"]
    assert setup.receivable() == before
    assert check_ledger(setup.engine).ok


def test_the_bulk_allocation_equals_allocating_one_receipt_at_a_time(setup):
    """Two payments of the same account in one statement, the second seeing the first."""
    ref = account_reference(setup.cid)
    with UnitOfWork(setup.engine) as uow:
        one_by_one = allocation_postings(uow.conn, setup.cid, 150_000, on=date(2015, 3, 2))
    receipts.import_statement(
        setup.engine,
        setup.agent,
        camt([ntry("S-1", "1500.00", text=ref), ntry("S-2", "900.00", text=f"{ref} {FEB}")]),
    )
    with setup.engine.connect() as conn:
        posted = ledger.load_entry(conn, f"receipt:{BANK_IBAN}:S-1")
    assert sorted(p for p in posted.postings if p.ledger_account == "receivable") == sorted(
        one_by_one
    )
    # The second pays what is left of February, the rest becomes a credit.
    assert setup.receivable() == {"": -20_000}


def test_a_receipt_in_suspense_gets_a_case_and_is_matched_by_an_agent(setup):
    receipts.import_statement(setup.engine, setup.agent, STATEMENT)
    pending = setup.receipt("BK-0002")
    with setup.engine.connect() as conn:
        case = conn.execute(select(case_table).where(case_table.c.id == pending["case_id"])).one()
    assert case.case_type == "unmatched_receipt" and case.state == "received"
    assert case.opened_on == date(2015, 3, 5)  # the latest booking date of the statement
    assert case.payload["receipt_id"] == pending["id"]
    assignee = setup.region[_login(setup.engine, case.assignee_id)]
    other = setup.region["ura.2" if assignee.login != "ura.2" else "ura.1"]
    with pytest.raises(Forbidden):
        receipts.match_receipt(setup.engine, other, pending["id"], setup.cid, on=LATER)
    matched = receipts.match_receipt(setup.engine, assignee, pending["id"], setup.cid, on=LATER)
    assert matched["status"] == "allocated" and matched["contributor_id"] == setup.cid
    assert matched["matched_by"] == assignee.login
    assert setup.account_total("suspense") == 0
    assert setup.receivable() == {FEB: 25_000}
    with setup.engine.connect() as conn:
        case = conn.execute(select(case_table).where(case_table.c.id == pending["case_id"])).one()
    assert case.state == "matched" and case.closed_on == LATER
    with pytest.raises(Conflict):
        receipts.match_receipt(setup.engine, assignee, pending["id"], setup.cid, on=LATER)
    assert check_ledger(setup.engine).ok


def _login(engine, agent_id: int) -> str:
    with engine.connect() as conn:
        return conn.scalar(select(agent.c.login).where(agent.c.id == agent_id))


def test_a_contributor_cannot_list_receipts_nor_import(setup):
    me = Actor(
        login="cotisant",
        organisation_id=None,
        organisation_code=None,
        roles=frozenset({Role.CONTRIBUTOR}),
        contributor_id=setup.cid,
    )
    with pytest.raises(Forbidden):
        receipts.list_receipts(setup.engine, me)
    with pytest.raises(Forbidden):
        receipts.import_statement(setup.engine, me, STATEMENT)


def test_an_agent_outside_the_region_does_not_see_its_accounts_receipts(setup):
    receipts.import_statement(setup.engine, setup.agent, STATEMENT)
    seen = receipts.list_receipts(setup.engine, setup.region["agent.cssm"])
    assert {r["status"] for r in seen} == {"suspense", "rejected"}
    assert all(r["contributor_id"] is None for r in seen)


def test_a_csv_statement_with_bad_lines_imports_the_good_ones(setup):
    ref = account_reference(setup.cid)
    data = (
        "bank_reference,booking_date,value_date,amount,currency,debtor_name,debtor_iban,reference\n"
        f"C-1,2015-03-02,2015-03-02,100.00,EUR,Dupont,FR1420041010050500013M02606,{ref}\n"
        f"C-2,2015-03-02,2015-03-02,10.005,EUR,Dupont,,{ref}\n"
        f"C-3,2015-03-02,2015-03-02,10.00,EUR,Dupont,FR0000000000000000000000000,{ref}\n"
        f",2015-03-02,2015-03-02,10.00,EUR,Dupont,,{ref}\n"
    ).encode()
    report = receipts.import_statement(setup.engine, setup.agent, data, file_format="csv")
    assert (report["allocated"], report["rejected"]) == (1, 3)
    assert "fractions de centime" in setup.receipt("C-2")["reason"]
    assert "IBAN" in setup.receipt("C-3")["reason"]
    assert setup.receivable() == {JAN: 90_000, FEB: 120_000}


def test_an_import_whose_posting_crashed_is_finished_by_the_next_import(setup, monkeypatch):
    ref = account_reference(setup.cid)
    real = bulk.post_import

    def crash(*args, **kwargs):
        raise RuntimeError("coupure")

    monkeypatch.setattr(bulk, "post_import", crash)
    with pytest.raises(RuntimeError):
        receipts.import_statement(
            setup.engine, setup.agent, camt([ntry("K-1", "100.00", text=ref)])
        )
    assert setup.receipt("K-1")["status"] == "allocated"  # recorded, not posted
    assert setup.receivable() == {JAN: 100_000, FEB: 120_000}
    monkeypatch.setattr(bulk, "post_import", real)
    receipts.import_statement(setup.engine, setup.agent, camt([ntry("K-2", "50.00", text=ref)]))
    assert setup.receivable() == {JAN: 85_000, FEB: 120_000}
    with setup.engine.connect() as conn:
        states = conn.scalars(select(receipt_import.c.status)).all()
    assert states == ["posted", "posted"]
    assert check_ledger(setup.engine).ok


@pytest.fixture
def cli(setup, database_url, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, ["receipts", *map(str, args)])

    return run


def test_the_command_line_imports_lists_and_matches(cli, setup):
    result = cli("import", STATEMENT, "--agent", "ura.1")
    assert result.exit_code == 1, result.output  # the dollar transfer is refused
    assert "6 opérations, 3 affectées, 1 en attente" in result.output
    assert "devise USD refusée" in result.output
    again = cli("import", STATEMENT)
    assert again.exit_code == 0 and "6 déjà importées" in again.output
    listing = cli("list", "--status", "suspense")
    assert listing.exit_code == 0 and "BK-0002" in listing.output and "en attente" in listing.output
    pending = setup.receipt("BK-0002")
    with setup.engine.connect() as conn:
        assignee = conn.scalar(
            select(agent.c.login)
            .join(case_table, case_table.c.assignee_id == agent.c.id)
            .where(case_table.c.id == pending["case_id"])
        )
    matched = cli("match", pending["id"], setup.cid, "--agent", assignee, "--date", "2015-03-09")
    assert matched.exit_code == 0, matched.output
    assert "affecté au cotisant 1" in matched.output
    bad = cli("import", FIXTURES / "missing.xml")
    assert bad.exit_code == 2 and "Fichier refusé" in bad.output


def test_a_reject_after_the_credit_was_used_reopens_what_the_credit_paid(setup):
    """The receipt left a credit, the daily cycle used it on March: the reject takes it back."""
    ref = account_reference(setup.cid)
    receipts.import_statement(
        setup.engine, setup.agent, camt([ntry("DD-7", "3000.00", e2e="SDD-7", text=ref)])
    )
    assert setup.receivable() == {"": -80_000}  # January and February paid, 800 € of credit
    add_call(setup.engine, setup.cid, MAR)
    owe(setup.engine, setup.cid, MAR, 50_000)
    apply_credits_step(setup.engine, DUE[MAR])
    assert setup.receivable() == {"": -30_000}
    receipts.import_statement(
        setup.engine,
        setup.agent,
        camt([ntry("RJ-7", "3000.00", debit=True, e2e="SDD-7", reason="AM04", day="2015-04-20")]),
    )
    assert setup.receivable() == {JAN: 100_000, FEB: 120_000, MAR: 50_000}
    assert check_ledger(setup.engine).ok


def test_a_returned_receipt_in_suspense_closes_its_case(setup):
    receipts.import_statement(
        setup.engine, setup.agent, camt([ntry("U-1", "40.00", e2e="SDD-U", text="sans ref")])
    )
    pending = setup.receipt("U-1")
    assert pending["status"] == "suspense" and pending["case_id"] is not None
    receipts.import_statement(
        setup.engine,
        setup.agent,
        camt([ntry("U-R", "40.00", debit=True, e2e="SDD-U", reason="MD06", day="2015-03-04")]),
    )
    assert setup.receipt("U-1")["status"] == "returned"
    assert setup.account_total("suspense") == 0 and setup.account_total("bank") == 0
    with setup.engine.connect() as conn:
        case = conn.execute(select(case_table).where(case_table.c.id == pending["case_id"])).one()
    assert case.state == "returned" and case.closed_on == date(2015, 3, 4)
