"""The CACM's debt stock at 31 December 2012, end to end on both backends: import → balances →
calls and debt files → surcharges at the old scale from the stock date → a bank receipt allocated
to the legacy debt → report; malformed files, rejected lines and replays."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.cycle_tables import payment_incident
from recouvrement.adapters.db.tables import journal_entry, journal_posting
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.contributors import ContributorDraft, ContributorKind, Establishment
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.domain.payment_reference import account_reference
from recouvrement.services import contributors, ledger, legacy_stock, receipts
from recouvrement.services.surcharges import surcharges_step

from .conftest import SYSTEM

FIXTURES = Path(__file__).parents[1] / "fixtures" / "legacy"
CSV = (FIXTURES / "cacm-stock-2012.csv").read_bytes()
JSONL = (FIXTURES / "cacm-stock-2012.jsonl").read_bytes()
TODAY = date(2013, 3, 20)  # transmitted before the end of March 2013 (art. 3.2.1)


def _employer(engine, name, siren, siret, territory, organisation):
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name=name,
        territory=territory,
        organisation_code=organisation,
        siren=siren,
        establishments=(Establishment(siret, territory),),
    )
    return contributors.create_contributor(engine, SYSTEM, draft, date(2010, 1, 1))["id"]


@pytest.fixture
def stock(world):
    e = world.engine
    garage = _employer(e, "Garage de Mamoudzou", "732829320", "73282932000017", "976", "CSSM")
    btp = _employer(e, "BTP de Koungou", "443061841", "44306184100013", "976", "CSSM")
    _employer(e, "Imprimerie lyonnaise", "552100554", "55210055400013", "69", "URSSAF-REG")
    return world, garage, btp


def _entries(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(journal_entry))


def test_import_posts_opening_entries_and_keeps_rejected_lines(stock):
    world, garage, btp = stock
    report = legacy_stock.import_legacy_file(
        world.engine, world.cssm_agent, CSV, "cacm-stock-2012.csv", TODAY
    )
    assert report["status"] == "imported"
    assert (report["lines"], report["applied"], report["rejected"]) == (6, 4, 2)
    assert report["file_total"] == 864_600 == report["control_total"]
    assert (report["applied_total"], report["rejected_total"]) == (714_600, 150_000)
    assert report["reconciled"] is True and report["control_source"] == "header"
    assert [(r["line"], r["code"]) for r in report["rejects"]] == [
        (7, "not_mayotte"),
        (8, "after_stock_date"),
    ]
    assert ledger.balance(world.engine, SYSTEM, garage) == 249_600
    assert ledger.balance(world.engine, SYSTEM, btp) == 465_000
    assert ledger.balance(world.engine, SYSTEM, btp, item="surcharge_legacy") == 45_000
    with world.engine.connect() as conn:
        dates = set(
            conn.scalars(
                select(journal_entry.c.value_date).where(journal_entry.c.cause == "opening")
            )
        )
        calls = {
            (r.contributor_id, r.period): (r.kind, r.status, r.due_date, r.amount)
            for r in conn.execute(select(call))
        }
        incidents = sorted((r.period, r.kind) for r in conn.execute(select(payment_incident)))
    assert dates == {date(2012, 12, 31)}
    assert calls[(garage, "2012-10")] == ("legacy_stock", "overdue", date(2012, 11, 15), 249_600)
    assert calls[(btp, "2011-Q4")] == ("legacy_stock", "overdue", date(2012, 1, 15), 345_000)
    # every file is a debt file for escalation; the incident is recorded as the CACM's
    assert incidents == [
        ("2011-Q4", "unpaid_at_due_date"),
        ("2012-06", "cacm_payment_incident"),
        ("2012-06", "unpaid_at_due_date"),
        ("2012-10", "unpaid_at_due_date"),
    ]


def test_an_enforced_piece_goes_on_from_its_enforcement_order(stock):
    """The CACM's enforced collection is continued, not restarted: the next step of the enforced
    file is the hand-over to the bailiff, while amicable files start with a reminder."""
    from recouvrement.adapters.db.collection_tables import collection_step
    from recouvrement.adapters.db.limitation_tables import limitation_event
    from recouvrement.services import escalation

    world, garage, btp = stock
    legacy_stock.import_legacy_file(world.engine, SYSTEM, CSV, "cacm.csv", TODAY)
    with world.engine.connect() as conn:
        step = conn.execute(select(collection_step)).one()
        event = conn.execute(select(limitation_event)).one()
        due, _left = escalation.due_files(conn, escalation.load_rules(), date(2014, 1, 2))
    assert (step.contributor_id, step.period, step.step) == (btp, "2011-Q4", "enforcement_order")
    assert step.reached_on == date(2012, 6, 1) and step.amount == 345_000
    assert (event.period, event.event, event.on) == (
        "2011-Q4",
        "enforcement_order",
        date(2012, 6, 1),
    )
    nexts = {(f.contributor_id, f.period): f.step.code for f in due}
    assert nexts == {
        (btp, "2011-Q4"): "bailiff_handover",
        (btp, "2012-06"): "reminder",
        (garage, "2012-10"): "reminder",
    }


def test_reimport_changes_nothing_and_pieces_already_taken_are_counted(stock):
    world, garage, _btp = stock
    legacy_stock.import_legacy_file(world.engine, SYSTEM, CSV, "cacm.csv", TODAY)
    before = _entries(world.engine)
    again = legacy_stock.import_legacy_file(world.engine, SYSTEM, CSV, "cacm.csv", TODAY)
    assert again["status"] == "already_imported" and _entries(world.engine) == before
    other = legacy_stock.import_legacy_file(world.engine, SYSTEM, JSONL, "cacm.jsonl", TODAY)
    assert (other["applied"], other["already_applied"], other["rejected"]) == (0, 4, 1)
    assert other["rejects"][0]["code"] == "duplicate_piece"
    assert other["reconciled"] is False and other["difference"] == -1_200
    assert _entries(world.engine) == before
    assert ledger.balance(world.engine, SYSTEM, garage) == 249_600


def test_a_malformed_file_applies_nothing(stock):
    world, _garage, _btp = stock
    truncated = (FIXTURES / "cacm-stock-truncated.csv").read_bytes()
    with pytest.raises(DomainError, match="annonce 9 pièces"):
        legacy_stock.import_legacy_file(world.engine, SYSTEM, truncated, "t.csv", TODAY)
    no_date = CSV.replace(b"stock_date=2012-12-31;", b"")
    with pytest.raises(DomainError, match="stock_date obligatoire"):
        legacy_stock.import_legacy_file(world.engine, SYSTEM, no_date, "t.csv", TODAY)
    wrong_date = CSV.replace(b"stock_date=2012-12-31", b"stock_date=2013-12-31")
    with pytest.raises(DomainError, match="31/12/2012"):
        legacy_stock.import_legacy_file(world.engine, SYSTEM, wrong_date, "t.csv", TODAY)
    with pytest.raises(DomainError, match="colonnes obligatoires absentes : siren"):
        legacy_stock.import_legacy_file(
            world.engine, SYSTEM, CSV.replace(b"siren;siret", b"sirene;siret"), "t.csv", TODAY
        )
    with pytest.raises(DomainError, match="UTF-8"):
        legacy_stock.import_legacy_file(world.engine, SYSTEM, b"\xff\xfe", "t.csv", TODAY)
    assert _entries(world.engine) == 0
    reader = Actor("lecteur", None, None, frozenset({Role.AUDITOR}))
    with pytest.raises(Forbidden):
        legacy_stock.import_legacy_file(world.engine, reader, CSV, "t.csv", TODAY)


def test_surcharges_run_from_the_stock_date_at_the_old_scale(stock):
    """Nothing the CACM counted is charged again; from the stock date the 2008–2017 scale of the
    debt's period (0.4 % a month) applies, not 2018's 0.2 %, and no new initial 5 %."""
    world, _garage, _btp = stock
    legacy_stock.import_legacy_file(world.engine, SYSTEM, CSV, "cacm.csv", TODAY)
    report = surcharges_step(world.engine, date(2013, 1, 20))
    assert report.amounts.get("surcharge_initial_posted", 0) == 0
    # 15 January 2013: 0.4 % of 1,500 + 900 (garage), 3,000 and 1,200 (btp)
    assert report.amounts["surcharge_additional_posted"] == 600 + 360 + 1_200 + 480
    with world.engine.connect() as conn:
        values = set(
            conn.scalars(
                select(journal_posting.c.value_date).where(
                    journal_posting.c.item == "surcharge_additional"
                )
            )
        )
    assert values == {date(2013, 1, 16)}


def test_a_bank_receipt_pays_the_oldest_legacy_principal_and_the_report_shows_it(stock):
    world, _garage, btp = stock
    legacy_stock.import_legacy_file(world.engine, world.cssm_agent, CSV, "cacm.csv", TODAY)
    statement = (
        "bank_reference,booking_date,value_date,amount,currency,debtor_name,debtor_iban,reference\n"
        f"VIR-CACM-1,2013-04-02,2013-04-02,1000.00,EUR,BTP de Koungou,,{account_reference(btp)}\n"
    ).encode()
    receipts.import_statement(world.engine, SYSTEM, statement, file_format="csv", file_name="r.csv")
    # the oldest due principal first (2011-Q4, due 15 January 2012), before any surcharge
    assert (
        ledger.balance(world.engine, SYSTEM, btp, item="unemployment_employer", period="2011-Q4")
        == 200_000
    )
    assert ledger.balance(world.engine, SYSTEM, btp, item="surcharge_legacy") == 45_000
    report = legacy_stock.stock_report(world.engine, world.cssm_agent)
    assert report["taken_over"] == {"principal": 660_000, "surcharges": 54_600}
    assert report["outstanding"] == {"principal": 560_000, "surcharges": 54_600}
    assert report["settled_principal"] == 100_000
    assert report["by_status"]["enforced"] == {
        "pieces": 1,
        "principal": 300_000,
        "surcharges": 45_000,
    }
    text = "\n".join(legacy_stock.format_report(report))
    assert "principal soldé 1 000,00 €" in text.replace("\u202f", " ").replace("\xa0", " ")
    # an agent of another organisation sees nothing of the CSSM's stock
    outsider = legacy_stock.stock_report(world.engine, world.outsider)
    assert outsider["taken_over"] == {"principal": 0, "surcharges": 0}


def test_command_line_import_and_report(stock, database_url, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app

    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()
    path = tmp_path / "cacm.csv"
    path.write_bytes(CSV)
    first = runner.invoke(app, ["legacy", "import", str(path), "--date", "2013-03-20"])
    assert first.exit_code == 1, first.output  # two lines rejected
    assert "4 appliquée(s)" in first.output and "rapproché" in first.output
    assert "ligne 7 · siren" in first.output and "hors de Mayotte" in first.output
    again = runner.invoke(app, ["legacy", "import", str(path)])
    assert "déjà importé" in again.output
    bad = tmp_path / "tronque.csv"
    bad.write_bytes((FIXTURES / "cacm-stock-truncated.csv").read_bytes())
    refused = runner.invoke(app, ["legacy", "import", str(bad)])
    assert refused.exit_code == 2 and "Rien n'est appliqué" in refused.output
    report = runner.invoke(app, ["legacy", "report"])
    assert report.exit_code == 0, report.output
    assert "contentieux : 1 pièce(s)" in report.output


OVERPAID = (
    b"#stock_date=2012-12-31;control_total=300.00\n"
    b"siren;period;item;principal;piece_reference;piece_date;status;status_date\n"
    b"732829320;2012-06;unemployment_employer;300.00;CACM-2012-0100;2012-07-20;overpaid;2012-07-10\n"
)


def test_an_overpayment_cashed_by_the_cacm_is_refundable_from_the_amendment(stock):
    """Art. 3.2.1: the CSSM refunds what the CACM cashed for periods before 2013, within the
    legal limitation (three years from the payment, L243-6), once the amendment is signed."""
    from recouvrement.services import refund_credits

    world, garage, _btp = stock
    report = legacy_stock.import_legacy_file(world.engine, SYSTEM, OVERPAID, "tv.csv", TODAY)
    assert (report["applied"], report["reconciled"]) == (1, True)
    assert ledger.balance(world.engine, SYSTEM, garage, item="credit") == -30_000
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(call)) == 0  # a credit has no call
        with pytest.raises(DomainError) as before:  # before the amendment: not the CSSM's
            refund_credits.check_amount(conn, garage, "976", 30_000, date(2013, 11, 4))
        with pytest.raises(DomainError) as late:  # three years after the CACM cashed it
            refund_credits.check_amount(conn, garage, "976", 30_000, date(2015, 7, 11))
        figures = refund_credits.check_amount(conn, garage, "976", 30_000, date(2014, 3, 3))
    assert figures  # refundable: after the amendment, within three years of the payment
    assert [p.code for p in (*before.value.problems, *late.value.problems)] == ["time_barred"] * 2
    assert legacy_stock.stock_report(world.engine, SYSTEM)["credits_taken_over"] == 30_000
