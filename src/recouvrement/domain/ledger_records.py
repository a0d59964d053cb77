"""Entries written as records (a JSON line, an API body): amounts in euros, one side per line.

Each line says `debit` or `credit` with a positive amount in euros written as text, so a negative
amount, a float or a fraction of a cent is refused with a message naming the line, never rounded.
"""

from __future__ import annotations

import contextlib
from datetime import date

from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.ledger import Entry, Posting, validate_entry
from recouvrement.domain.money import parse_euros


def entry_from_record(record: object) -> Entry:
    """An Entry from a mapping, every problem named with its field; raises DomainError."""
    if not isinstance(record, dict):
        raise DomainError.single("", "une écriture est un objet JSON", "bad_record")
    problems: list[Problem] = []
    value_date = None
    raw_date = record.get("value_date")
    with contextlib.suppress(ValueError):
        value_date = date.fromisoformat(raw_date) if isinstance(raw_date, str) else None
    if value_date is None:
        problems.append(
            Problem(
                "value_date", f"date de valeur invalide : {raw_date!r} (AAAA-MM-JJ)", "bad_date"
            )
        )
    postings: list[Posting] = []
    lines = record.get("postings")
    if not isinstance(lines, list):
        problems.append(Problem("postings", "liste de lignes manquante", "required"))
        lines = []
    for i, line in enumerate(lines):
        where = f"postings[{i}]"
        if not isinstance(line, dict):
            problems.append(Problem(where, "une ligne est un objet JSON", "bad_posting"))
            continue
        sides = [s for s in ("debit", "credit") if line.get(s) is not None]
        if len(sides) != 1:
            problems.append(
                Problem(where, "chaque ligne a soit un débit, soit un crédit", "bad_side")
            )
            continue
        side = sides[0]
        try:
            cents = parse_euros(line[side], f"{where}.{side}")
        except DomainError as err:
            problems.extend(err.problems)
            continue
        if cents == 0:
            problems.append(Problem(f"{where}.{side}", "ligne à montant nul", "zero_amount"))
            continue
        cid = line.get("contributor_id")
        postings.append(
            Posting(
                ledger_account=line.get("account", line.get("ledger_account")),
                contributor_id=cid,
                fund=line.get("fund", ""),
                item=line.get("item", ""),
                period=line.get("period", ""),
                amount=cents if side == "debit" else -cents,
            )
        )
    if problems:
        raise DomainError(*problems)
    return validate_entry(
        Entry(
            idempotency_key=record.get("key", record.get("idempotency_key")),
            value_date=value_date,
            cause=record.get("cause"),
            postings=tuple(postings),
            description=record.get("description", ""),
            reverses=record.get("reverses"),
        )
    )
