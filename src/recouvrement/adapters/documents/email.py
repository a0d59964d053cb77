"""E-mails about the transfers to a beneficiary fund, in French, sent over SMTP.

The amendment makes e-mail the channel of record (art. 5.1: « annonce le jour ouvré précédent
avant 16h30 par mail »; art. 5.2: « L'information du versement parviendra à l'Unédic par mail aux
destinataires prévus en annexe 3 »), so each message carries the figures and the reference of the
bank file, and its Message-ID is kept in the audit trail.
"""

from __future__ import annotations

import os
import smtplib
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import NamedTuple

from recouvrement.domain.money import format_euros_fr

SUBJECTS = {
    ("advance", "payment"): "Annonce du versement de l'acompte annuel {year}",
    ("regularisation", "owed"): "Annonce du versement du complément de régularisation {year}",
    (
        "regularisation",
        "overpaid",
    ): "Régularisation {year} : demande de remboursement du trop versé",
    ("regularisation", "settled"): "Régularisation {year} : acompte égal aux encaissements",
}


class Notice(NamedTuple):
    """What a transfer e-mail says.

    Attributes:
        agreement_title: the agreement the transfer follows.
        article: its article.
        year: the year N.
        kind: advance or regularisation.
        direction: payment, owed, overpaid or settled.
        amount: cents.
        value_date: the day the money moves (or must move, for an overpayment).
        basis: how the amount was reached, in French.
        account_holder: holder of the account credited.
        iban: that account's IBAN.
        file_reference: message identifier of the SEPA file, when the platform issued one.
    """

    agreement_title: str
    article: str
    year: int
    kind: str
    direction: str
    amount: int
    value_date: date
    basis: str
    account_holder: str | None
    iban: str | None
    file_reference: str | None


def _masked(iban: str) -> str:
    """An e-mail is not a safe place for a full account number: the end identifies it enough."""
    return f"{iban[:4]} **** {iban[-4:]}"


def body(notice: Notice) -> str:
    euros = format_euros_fr(notice.amount)
    day = notice.value_date.strftime("%d/%m/%Y")
    if notice.direction == "payment":
        what = f"L'Acoss versera le {day} l'acompte annuel {notice.year} de {euros}."
    elif notice.direction == "owed":
        what = (
            f"La régularisation {notice.year} fait apparaître un dû de {euros} : l'Acoss versera "
            f"ce complément le {day}."
        )
    elif notice.direction == "overpaid":
        what = (
            f"La régularisation {notice.year} fait apparaître un trop versé de {euros} : l'Unédic "
            f"est priée de le rembourser par virement au plus tard le {day}."
        )
    else:
        what = (
            f"La régularisation {notice.year} est nulle : l'acompte est égal aux encaissements "
            "définitifs, aucun virement n'est dû."
        )
    lines = [
        "Madame, Monsieur,",
        "",
        what,
        "",
        f"Montant : {euros}",
        f"Base : {notice.basis}",
    ]
    if notice.iban:
        lines.append(f"Compte crédité : {notice.account_holder} ({_masked(notice.iban)})")
    if notice.file_reference:
        lines.append(f"Référence du virement SEPA : {notice.file_reference}")
    lines += [
        "",
        f"Fondement : {notice.agreement_title}, {notice.article}.",
        "",
        "Ce message est envoyé automatiquement par la plateforme de recouvrement.",
    ]
    return "\n".join(lines) + "\n"


def message(
    notice: Notice, *, sender: str, recipients: tuple[str, ...], sent_at: datetime
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = SUBJECTS[notice.kind, notice.direction].format(year=notice.year)
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    msg.set_content(body(notice))
    return msg


def smtp_server() -> tuple[str, int]:
    """RECOUVREMENT_SMTP_HOST and RECOUVREMENT_SMTP_PORT, localhost:25 by default."""
    host = os.environ.get("RECOUVREMENT_SMTP_HOST", "localhost").strip() or "localhost"
    return host, int(os.environ.get("RECOUVREMENT_SMTP_PORT", "25"))


def send(msg: EmailMessage, host: str | None = None, port: int | None = None) -> None:
    """Hand the message to the SMTP server; an error propagates so nothing is marked as sent."""
    default_host, default_port = smtp_server()
    with smtplib.SMTP(host or default_host, port or default_port, timeout=30) as smtp:
        smtp.send_message(msg)
