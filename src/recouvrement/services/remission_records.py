"""What the remission services read from the account and the journal, and the decision letter.

The surcharge keys' balances and the principal owed come from `account_balance`; the day the
principal of a (fund, period) was fully paid and the day it was declared come from the journal's
postings (the last receivable credit and the first receivable debit of its principal keys): the
declaration's assessment is posted on the declaration day, a receipt on its value date.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.cycle_tables import document
from recouvrement.adapters.db.tables import (
    account_balance,
    contributor,
    journal_posting,
    organisation,
)
from recouvrement.adapters.documents.pdf import render_pdf
from recouvrement.domain.allocation import item_kind
from recouvrement.domain.errors import NotFound
from recouvrement.domain.ledger import LedgerAccount
from recouvrement.services.call_issuing import documents_dir

RECEIVABLE = LedgerAccount.RECEIVABLE.value
LETTER = "remission_decision"


def receivable_balances(conn: Connection, contributor_id: int) -> dict[tuple[str, str, str], int]:
    rows = conn.execute(
        select(
            account_balance.c.fund,
            account_balance.c.item,
            account_balance.c.period,
            account_balance.c.balance,
        ).where(
            account_balance.c.contributor_id == contributor_id,
            account_balance.c.ledger_account == RECEIVABLE,
        )
    )
    return {(r.fund, r.item, r.period): int(r.balance) for r in rows}


def principal_unpaid(balances: dict[tuple[str, str, str], int]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for (fund, item, period), amount in balances.items():
        if item_kind(item) == "principal" and amount > 0:
            out[(fund, period)] = out.get((fund, period), 0) + amount
    return out


def due_dates(conn: Connection, contributor_id: int, periods: Iterable[str]) -> dict[str, date]:
    return dict(
        conn.execute(
            select(call.c.period, call.c.due_date).where(
                call.c.contributor_id == contributor_id, call.c.period.in_(sorted(set(periods)))
            )
        ).all()
    )


def principal_dates(
    conn: Connection, contributor_id: int, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[date | None, date | None]]:
    """(fund, period) -> (declared on: first debit, paid on: last credit) of its principal keys."""
    wanted = set(keys)
    p = journal_posting
    rows = conn.execute(
        select(
            p.c.fund,
            p.c.item,
            p.c.period,
            func.min(p.c.value_date).filter(p.c.amount > 0).label("first_debit"),
            func.max(p.c.value_date).filter(p.c.amount < 0).label("last_credit"),
        )
        .where(
            p.c.contributor_id == contributor_id,
            p.c.ledger_account == RECEIVABLE,
            p.c.period.in_(sorted({period for _, period in wanted})),
        )
        .group_by(p.c.fund, p.c.item, p.c.period)
    )
    out: dict[tuple[str, str], tuple[date | None, date | None]] = {}
    for r in rows:
        if (r.fund, r.period) not in wanted or item_kind(r.item) != "principal":
            continue
        declared, paid = out.get((r.fund, r.period), (None, None))
        if r.first_debit is not None:
            declared = r.first_debit if declared is None else min(declared, r.first_debit)
        if r.last_credit is not None:
            paid = r.last_credit if paid is None else max(paid, r.last_credit)
        out[(r.fund, r.period)] = (declared, paid)
    return out


def recipient(conn: Connection, contributor_id: int) -> dict:
    row = conn.execute(
        select(
            contributor.c.id,
            contributor.c.name,
            contributor.c.address,
            contributor.c.kind,
            contributor.c.siren,
            contributor.c.nir,
            organisation.c.code,
            organisation.c.name.label("organisation_name"),
        )
        .join(organisation, organisation.c.id == contributor.c.organisation_id)
        .where(contributor.c.id == contributor_id)
    ).first()
    if row is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    return row._asdict()


def letter_reference(request_id: int) -> str:
    return f"REM-{request_id:08d}"


def letter_context(who: dict, request: dict, lines: list[dict], day: date) -> dict:
    """The context of `remission_decision.html` (keys listed at the top of the template)."""
    employer = who["kind"] == "employer"
    return {
        "document_date": day.isoformat(),
        "organisation": {"code": who["code"], "name": who["organisation_name"]},
        "contributor": {
            "id": who["id"],
            "name": who["name"],
            "address_lines": [x.strip() for x in (who["address"] or "").splitlines() if x.strip()],
            "identifier_label": "SIREN" if employer else "N° de sécurité sociale",
            "identifier": (who["siren"] if employer else who["nir"]) or "",
        },
        "decision": {
            "reference": letter_reference(request["id"]),
            "requested_on": request["requested_on"].isoformat(),
            "authority": request["authority"],
            "state": request["state"],
            "text": request["decision_text"] or "",
            "proposal_text": (request["proposal"] or {}).get("text", ""),
        },
        "lines": lines,
        "requested": sum(x["requested"] for x in lines),
        "granted": sum(x["granted"] for x in lines),
        "left": sum(x["requested"] - x["granted"] for x in lines),
    }


def _insert(conn: Connection, table):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def store_letter(conn: Connection, contributor_id: int, context: dict, day: date) -> str:
    """Render the decision letter, write it to the documents directory and record it (once)."""
    content = render_pdf(LETTER, context)
    reference = context["decision"]["reference"]
    relative = Path(LETTER) / str(day.year) / f"{reference}.pdf"
    path = documents_dir() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    conn.execute(
        _insert(conn, document)
        .values(
            contributor_id=contributor_id,
            kind=LETTER,
            reference=reference,
            created_on=day,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            path=relative.as_posix(),
        )
        .on_conflict_do_nothing(index_elements=["kind", "reference"])
    )
    return reference
