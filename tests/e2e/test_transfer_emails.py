"""The transfer e-mails reach a real SMTP server on loopback, in French, with the figures and the
reference of the SEPA file; each is recorded as sent once, and late ones say so."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from recouvrement.adapters.documents import email
from recouvrement.domain.errors import DomainError
from recouvrement.services import authentication, transfer_dispatch, transfers
from recouvrement.services.audit import events
from tests.integration.conftest import SYSTEM, build_world

pytestmark = pytest.mark.e2e

RECIPIENTS = [
    "tresorerie@unedic.example",
    "conventions@unedic.example",
    "agence-comptable@acoss.example",
    "finances@pole-emploi.example",
]


class Inbox:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def officer(engine):
    build_world(engine)
    authentication.create_agent(
        engine, SYSTEM, "comptable.acoss", "Agent comptable", "URSSAF-REG", ["accounting_officer"]
    )
    return authentication.actor_for_login(engine, "comptable.acoss")


def received_message(envelope):
    return message_from_bytes(envelope.content, policy=policy.default)


def test_the_2013_advance_is_filed_then_announced_by_email(engine, officer, smtp):
    inbox, port = smtp
    send = lambda msg: email.send(msg, "127.0.0.1", port)  # noqa: E731
    transfers.record_fund_notification(
        engine,
        officer,
        amount=1_234_567_89,
        notified_on=date(2013, 5, 15),
        notified_by="Direction financière de l'Unédic",
        channel="letter_and_email",
    )
    advance = transfers.plan_advance(engine, officer, 2013)
    with pytest.raises(DomainError) as err:  # the e-mail quotes the file: file first
        transfer_dispatch.announce_transfer(
            engine, officer, advance["id"], now=datetime(2013, 6, 26, 9, tzinfo=UTC), send=send
        )
    assert err.value.problems[0].code == "file_missing"
    assert inbox.received == []

    issued, xml = transfer_dispatch.issue_transfer_file(engine, officer, advance["id"])
    assert issued["message_id"] == "UNEDIC-MAYOTTE-2013-ADVANCE"
    assert b"<MsgId>UNEDIC-MAYOTTE-2013-ADVANCE</MsgId>" in xml
    with pytest.raises(DomainError):  # issued once
        transfer_dispatch.issue_transfer_file(engine, officer, advance["id"])

    sent = transfer_dispatch.announce_transfer(
        engine, officer, advance["id"], now=datetime(2013, 6, 27, 9, tzinfo=UTC), send=send
    )
    assert sent["late"] is False
    assert len(inbox.received) == 1
    envelope = inbox.received[0]
    assert envelope.mail_from == "agence-comptable@acoss.example"
    assert sorted(envelope.rcpt_tos) == sorted(RECIPIENTS)
    msg = received_message(envelope)
    assert msg["Subject"] == "Annonce du versement de l'acompte annuel 2013"
    text = msg.get_content()
    assert (
        "L'Acoss versera le 28/06/2013 l'acompte annuel 2013 de 1\u202f234\u202f567,89 €." in text
    )
    assert "Référence du virement SEPA : UNEDIC-MAYOTTE-2013-ADVANCE" in text
    assert "FR76 **** 0189" in text and "FR7630006000011234567890189" not in text
    assert "art. 5.1" in text

    # sent once: asking again sends nothing more
    transfer_dispatch.announce_transfer(
        engine, officer, advance["id"], now=datetime(2013, 6, 27, 10, tzinfo=UTC), send=send
    )
    assert len(inbox.received) == 1
    announced = [
        e
        for e in events(engine, object_type="transfer")
        if e["action"] == "transfer.announce" and e["outcome"] == "done"
    ]
    assert len(announced) == 1 and announced[0]["detail"]["message_id"] == msg["Message-ID"]


def test_a_late_announcement_is_sent_and_flagged(engine, officer, smtp):
    inbox, port = smtp
    advance = transfers.plan_advance(engine, officer, 2014, 2_000_000_00)
    transfer_dispatch.issue_transfer_file(engine, officer, advance["id"])
    # the deadline is 27 June 2014 16:30 in Paris, i.e. 14:30 UTC
    sent = transfer_dispatch.announce_transfer(
        engine,
        officer,
        advance["id"],
        now=datetime(2014, 6, 27, 14, 30, tzinfo=UTC),
        send=lambda msg: email.send(msg, "127.0.0.1", port),
    )
    assert sent["late"] is True and len(inbox.received) == 1
    assert events(engine, object_type="transfer")[0]["detail"]["late"] is True


def test_an_overpayment_is_asked_back_by_email_without_a_file(engine, officer, smtp):
    inbox, port = smtp
    transfers.plan_advance(engine, officer, 2015, 3_000_000_00)
    transfers.record_accounts_closing(engine, officer, 2015, date(2016, 2, 5))
    overpaid = transfers.plan_regularisation(engine, officer, 2015, 2_875_000_50)
    with pytest.raises(DomainError) as err:
        transfer_dispatch.issue_transfer_file(engine, officer, overpaid["id"])
    assert err.value.problems[0].code == "not_paid_by_agency"
    transfer_dispatch.announce_transfer(
        engine,
        officer,
        overpaid["id"],
        now=datetime(2016, 2, 8, 9, tzinfo=UTC),
        send=lambda msg: email.send(msg, "127.0.0.1", port),
    )
    msg = received_message(inbox.received[0])
    assert msg["Subject"] == "Régularisation 2015 : demande de remboursement du trop versé"
    text = msg.get_content()
    assert "trop versé de 124\u202f999,50 €" in text
    assert "au plus tard le 19/02/2016" in text
    assert "Acoss (FR76 **** 0129)" in text
    assert "Référence du virement SEPA" not in text


def test_nothing_is_recorded_as_sent_when_the_smtp_server_refuses(engine, officer):
    advance = transfers.plan_advance(engine, officer, 2016, 100_00)
    transfer_dispatch.issue_transfer_file(engine, officer, advance["id"])
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(DomainError) as err:
        transfer_dispatch.announce_transfer(
            engine,
            officer,
            advance["id"],
            now=datetime(2016, 6, 28, 9, tzinfo=UTC),
            send=lambda msg: email.send(msg, "127.0.0.1", closed_port),
        )
    assert err.value.problems[0].code == "send_failed"
    announced = [e for e in events(engine) if e["action"] == "transfer.announce"]
    assert [e["outcome"] for e in announced] == ["refused"]
    assert transfer_dispatch._load(engine, advance["id"])["status"] == "file_issued"
