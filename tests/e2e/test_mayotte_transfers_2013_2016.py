"""The Mayotte years 2013 → 2016, day by day through the daily cycle: declarations, calls and bank
receipts; the 2012 notification; each advance planned, filed and announced on its day; each closing
followed by its regularisation; e-mails received by a real SMTP server; SEPA files valid against
the pain.001 schema; every amount and date checked against the receipts the test itself paid.

The Mayotte social-security ceiling of 2012-2016 is a documented gap in the shipped law data, so the
declarations here are assessed with a test overlay of that ceiling (test data, not law): the
transfers only need the receipts, whatever the ceiling that produced them.
"""

from __future__ import annotations

import shutil
import socket
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sepaxml
import xmlschema
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.transfer_tables import transfer
from recouvrement.domain.actors import system_actor
from recouvrement.domain.contributors import ContributorDraft, ContributorKind, Establishment
from recouvrement.domain.money import format_euros_fr
from recouvrement.rules import parameters as rules
from recouvrement.services import (
    contributors,
    fund_accounts,
    payroll,
    receipts,
    transfer_dispatch,
    transfer_steps,
    transfers,
)
from recouvrement.services.daily_cycle import run_day
from recouvrement.services.ledger_check import check_ledger
from tests.integration.conftest import SYSTEM, build_world

pytestmark = pytest.mark.e2e

PARIS = ZoneInfo("Europe/Paris")
XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
NOTIFIED = 100_000  # 1,000.00 € of 2012 receipts notified by Unédic
CLOSINGS = {2013: date(2014, 2, 7), 2014: date(2015, 2, 6), 2015: date(2016, 2, 5)}
REGULARISATION_DUE = {2013: date(2014, 2, 21), 2014: date(2015, 2, 20), 2015: date(2016, 2, 19)}
ADVANCE_DAY = {
    2013: date(2013, 6, 28),  # 30 June 2013 is a Sunday
    2014: date(2014, 6, 30),
    2015: date(2015, 6, 30),
    2016: date(2016, 6, 30),
}
LAST_DAY = date(2016, 7, 1)
STAFF = {
    "73282932000017": [("180017512345660", "1000.00"), ("283027512345673", "1500.00")],
    "00000902700012": [("176047512345613", "1200.00")],
}
STOPS_PAYING_AFTER = {"00000902700012": date(2014, 6, 30)}  # calls due later stay unpaid


class Inbox:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("RECOUVREMENT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RECOUVREMENT_SMTP_PORT", str(port))
    # the cycle of each simulated day runs at 09:00, Paris time
    monkeypatch.setattr(
        transfer_steps, "clock", lambda day: datetime.combine(day, time(9), tzinfo=PARIS)
    )
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def ceiling_overlay(tmp_path, monkeypatch):
    """The shipped parameters with the 2012-2016 Mayotte ceiling gap filled by test figures."""
    target = tmp_path / "parameters"
    shutil.copytree(rules.PARAMETERS_DIR, target)
    path = target / "social_security_ceiling.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    values = data["parameters"]["social_security_ceiling.monthly"]["values"]
    gap = next(v for v in values if v.get("territory") == "976" and v.get("gap"))
    index = values.index(gap)
    values[index : index + 1] = [
        {
            "from": f"{year}-01-01",
            "to": f"{year}-12-31",
            "territory": "976",
            "value": str(value),
            "source": "donnée de test (lacune documentée des paramètres livrés)",
        }
        for year, value in ((2012, 1157), (2013, 1238), (2014, 1319), (2015, 1404), (2016, 1498))
    ]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    overlay = rules.load_directory(target)
    monkeypatch.setattr(payroll, "load_parameters", lambda: overlay)


def _employers(engine) -> dict[str, int]:
    ids = {}
    for n, siret in enumerate(STAFF):
        draft = ContributorDraft(
            kind=ContributorKind.EMPLOYER,
            name=f"Employeur mahorais {n + 1}",
            territory="976",
            organisation_code="CSSM",
            siren=siret[:9],
            establishments=(Establishment(siret, "976", "Mamoudzou"),),
        )
        ids[siret] = contributors.create_contributor(engine, SYSTEM, draft, date(2012, 12, 1))["id"]
    return ids


def _declare(engine, agent, day: date) -> None:
    """On the 5th, each employer declares the previous month."""
    if day.day != 5 or day < date(2013, 2, 1):  # the CSSM collects from January 2013
        return
    month_end = day.replace(day=1) - timedelta(days=1)
    period = f"{month_end.year:04d}-{month_end.month:02d}"
    for siret, staff in STAFF.items():
        lines = [{"nir": nir, "birth_date": "1980-01-01", "gross_pay": pay} for nir, pay in staff]
        payroll.declare(engine, agent, siret, period, lines, day)


