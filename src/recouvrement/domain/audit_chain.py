"""The audit trail is hash-chained: altering or removing an event breaks the chain after it.

Each event's hash covers its content and the hash of the event before it, so `audit verify` can
name the first event that was altered, and the one whose predecessor was removed. The hash of the
last event (the head) is printed by `audit verify`; kept elsewhere, it also reveals a cut tail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import NamedTuple

GENESIS = "0" * 64
CHAINED_FIELDS = (
    "occurred_at",
    "actor",
    "organisation_code",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "detail",
    "source",
)


def canonical_time(moment: datetime) -> str:
    """UTC, microseconds: the same text whether the database kept the zone or not."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, event: Mapping) -> str:
    content = {k: event[k] for k in CHAINED_FIELDS}
    content["occurred_at"] = canonical_time(content["occurred_at"])
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{text}".encode()).hexdigest()


class ChainProblem(NamedTuple):
    event_id: int
    kind: str  # "altered" or "broken_link"
    reason: str


def verify_chain(events: Iterable[Mapping]) -> tuple[list[ChainProblem], str, int]:
    """Problems found, the head hash and the number of events, for events in id order."""
    problems: list[ChainProblem] = []
    last = GENESIS
    count = 0
    for ev in events:
        count += 1
        if ev["prev_hash"] != last:
            problems.append(
                ChainProblem(
                    ev["id"],
                    "broken_link",
                    f"événement {ev['id']} : chaînage rompu, l'événement précédent a été supprimé, "
                    "inséré ou modifié",
                )
            )
        if event_hash(ev["prev_hash"], ev) != ev["hash"]:
            problems.append(
                ChainProblem(
                    ev["id"], "altered", f"événement {ev['id']} : contenu altéré ({ev['action']})"
                )
            )
        last = ev["hash"]
    return problems, last, count
