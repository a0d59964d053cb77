"""pain.001.001.03 files: the figures and accounts go where the bank reads them, the schema holds,
and bad bank details are refused naming the annex."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
import sepaxml
import xmlschema

from recouvrement.adapters.documents.sepa import bank_account, credit_transfer_file
from recouvrement.agreements.loader import shipped_agreements
from recouvrement.domain.errors import DomainError

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"


@pytest.fixture(scope="module")
def annexes():
    resolved = shipped_agreements().resolve("unedic-mayotte")
    return {name: content for name, (content, _origin) in resolved.annexes.items()}


def test_an_advance_file_carries_the_amount_accounts_day_and_reference(annexes):
    xml = credit_transfer_file(
        debtor=bank_account("annex_2", annexes["annex_2"]),
        creditor=bank_account("annex_1", annexes["annex_1"]),
        amount=1_234_567_89,
        execution_date=date(2013, 6, 28),
        message_id="UNEDIC-MAYOTTE-2013-ADVANCE",
        remittance="Reversement assurance chômage Mayotte - acompte annuel 2013",
    )
    xmlschema.XMLSchema(str(XSD)).validate(xml.decode())  # independent of the builder's check
    root = ET.fromstring(xml)
    text = lambda path: root.find(path, NS).text  # noqa: E731
    assert text(".//p:GrpHdr/p:MsgId") == "UNEDIC-MAYOTTE-2013-ADVANCE"
    assert text(".//p:GrpHdr/p:NbOfTxs") == "1"
    assert text(".//p:GrpHdr/p:CtrlSum") == "1234567.89"
    assert text(".//p:ReqdExctnDt") == "2013-06-28"
    assert text(".//p:DbtrAcct/p:Id/p:IBAN") == "FR7610107001011234567890129"
    assert text(".//p:CdtrAcct/p:Id/p:IBAN") == "FR7630006000011234567890189"
    assert text(".//p:CdtrAgt/p:FinInstnId/p:BIC") == "AGRIFRPPXXX"
    assert text(".//p:InstdAmt") == "1234567.89"
    assert root.find(".//p:InstdAmt", NS).get("Ccy") == "EUR"
    assert text(".//p:EndToEndId") == "UNEDIC-MAYOTTE-2013-ADVANCE"
    assert text(".//p:Cdtr/p:Nm") == "Unedic"  # SEPA's Latin subset: accents transliterated


@pytest.mark.parametrize(
    "content, field",
    [
        (
            {"holder": "Unédic", "iban": "FR7630006000011234567890180", "bic": "AGRIFRPPXXX"},
            "x.iban",
        ),
        (
            {"holder": "Unédic", "iban": "FR7630006000011234567890189", "bic": "AGRIFR"},
            "x.bic",
        ),
        (
            {"holder": "Unédic", "iban": "FR7630006000011234567890189", "bic": "DEUTDEFFXXX"},
            "x.bic",
        ),
        ({"holder": " ", "iban": "FR7630006000011234567890189", "bic": "AGRIFRPPXXX"}, "x.holder"),
    ],
)
def test_bad_bank_details_are_refused_naming_the_annex(content, field):
    with pytest.raises(DomainError) as err:
        bank_account("x", content)
    assert err.value.problems[0].field == field


@pytest.mark.parametrize(
    "over, field",
    [
        ({"amount": 0}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"message_id": "é" * 3}, "message_id"),
    ],
)
def test_bad_transfers_are_refused(annexes, over, field):
    args = {
        "debtor": bank_account("annex_2", annexes["annex_2"]),
        "creditor": bank_account("annex_1", annexes["annex_1"]),
        "amount": 100,
        "execution_date": date(2014, 6, 30),
        "message_id": "M-1",
        "remittance": "test",
    } | over
    with pytest.raises(DomainError) as err:
        credit_transfer_file(**args)
    assert err.value.problems[0].field == field
