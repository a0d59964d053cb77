"""Management fees: computed from the agreement's settings, invoiced once as a French PDF, posted."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from recouvrement.adapters.db.tables import journal_posting
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import management_fees
from recouvrement.services.ledger import post_entries
from recouvrement.services.unit_of_work import UnitOfWork

from .conftest import SYSTEM
from .ledger_helpers import open_account

MAYOTTE = "unedic-mayotte"


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def receipts_2013(world):
    cid = open_account(world, 7, "CSSM")
    postings = (
        Posting("bank", None, "", "", "", 123_456_789),
        Posting("receivable", cid, "unedic", "unemployment_employer", "2013-05", -123_456_789),
    )
    with UnitOfWork(world.engine) as uow:
        post_entries(uow.conn, SYSTEM, [Entry("r2013", date(2013, 6, 5), "payment", postings)])
        uow.commit()
    return world


def _fee_postings(engine, account):
    with engine.connect() as conn:
        return conn.execute(
            select(func.coalesce(func.sum(journal_posting.c.amount), 0)).where(
                journal_posting.c.ledger_account == account
            )
        ).scalar()


def test_collection_fees_for_2013_are_billed_to_pole_emploi_in_the_second_quarter_2014(
    receipts_2013,
):
    engine = receipts_2013.engine
    row, pdf = management_fees.issue_fee_invoice(
        engine, SYSTEM, agreement=MAYOTTE, category="collection", year=2013, on=date(2014, 4, 15)
    )
    assert row["base"] == 123_456_789 and row["amount"] == 370_370  # 0.30 %, half up
    assert row["billed_to"] == "POLE-EMPLOI" and row["late"] is False
    text = _text(pdf)
    assert "Facture n° FRAIS-COL-2013-UNEDIC-MAYOTTE" in text
    assert format_euros_fr(370_370).replace("\u202f", "\xa0") in text and "Pôle emploi" in text
    assert _fee_postings(engine, "fee_receivable") == 370_370
    again, pdf_again = management_fees.issue_fee_invoice(
        engine, SYSTEM, agreement=MAYOTTE, category="collection", year=2013, on=date(2014, 4, 20)
    )
    assert again["id"] == row["id"] and pdf_again == pdf
    assert _fee_postings(engine, "fee_receivable") == 370_370
    _, reprint = management_fees.fee_invoice_pdf(engine, SYSTEM, row["number"])
    assert reprint == pdf


def test_fees_are_refused_before_their_billing_quarter_or_their_first_year(receipts_2013):
    engine = receipts_2013.engine
    with pytest.raises(DomainError, match="01/04/2014"):
        management_fees.issue_fee_invoice(
            engine,
            SYSTEM,
            agreement=MAYOTTE,
            category="collection",
            year=2013,
            on=date(2014, 3, 31),
        )
    with pytest.raises(DomainError, match="à partir de l'année 2014"):
        management_fees.issue_fee_invoice(
            engine,
            SYSTEM,
            agreement=MAYOTTE,
            category="audit",
            year=2013,
            on=date(2014, 4, 1),
            audits=3,
        )
    assert _fee_postings(engine, "fee_receivable") == 0


def test_audit_fees_need_the_audits_and_are_billed_to_unedic(receipts_2013):
    engine = receipts_2013.engine
    with pytest.raises(DomainError) as err:
        management_fees.issue_fee_invoice(
            engine, SYSTEM, agreement=MAYOTTE, category="audit", year=2014, on=date(2015, 4, 2)
        )
    assert err.value.problems[0].field == "audits"
    row, pdf = management_fees.issue_fee_invoice(
        engine,
        SYSTEM,
        agreement=MAYOTTE,
        category="audit",
        year=2014,
        on=date(2015, 7, 2),
        audits=12,
    )
    assert row["amount"] == 12 * 45_000 and row["billed_to"] == "UNEDIC" and row["late"] is True
    assert "Contrôles achevés en 2014" in _text(pdf)
    with pytest.raises(Conflict):
        management_fees.issue_fee_invoice(
            engine,
            SYSTEM,
            agreement=MAYOTTE,
            category="audit",
            year=2014,
            on=date(2015, 7, 2),
            audits=13,
        )


def test_only_the_accounting_officer_bills(receipts_2013):
    with pytest.raises(Forbidden):
        management_fees.issue_fee_invoice(
            receipts_2013.engine,
            receipts_2013.cssm_agent,
            agreement=MAYOTTE,
            category="collection",
            year=2013,
            on=date(2014, 4, 15),
        )


def test_the_command_writes_the_invoice(receipts_2013, tmp_path, database_url, monkeypatch):
    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app

    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    out = tmp_path / "facture.pdf"
    args = ["transfers", "fees", "--category", "collection", "--year", "2013"]
    result = CliRunner().invoke(app, [*args, "--on", "2014-04-15", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "FRAIS-COL-2013-UNEDIC-MAYOTTE" in result.output and out.read_bytes()[:4] == b"%PDF"
    early = CliRunner().invoke(app, [*args, "--on", "2014-01-15", "--output", str(out)])
    assert early.exit_code == 2 and "01/04/2014" in early.output


def test_audit_fees_count_the_audits_completed_in_mayotte_that_year(receipts_2013):
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from recouvrement.adapters.db.audit_plan_tables import audit, audit_plan

    from .ledger_helpers import open_account

    engine = receipts_2013.engine
    mayotte = [open_account(receipts_2013, n, "CSSM") for n in (21, 22, 23)]
    mainland = open_account(receipts_2013, 24)
    with engine.begin() as conn:
        plan_id = conn.execute(
            insert(audit_plan).values(
                agreement="isu-region", year=2014, case_id=0, criteria_from=date(2014, 1, 1),
                created_by="test", created_on=date(2014, 1, 2),
                created_at=datetime(2014, 1, 2, tzinfo=UTC),
            )
        ).inserted_primary_key[0]  # fmt: skip
        done = [(c, date(2014, 9, 1)) for c in mayotte[:2]] + [(mainland, date(2014, 9, 1))]
        done += [(mayotte[2], date(2015, 1, 10))]  # completed the following year
        conn.execute(
            insert(audit),
            [
                {"plan_id": plan_id, "contributor_id": c, "score": 1, "reasons": [],
                 "status": "completed", "completed_on": on, "adjusted": 0}
                for c, on in done
            ],
        )  # fmt: skip
    row, _ = management_fees.issue_fee_invoice(
        engine, SYSTEM, agreement=MAYOTTE, category="audit", year=2014, on=date(2015, 4, 2)
    )
    assert row["base"] == 2 and row["amount"] == 2 * 45_000
