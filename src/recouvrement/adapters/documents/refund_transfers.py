"""The accounting officer's SEPA credit transfer file for refunds (pain.001.001.03).

One file pays one or many approved refunds from the collector's disbursement account, in one
batch; each payment's end-to-end identifier names its refund case, so a bank return points to the
case. Like the transfers' files (sepa.py), the file is built with sepaxml and validated against the
schema it ships before it leaves the platform.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from sepaxml import SepaTransfer
from sepaxml.validation import ValidationError

from recouvrement.adapters.documents.sepa import SCHEMA, BankAccount
from recouvrement.domain.errors import DomainError

_IDENTIFIER = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")


class RefundPayment(NamedTuple):
    """One refund to pay.

    Attributes:
        end_to_end_id: the refund's identifier in the file (e.g. ``RMB-42``), quoted back by the bank.
        holder, iban, bic: the contributor's account, already checked.
        amount: cents, positive.
        remittance: the French text the contributor reads on their statement.
    """

    end_to_end_id: str
    holder: str
    iban: str
    bic: str
    amount: int
    remittance: str


class _Transfer(SepaTransfer):
    """sepaxml draws a random message identifier; ours is the file's."""

    def __init__(self, config: dict, message_id: str):
        self._message_id = message_id
        super().__init__(config, schema=SCHEMA)

    def _create_header(self) -> None:
        self.msg_id = self._message_id
        super()._create_header()


def refund_transfer_file(
    *,
    debtor: BankAccount,
    payments: Sequence[RefundPayment],
    execution_date: date,
    message_id: str,
) -> bytes:
    """The schema-valid pain.001.001.03 document (UTF-8 bytes) paying every refund given."""
    if not payments:
        raise DomainError.single("case_ids", "aucun remboursement à payer", "required")
    for name in (message_id, *(p.end_to_end_id for p in payments)):
        if not _IDENTIFIER.match(name):
            raise DomainError.single(
                "message_id", f"identifiant SEPA invalide : {name!r} (1 à 35 caractères)"
            )
    sepa = _Transfer(
        {
            "name": debtor.holder,
            "IBAN": debtor.iban,
            "BIC": debtor.bic,
            "batch": True,
            "currency": "EUR",
        },
        message_id,
    )
    for p in payments:
        if isinstance(p.amount, bool) or not isinstance(p.amount, int) or p.amount <= 0:
            raise DomainError.single("amount", "montant en centimes strictement positif attendu")
        sepa.add_payment(
            {
                "name": p.holder,
                "IBAN": p.iban,
                "BIC": p.bic,
                "amount": p.amount,
                "execution_date": execution_date,
                "description": p.remittance[:140],
                "endtoend_id": p.end_to_end_id,
            }
        )
    try:
        return sepa.export(validate=True)
    except ValidationError as err:
        raise DomainError.single(
            "sepa", f"fichier de virement non conforme au schéma {SCHEMA} ({err.__cause__})"
        ) from None
