"""The hand-over of debt files to the commissaire de justice, the last step of the ladder.

Once a contrainte has not been opposed within fifteen days of its notification (CSS R133-3), it has
the effects of a judgment (L244-9) and its execution is entrusted to a commissaire de justice
(huissier de justice until 30 June 2022, ordonnance 2016-728). The escalation step records the
hand-over as a `collection_step` row; this module writes the day's hand-over file per organisation,
`bailiff_handover/<organisation>/<day>.json` under the documents directory, rebuilt from the table
each run so the same day gives the same bytes and a crash before it loses nothing. Schema
`recouvrement.bailiff_handover/1`, documented in docs/collection.md.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

from sqlalchemy import Connection, Engine, and_, literal, select

from recouvrement.adapters.db.collection_tables import collection_step
from recouvrement.adapters.db.tables import contributor, organisation
from recouvrement.domain.payment_reference import account_reference
from recouvrement.services.call_issuing import documents_dir
from recouvrement.services.escalation import HANDOVER, write_atomically


def handover_rows(conn: Connection, day: date) -> list[dict]:
    """The files handed over on `day`, with what the commissaire de justice needs to act: the
    debtor, the contrainte (reference, date) and the amount pursued."""
    s, ctr = collection_step, collection_step.alias("ctr")
    rows = conn.execute(
        select(
            s.c.contributor_id,
            s.c.period,
            s.c.reference,
            s.c.amount,
            ctr.c.reference.label("enforcement_order"),
            ctr.c.reached_on.label("enforcement_order_on"),
            contributor.c.name,
            contributor.c.address,
            contributor.c.siren,
            contributor.c.kind,
            organisation.c.code.label("organisation"),
        )
        .join(contributor, contributor.c.id == s.c.contributor_id)
        .join(organisation, organisation.c.id == contributor.c.organisation_id)
        .outerjoin(
            ctr,
            and_(
                ctr.c.contributor_id == s.c.contributor_id,
                ctr.c.period == s.c.period,
                ctr.c.step == literal("enforcement_order"),
            ),
        )
        .where(s.c.step == HANDOVER, s.c.reached_on == day)
        .order_by(organisation.c.code, s.c.contributor_id, s.c.period)
    ).mappings()
    return [dict(r) for r in rows]


def write_handover_files(engine: Engine, day: date) -> int:
    """One JSON file per organisation of the files handed over on `day`; rebuilt from the table
    each run, so the same day gives the same bytes and a crash before it loses nothing."""
    with engine.connect() as conn:
        rows = handover_rows(conn, day)
    by_org: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_org[r["organisation"]].append(
            {
                "contributor_id": int(r["contributor_id"]),
                "name": r["name"],
                "address_lines": [x.strip() for x in (r["address"] or "").splitlines() if x],
                "siren": r["siren"],
                "kind": r["kind"],
                "period": r["period"],
                "handover_reference": r["reference"],
                "enforcement_order_reference": r["enforcement_order"],
                "enforcement_order_date": (
                    r["enforcement_order_on"].isoformat() if r["enforcement_order_on"] else None
                ),
                "amount_cents": int(r["amount"]),
                "payment_reference": account_reference(int(r["contributor_id"])),
            }
        )
    for org, files in by_org.items():
        content = {
            "schema": "recouvrement.bailiff_handover/1",
            "organisation": org,
            "day": day.isoformat(),
            "files": files,
            "total_cents": sum(f["amount_cents"] for f in files),
        }
        body = json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        write_atomically(
            documents_dir() / HANDOVER / org / f"{day.isoformat()}.json", body.encode()
        )
    return len(by_org)
