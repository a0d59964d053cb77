"""Escalation of unpaid debts: holds, the ladder run by the daily cycle, its letters."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, insert, select

from recouvrement.adapters.db.collection_tables import collection_step
from recouvrement.adapters.db.cycle_tables import document
from recouvrement.adapters.db.limitation_tables import limitation_event
from recouvrement.adapters.db.tables import case_table, contributor
from recouvrement.adapters.documents import pdf
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import Forbidden
from recouvrement.services import authentication, collection_files, daily_cycle
from recouvrement.services import collection_holds as holds
from recouvrement.services.escalation import escalation_step
from recouvrement.services.unit_of_work import UnitOfWork

from .conftest import SYSTEM as SYSTEM_TESTS
from .cycle_world import FIRST_DAY, build_cycle_world

D = date(2024, 5, 1)


def test_a_hold_is_in_force_from_its_day_until_lifted_and_placing_it_again_places_nothing(engine):
    with UnitOfWork(engine) as uow:
        first = holds.place_hold(uow.conn, 7, "payment_plan", "payment_plan:1", D)
        again = holds.place_hold(uow.conn, 7, "payment_plan", "payment_plan:1", D)
        holds.place_hold(uow.conn, 8, "dispute", "complaint:3", D, period="2024-03")
        uow.commit()
    assert first == again
    with engine.connect() as conn:
        assert holds.active_holds(conn, [7, 8, 9], date(2024, 4, 30)) == {}
        on = holds.active_holds(conn, [7, 8, 9], D)
        assert sorted(on) == [7, 8]
        assert on[8][0]["period"] == "2024-03"
        assert len(on[7]) == 1
    with UnitOfWork(engine) as uow:
        assert holds.lift_hold(uow.conn, "payment_plan:1", date(2024, 6, 1)) == 1
        assert holds.lift_hold(uow.conn, "payment_plan:1", date(2024, 6, 2)) == 0
        uow.commit()
    with engine.connect() as conn:
        assert 7 in holds.active_holds(conn, [7], date(2024, 5, 31))
        assert 7 not in holds.active_holds(conn, [7], date(2024, 6, 1))
        assert len(holds.holds_of(conn, 7)) == 1


def test_a_hold_with_an_end_lapses_by_itself_after_its_last_day(engine):
    with UnitOfWork(engine) as uow:
        holds.place_hold(uow.conn, 5, "promise", "phone_reminder:1", D, until=date(2024, 5, 10))
        uow.commit()
    with engine.connect() as conn:
        assert 5 in holds.active_holds(conn, [5], date(2024, 5, 10))
        assert holds.active_holds(conn, [5], date(2024, 5, 11)) == {}


# --- the ladder run by the daily cycle ----------------------------------------------------------

CYCLE = system_actor("cycle quotidien")
STEPS = (
    "recouvrement.services.call_issuing:issue_calls_step",
    "recouvrement.services.allocation:apply_credits_step",
    "recouvrement.services.call_issuing:payment_incidents_step",
    "recouvrement.services.surcharges:surcharges_step",
    "recouvrement.services.escalation:escalation_step",
)
# Employer 2 of the cycle world never pays; its January call is due on 15 February 2024. The
# employer ladder (rules/escalation.yaml): reminder 8 days after the due date, 8 days to pay;
# final notice the day after, 15 days; formal notice the day after, one month; enforcement order
# the day after; hand-over 21 days later.
LADDER_DAYS = {
    "reminder": date(2024, 2, 23),
    "final_notice": date(2024, 3, 3),
    "formal_notice": date(2024, 3, 19),
    "enforcement_order": date(2024, 4, 20),
    "bailiff_handover": date(2024, 5, 11),
}


@pytest.fixture(autouse=True)
def documents(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "documents"
    monkeypatch.setenv("RECOUVREMENT_DOCUMENTS_DIR", str(path))
    return path


def steps_of(engine, cid: int, period: str = "2024-01") -> dict[str, date]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(collection_step.c.step, collection_step.c.reached_on)
            .where(collection_step.c.contributor_id == cid, collection_step.c.period == period)
            .order_by(collection_step.c.rank)
        ).all()
    return {r.step: r.reached_on for r in rows}


def letter_text(engine, documents: Path, kind: str, cid: int, period: str = "2024-01") -> str:
    with engine.connect() as conn:
        row = conn.execute(
            select(document).where(
                document.c.kind == kind,
                document.c.contributor_id == cid,
                document.c.reference.like(f"%-{cid}-{period}"),
            )
        ).one()
    content = (documents / row.path).read_bytes()
    assert hashlib.sha256(content).hexdigest() == row.sha256
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_an_unpaid_debt_climbs_the_ladder_with_its_letters_and_a_payment_stops_another(
    engine, documents
):
    ids = build_cycle_world(engine)
    never, late = ids[2], ids[1]
    daily_cycle.run_until(engine, CYCLE, date(2024, 5, 12), start=FIRST_DAY, steps=STEPS)

    assert steps_of(engine, never) == LADDER_DAYS
    reminder = letter_text(engine, documents, "reminder", never)
    assert "Relance amiable" in reminder and "janvier 2024" in reminder
    assert "2 mars 2024" in reminder  # pay by: 8 days after the letter
    notice = letter_text(engine, documents, "formal_notice", never)
    assert "Mise en demeure" in notice and "L244-2" in notice and "délai d'un mois" in notice
    assert "19 avril 2024" in notice  # one month after 19 March
    assert "Majoration" in notice or "majoration" in notice
    order = letter_text(engine, documents, "enforcement_order", never)
    assert "Contrainte" in order and f"MED-{never}-2024-01" in order
    assert "15 jours" in order and "tribunal judiciaire" in order
    handover = json.loads(
        (documents / "bailiff_handover" / "URSSAF-REG" / "2024-05-11.json").read_text()
    )
    [line] = [f for f in handover["files"] if f["contributor_id"] == never]
    assert line["enforcement_order_reference"] == f"CTR-{never}-2024-01"
    assert line["amount_cents"] > 0

    # Employer 1 paid January ten days late (25 February): the reminder went out on the 23rd,
    # nothing after it.
    assert steps_of(engine, late) == {"reminder": date(2024, 2, 23)}


def test_the_step_run_again_on_the_same_day_sends_nothing_twice(engine):
    ids = build_cycle_world(engine)
    daily_cycle.run_until(engine, CYCLE, date(2024, 2, 23), start=FIRST_DAY, steps=STEPS)
    again = escalation_step(engine, date(2024, 2, 23))
    assert again.counts.get("reminder", 0) == 0
    with engine.connect() as conn:
        assert conn.scalar(
            select(func.count()).select_from(document).where(document.c.kind == "reminder")
        ) == len(
            conn.execute(
                select(collection_step.c.id).where(collection_step.c.step == "reminder")
            ).all()
        )
    assert "reminder" in steps_of(engine, ids[2])


def test_a_hold_suspends_the_file_and_escalation_resumes_from_the_step_reached(engine):
    ids = build_cycle_world(engine)
    never = ids[2]
    with UnitOfWork(engine) as uow:
        holds.place_hold(uow.conn, never, "payment_plan", "payment_plan:99", date(2024, 2, 25))
        uow.commit()
    daily_cycle.run_until(engine, CYCLE, date(2024, 3, 31), start=FIRST_DAY, steps=STEPS)
    assert steps_of(engine, never) == {"reminder": date(2024, 2, 23)}
    with UnitOfWork(engine) as uow:
        holds.lift_hold(uow.conn, "payment_plan:99", date(2024, 4, 2))
        uow.commit()
    daily_cycle.run_until(engine, CYCLE, date(2024, 4, 3), steps=STEPS)
    # The final notice fell due on 3 March, during the plan: it goes out the day the hold ends.
    assert steps_of(engine, never) == {
        "reminder": date(2024, 2, 23),
        "final_notice": date(2024, 4, 2),
    }


def test_an_open_complaint_suspends_escalation(engine):
    ids = build_cycle_world(engine)
    never = ids[2]
    with engine.begin() as conn:
        org = conn.scalar(select(contributor.c.organisation_id).where(contributor.c.id == never))
        conn.execute(
            insert(case_table).values(
                case_type="complaint",
                state="received",
                activity="complaints",
                agreement="isu-region",
                owner_organisation_id=org,
                contributor_id=never,
                calendar="69",
                opened_at=datetime(2024, 2, 20, tzinfo=UTC),
                opened_on=date(2024, 2, 20),
                opened_by="agent.urssaf",
                last_event_on=date(2024, 2, 20),
                payload={},
            )
        )
    daily_cycle.run_until(engine, CYCLE, date(2024, 3, 5), start=FIRST_DAY, steps=STEPS)
    assert steps_of(engine, never) == {}
    report = escalation_step(engine, date(2024, 3, 5))
    assert report.counts.get("files_suspended", 0) >= 1


def test_notices_interrupt_the_limitation_and_a_debtor_reads_only_their_own_letters(
    engine, documents
):
    ids = build_cycle_world(engine)
    never, other = ids[2], ids[3]
    daily_cycle.run_until(engine, CYCLE, date(2024, 4, 20), start=FIRST_DAY, steps=STEPS)
    with engine.connect() as conn:
        events = conn.execute(
            select(limitation_event.c.event, limitation_event.c.on).where(
                limitation_event.c.contributor_id == never,
                limitation_event.c.period == "2024-01",
            )
        ).all()
    assert sorted(events) == [
        ("enforcement_order", date(2024, 4, 20)),
        ("formal_notice", date(2024, 3, 19)),
    ]
    org = "URSSAF-REG"
    authentication.create_agent(
        engine, SYSTEM_TESTS, "employeur.2", "Employeur 2", org, ["contributor"], never
    )
    debtor = authentication.actor_for_login(engine, "employeur.2")
    mine = collection_files.collection_file(engine, debtor, never)
    assert "holds" not in mine
    assert {s["step"] for s in mine["steps"]} >= {"reminder", "formal_notice", "enforcement_order"}
    notice = next(s for s in mine["steps"] if s["step"] == "formal_notice")
    name, content = collection_files.letter(engine, debtor, notice["document_id"])
    assert name == f"formal_notice-MED-{never}-2024-01.pdf" and content.startswith(b"%PDF")
    with pytest.raises(Forbidden):
        collection_files.collection_file(engine, debtor, other)
    theirs = collection_files.collection_file(engine, SYSTEM_TESTS, other)["steps"]
    with pytest.raises(Forbidden):
        collection_files.letter(engine, debtor, theirs[0]["document_id"])


def test_a_run_killed_between_batches_is_completed_by_the_next_run(engine, monkeypatch):
    build_cycle_world(engine)
    daily_cycle.run_until(engine, CYCLE, date(2024, 2, 22), start=FIRST_DAY, steps=STEPS)
    monkeypatch.setenv("RECOUVREMENT_CYCLE_BATCH", "1")
    real = pdf.render_many
    calls = []

    def dying(template, contexts):
        calls.append(template)
        if len(calls) == 2:
            raise RuntimeError("arrêt brutal simulé")
        return real(template, contexts)

    monkeypatch.setattr(pdf, "render_many", dying)
    with pytest.raises(RuntimeError):
        escalation_step(engine, date(2024, 2, 23))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(collection_step)) == 1
    monkeypatch.setattr(pdf, "render_many", real)
    report = escalation_step(engine, date(2024, 2, 23))
    assert report.counts["reminder"] == 2
    with engine.connect() as conn:
        steps = conn.scalar(select(func.count()).select_from(collection_step))
        letters = conn.scalar(
            select(func.count()).select_from(document).where(document.c.kind == "reminder")
        )
    assert steps == letters == 3


def test_a_prescribed_debt_takes_no_further_step(engine):
    """A debt of January 2024 nobody pursued is prescribed at the end of 2027 (L244-3: three years
    from the end of the year it was due): escalation leaves it to the write-off proposal."""
    ids = build_cycle_world(engine)
    never = ids[2]
    daily_cycle.run_until(engine, CYCLE, date(2024, 2, 22), start=FIRST_DAY, steps=STEPS)
    before = escalation_step(engine, date(2027, 12, 31))
    assert before.counts.get("reminder", 0) >= 1 and "reminder" in steps_of(engine, never)
    after = escalation_step(engine, date(2028, 1, 10))
    assert after.counts.get("files_prescribed", 0) >= 1
    assert set(steps_of(engine, never)) == {"reminder"}