def _pay(engine, day: date, ids: dict[str, int], paid: dict[int, int], tmp: Path) -> None:
    """Each call due today is paid in full by bank transfer, with its reference."""
    by_contributor = {cid: siret for siret, cid in ids.items()}
    with engine.connect() as conn:
        due = conn.execute(
            select(call.c.id, call.c.contributor_id, call.c.reference, call.c.amount).where(
                call.c.due_date == day
            )
        ).all()
    rows = []
    for row in due:
        stop = STOPS_PAYING_AFTER.get(by_contributor[row.contributor_id])
        if (stop and day > stop) or row.amount <= 0:
            continue
        euros = f"{row.amount // 100}.{row.amount % 100:02d}"
        rows.append(f"VIR-{row.id},{day},{day},{euros},EUR,Employeur,,{row.reference}")
        paid[day.year] += row.amount
    if rows:
        statement = tmp / f"releve-{day}.csv"
        header = "bank_reference,booking_date,value_date,amount,currency,debtor_name,debtor_iban,reference"
        statement.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        report = receipts.import_statement(engine, system_actor("banque"), statement, on=day)
        assert report["suspense"] == 0 and report["rejected"] == 0, report


def _transfers(engine) -> dict[tuple[int, str], dict]:
    with engine.connect() as conn:
        return {(r["year"], r["kind"]): dict(r) for r in conn.execute(select(transfer)).mappings()}


def test_mayotte_2013_to_2016_day_by_day(engine, smtp, ceiling_overlay, tmp_path):
    world = build_world(engine)
    ids = _employers(engine)
    paid: dict[int, int] = defaultdict(int)
    cycle = system_actor("cycle quotidien")
    day = date(2013, 1, 1)
    while day <= LAST_DAY:
        if day == date(2013, 5, 15):
            transfers.record_fund_notification(
                engine,
                SYSTEM,
                amount=NOTIFIED,
                notified_on=day,
                notified_by="Direction financière de l'Unédic",
                channel="letter_and_email",
            )
        for year, closed_on in CLOSINGS.items():
            if day == closed_on:
                transfers.record_accounts_closing(engine, SYSTEM, year, day)
        _declare(engine, world.cssm_agent, day)
        _pay(engine, day, ids, paid, tmp_path)
        run_day(engine, cycle, day)
        day += timedelta(days=1)

    done = _transfers(engine)
    # advances: the notified 2012 receipts, then each year's receipts of the year before
    expected_advance = {2013: NOTIFIED, 2014: paid[2013], 2015: paid[2014], 2016: paid[2015]}
    for year, amount in expected_advance.items():
        advance = done[(year, "advance")]
        assert (advance["amount"], advance["due_on"]) == (amount, ADVANCE_DAY[year]), year
        assert advance["status"] == "announced" and advance["message_id"]
    # regularisations: final receipts less the advance, due 10 business days after the closing
    for year, due_on in REGULARISATION_DUE.items():
        regularisation = done[(year, "regularisation")]
        difference = paid[year] - expected_advance[year]
        direction = "owed" if difference > 0 else "overpaid" if difference < 0 else "settled"
        assert regularisation["direction"] == direction, year
        assert (regularisation["amount"], regularisation["due_on"]) == (abs(difference), due_on)
        assert regularisation["status"] == "announced"
    directions = {done[(y, "regularisation")]["direction"] for y in REGULARISATION_DUE}
    assert {"owed", "overpaid"} <= directions  # the scenario covers both ways

    # the SEPA files: schema-valid, with the amounts and execution dates
    schema = xmlschema.XMLSchema(str(XSD))
    files = [t for t in done.values() if t["message_id"]]
    for row in files:
        _, xml = transfer_dispatch.stored_transfer_file(engine, SYSTEM, row["id"])
        schema.validate(xml.decode())
        text = xml.decode()
        assert f"<CtrlSum>{row['amount'] // 100}.{row['amount'] % 100:02d}</CtrlSum>" in text
        assert f"<ReqdExctnDt>{row['due_on'].isoformat()}</ReqdExctnDt>" in text
    owed = [y for y in REGULARISATION_DUE if done[(y, "regularisation")]["direction"] == "owed"]
    assert {(t["year"], t["kind"]) for t in files} == {
        *((y, "advance") for y in expected_advance),
        *((y, "regularisation") for y in owed),
    }

    # the e-mails: one per transfer, received on time (the business day before, before 16:30)
    messages = [message_from_bytes(e.content, policy=policy.default) for e in smtp.received]
    assert len(messages) == len(done)
    for row in done.values():
        amount = format_euros_fr(row["amount"])
        matching = [m for m in messages if amount in m.get_body(("plain",)).get_content()]
        assert matching, (row["year"], row["kind"], amount)
        sent = matching[0]["Date"].datetime
        if row["message_id"]:
            assert sent < row["announce_before"].astimezone(UTC), (row["year"], row["kind"])

    # the ledger: each transfer posted once; the fund accounts show it; the journal is sound
    for year in (2013, 2014, 2015):
        with engine.connect() as conn:
            assert fund_accounts.fund_receipts(conn, "unedic", year, "976") == paid[year]
    transferred = sum(
        (1 if t["direction"] in ("payment", "owed") else 0) * t["amount"] for t in done.values()
    )
    figures = {
        year: fund_accounts.fund_figures(engine, SYSTEM, year, fund="unedic", territory="976")
        for year in (2013, 2014, 2015, 2016)
    }
    assert sum(f[0]["transferred"] for f in figures.values() if f) == transferred
    assert check_ledger(engine).ok
