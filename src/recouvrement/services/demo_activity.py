"""A few months of life in the demo region: declarations, payments and the daily cycle.

The region loaded by `demo load` has accounts but no money. This plays, day by day up to the
region's date, what the platform would have seen: employers declare each month on the 5th, most pay
their calls on the due date by bank transfer with the call's reference, some pay a fortnight late,
a few never; and the daily cycle runs every day, so calls are issued with their notices, receipts
allocated, surcharges charged, reminders and formal notices sent. Everything goes through the same
services as in production, so the demo shows them at work. The choices of who pays how come from
the seed: the same seed gives the same ledger.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import Engine, func, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.tables import contributor, employee, establishment
from recouvrement.domain.actors import Actor, Permission, require, system_actor
from recouvrement.domain.demo_region import AS_OF, DEFAULT_SEED
from recouvrement.domain.identifiers import MAYOTTE
from recouvrement.services import payroll, receipts
from recouvrement.services.daily_cycle import run_day

BANK = system_actor("banque (démonstration)")
DAY = timedelta(days=1)
LATE_DAYS = 15
# Share of employers by behaviour: on time, a fortnight late, never.
BEHAVIOURS = (("on_time", 88), ("late", 8), ("never", 4))
HEADER = "bank_reference,booking_date,value_date,amount,currency,debtor_name,debtor_iban,reference"

DayProgress = Callable[[date, int, int], None]
"""Called with (day, days done, days in all)."""


def _employers(engine: Engine, seed: int) -> list[dict]:
    """Each employer with its head establishment, its staff and the pay of each, and how it pays."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        heads = dict(
            conn.execute(
                select(establishment.c.contributor_id, func.min(establishment.c.siret)).group_by(
                    establishment.c.contributor_id
                )
            ).all()
        )
        rows = conn.execute(
            select(contributor.c.id, contributor.c.name, contributor.c.territory)
            .where(contributor.c.kind == "employer")
            .order_by(contributor.c.id)
        ).all()
        staff: dict[int, list] = {}
        for cid, nir, birth in conn.execute(
            select(employee.c.contributor_id, employee.c.nir, employee.c.birth_date).order_by(
                employee.c.id
            )
        ):
            staff.setdefault(cid, []).append((nir, birth))
    kinds, weights = zip(*BEHAVIOURS, strict=True)
    out = []
    for cid, name, territory in rows:
        if cid not in heads or not staff.get(cid):
            continue
        low, high = (90_000, 250_000) if territory == MAYOTTE else (180_000, 450_000)
        lines = [
            {
                "nir": nir,
                "birth_date": birth.isoformat(),
                "gross_pay": f"{rng.randrange(low, high) / 100:.2f}",
            }
            for nir, birth in staff[cid]
        ]
        behaviour = rng.choices(kinds, weights)[0]
        out.append(
            {"id": cid, "name": name, "siret": heads[cid], "lines": lines, "pays": behaviour}
        )
    return out


def _declare(engine: Engine, employers: list[dict], day: date, first: date, counts: dict) -> None:
    """On the 5th, every employer declares the month before (from the first month played)."""
    if day.day != 5:
        return
    month = (day.replace(day=1) - DAY).replace(day=1)
    if month < first:
        return
    period = f"{month.year:04d}-{month.month:02d}"
    for who in employers:
        payroll.declare(
            engine,
            system_actor("déclarant (démonstration)"),
            who["siret"],
            period,
            who["lines"],
            day,
        )
        counts["declarations"] = counts.get("declarations", 0) + 1


def _pay(engine: Engine, by_id: dict[int, dict], day: date, folder: Path, counts: dict) -> None:
    """Calls paid today: due today by those on time, due a fortnight ago by those late."""
    with engine.connect() as conn:
        due = conn.execute(
            select(
                call.c.id, call.c.contributor_id, call.c.reference, call.c.amount, call.c.due_date
            )
            .where(call.c.due_date.in_((day, day - timedelta(days=LATE_DAYS))), call.c.amount > 0)
            .order_by(call.c.id)
        ).all()
    lines = []
    for row in due:
        who = by_id.get(row.contributor_id)
        if who is None:
            continue
        if (who["pays"], row.due_date) not in (
            ("on_time", day),
            ("late", day - timedelta(days=LATE_DAYS)),
        ):
            continue
        euros = f"{row.amount // 100}.{row.amount % 100:02d}"
        name = who["name"].replace(",", " ")
        lines.append(f"DEMO-{row.id},{day},{day},{euros},EUR,{name},,{row.reference}")
    if not lines:
        return
    statement = folder / f"releve-{day.isoformat()}.csv"
    statement.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    receipts.import_statement(engine, BANK, statement, on=day)
    counts["receipts"] = counts.get("receipts", 0) + len(lines)


def simulate_activity(
    engine: Engine,
    actor: Actor,
    *,
    seed: int = DEFAULT_SEED,
    first_month: date = date(2026, 2, 1),
    until: date = AS_OF,
    progress: DayProgress | None = None,
) -> dict:
    """Play the region from `first_month` (its first declared month) to `until`; returns counts."""
    require(actor, Permission.CYCLE_RUN)
    employers = _employers(engine, seed)
    by_id = {who["id"]: who for who in employers}
    counts: dict[str, int] = {"employers": len(employers)}
    start = (first_month.replace(day=28) + timedelta(days=4)).replace(day=1)
    total = (until - start).days + 1
    with TemporaryDirectory() as folder:
        day = start
        while day <= until:
            _declare(engine, employers, day, first_month, counts)
            _pay(engine, by_id, day, Path(folder), counts)
            run_day(engine, actor, day)
            done = (day - start).days + 1
            if progress is not None:
                progress(day, done, total)
            day += DAY
    counts["days"] = total
    return counts
