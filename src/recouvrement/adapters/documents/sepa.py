"""SEPA credit transfer files (pain.001.001.03) for the transfers to the beneficiary funds.

The file is built with sepaxml and validated against the pain.001.001.03 schema it ships, so a file
the bank would reject never leaves the platform; the IBAN and BIC of both accounts are checked with
schwifty first, naming the account at fault. The message identifier is the transfer's own, not a
random one, so the bank's acknowledgement can be matched to the transfer.
"""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer
from sepaxml.validation import ValidationError

from recouvrement.domain.errors import DomainError

SCHEMA = "pain.001.001.03"
# Characters of the SEPA Latin subset (EPC guidelines) allowed in identifiers, at most 35 of them.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")


class BankAccount(NamedTuple):
    """An account of an annex.

    Attributes:
        annex: the annex it comes from (annex_1…), for error messages.
        holder: the account holder's name.
        iban: the IBAN, validated.
        bic: the BIC of the holder's bank, validated.
    """

    annex: str
    holder: str
    iban: str
    bic: str


def bank_account(annex: str, content: object) -> BankAccount:
    """An annex's bank details, checked: IBAN checksum and BIC format (schwifty), and a BIC of the
    same country as the IBAN."""
    if not isinstance(content, dict):
        raise DomainError.single(annex, "l'annexe ne donne pas de coordonnées bancaires")
    try:
        iban = IBAN(str(content.get("iban", "")))
    except SchwiftyException as err:
        raise DomainError.single(f"{annex}.iban", f"IBAN invalide ({err})", "bad_iban") from None
    try:
        bic = BIC(str(content.get("bic", "")))
    except SchwiftyException as err:
        raise DomainError.single(f"{annex}.bic", f"BIC invalide ({err})", "bad_bic") from None
    if bic.country_code != iban.country_code:
        raise DomainError.single(
            f"{annex}.bic",
            f"le BIC {bic} n'est pas du pays de l'IBAN ({iban.country_code})",
            "bad_bic",
        )
    holder = str(content.get("holder") or content.get("title") or "").strip()
    if not holder:
        raise DomainError.single(f"{annex}.holder", "titulaire du compte manquant")
    return BankAccount(annex, holder, str(iban.compact), str(bic.compact))


class _Transfer(SepaTransfer):
    """sepaxml draws a random message identifier; ours is the transfer's."""

    def __init__(self, config: dict, message_id: str):
        self._message_id = message_id
        super().__init__(config, schema=SCHEMA)

    def _create_header(self) -> None:
        self.msg_id = self._message_id
        super()._create_header()


def credit_transfer_file(
    *,
    debtor: BankAccount,
    creditor: BankAccount,
    amount: int,
    execution_date: date,
    message_id: str,
    remittance: str,
) -> bytes:
    """One credit transfer, as a schema-valid pain.001.001.03 document (UTF-8 bytes)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise DomainError.single("amount", "montant en centimes strictement positif attendu")
    if not _IDENTIFIER.match(message_id):
        raise DomainError.single(
            "message_id", "identifiant SEPA : 1 à 35 caractères A-Z, 0-9, / - ? : ( ) . , ' +"
        )
    sepa = _Transfer(
        {
            "name": debtor.holder,
            "IBAN": debtor.iban,
            "BIC": debtor.bic,
            "batch": False,
            "currency": "EUR",
        },
        message_id,
    )
    sepa.add_payment(
        {
            "name": creditor.holder,
            "IBAN": creditor.iban,
            "BIC": creditor.bic,
            "amount": amount,
            "execution_date": execution_date,
            "description": remittance,
            "endtoend_id": message_id,
        }
    )
    try:
        return sepa.export(validate=True)
    except ValidationError as err:
        raise DomainError.single(
            "sepa", f"fichier de virement non conforme au schéma {SCHEMA} ({err.__cause__})"
        ) from None
