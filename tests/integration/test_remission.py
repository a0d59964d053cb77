"""Surcharge remission on both backends: admissibility, the director and the appeals board, the
reasoned decision posted once with its letter, the hold on escalation, the automatic remission."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import func, insert, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.collection_tables import collection_hold
from recouvrement.adapters.db.cycle_tables import document, payment_incident
from recouvrement.adapters.db.tables import account_balance, audit_event, case_table
from recouvrement.domain.contributors import ContributorDraft, ContributorKind
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services import authentication, contributors, ledger, remission
from recouvrement.services.ledger_check import check_ledger
from recouvrement.services.surcharges import surcharges_step

from .case_region import AGREEMENT_START, Region
from .conftest import SYSTEM
from .ledger_helpers import siren

PERIOD = "2015-01"
DUE = date(2015, 2, 16)
FUND, ITEM = "unedic", "unemployment_employer"
INITIAL = (FUND, "surcharge_initial", PERIOD)
ADDITIONAL = (FUND, "surcharge_additional", PERIOD)


@pytest.fixture
def region(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_DOCUMENTS_DIR", str(tmp_path / "documents"))
    region = Region(engine)
    region.grant_case_work(activities=["surcharge_remission_requests", "write_offs"])
    authentication.create_agent(
        engine, SYSTEM, "cra.1", "cra.1", "URSSAF-RA", ["appeals_board_member"]
    )
    return region


def debtor(region, n: int, principal: int = 100_000, period: str = PERIOD, due: date = DUE) -> int:
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name=f"Employeur {n}",
        territory="69",
        organisation_code="URSSAF-RA",
        siren=siren(n),
        address="1 rue de la Paix\n69001 Lyon",
    )
    cid = contributors.create_contributor(region.engine, SYSTEM, draft, AGREEMENT_START)["id"]
    with region.engine.begin() as conn:
        conn.execute(
            insert(call).values(
                contributor_id=cid,
                period=period,
                kind="employer_monthly",
                reference=f"RF-{cid}-{period}",
                issue_date=date(2015, 2, 5),
                due_date=due,
                amount=principal,
                status="issued",
                created_at=datetime(2015, 1, 1, tzinfo=UTC),
            )
        )
    ledger.post_entry(
        region.engine,
        SYSTEM,
        Entry(
            f"assessment:{cid}:{period}",
            date(2015, 2, 5),
            "assessment",
            (
                Posting("receivable", cid, FUND, ITEM, period, principal),
                Posting("fund_revenue", None, FUND, ITEM, period, -principal),
            ),
        ),
    )
    return cid


def pay(region, cid: int, day: date, amount: int, key=(FUND, ITEM, PERIOD)) -> None:
    ledger.post_entry(
        region.engine,
        SYSTEM,
        Entry(
            f"receipt:{cid}:{day}:{key[1]}",
            day,
            "payment",
            (Posting("bank", None, "", "", "", amount), Posting("receivable", cid, *key, -amount)),
        ),
    )


def surcharge(region, cid, days: list[date]) -> None:
    for day in days:
        surcharges_step(region.engine, day)


def balance(engine, cid, key) -> int:
    with engine.connect() as conn:
        return (
            conn.scalar(
                select(account_balance.c.balance).where(
                    account_balance.c.contributor_id == cid,
                    account_balance.c.ledger_account == "receivable",
                    account_balance.c.fund == key[0],
                    account_balance.c.item == key[1],
                    account_balance.c.period == key[2],
                )
            )
            or 0
        )


def test_a_request_is_refused_while_the_contributions_are_unpaid(region):
    cid = debtor(region, 1)
    surcharge(region, cid, [date(2015, 3, 1)])
    assert balance(region.engine, cid, INITIAL) == 5_000
    with pytest.raises(DomainError, match="entièrement payées") as err:
        remission.request_remission(
            region.engine, region["ura.1"], cid, [INITIAL], on=date(2015, 3, 2)
        )
    assert err.value.problems[0].code == "principal_unpaid"
    with pytest.raises(DomainError, match="non remissible"):
        remission.request_remission(
            region.engine, region["ura.1"], cid, [(FUND, ITEM, PERIOD)], on=date(2015, 3, 2)
        )
    with region.engine.connect() as conn:
        refused = conn.scalar(
            select(func.count()).where(
                audit_event.c.action == "remission.request", audit_event.c.outcome == "refused"
            )
        )
    assert refused == 2


def test_the_director_decides_a_reasoned_partial_remission_posted_once_with_its_letter(
    region, tmp_path
):
    cid = debtor(region, 1)
    pay(region, cid, date(2015, 3, 10), 100_000)  # 22 days late: initial surcharge only
    surcharge(region, cid, [date(2015, 3, 20)])
    assert balance(region.engine, cid, INITIAL) == 5_000
    asked = date(2015, 3, 23)
    view = remission.request_remission(
        region.engine, region["ura.1"], cid, [INITIAL], on=asked, reason="retard de la banque"
    )
    rid = view["id"]
    assert (view["state"], view["authority"], view["total"]) == ("pending", "director", 5_000)
    with region.engine.connect() as conn:
        hold = conn.execute(
            select(collection_hold).where(collection_hold.c.source == f"remission:{rid}")
        ).one()
        case = conn.execute(select(case_table).where(case_table.c.id == view["case_id"])).one()
    assert (hold.kind, hold.lifted_on) == ("remission", None)
    assert (case.case_type, case.activity) == (
        "surcharge_remission",
        "surcharge_remission_requests",
    )
    with pytest.raises(Conflict, match="déjà en cours"):
        remission.request_remission(region.engine, region["ura.2"], cid, [INITIAL], on=asked)
    with pytest.raises(Forbidden):
        remission.decide_remission(
            region.engine, region["cra.1"], rid, on=asked, text="motifs suffisants"
        )
    with pytest.raises(DomainError, match="motivée"):
        remission.decide_remission(region.engine, region["dir.urssaf"], rid, on=asked, text="ok")
    decided = remission.decide_remission(
        region.engine,
        region["dir.urssaf"],
        rid,
        on=date(2015, 3, 30),
        text="Premier retard, dû à un incident bancaire justifié.",
        granted=3_000,
    )
    assert (decided["state"], decided["granted"]) == ("partially_granted", 3_000)
    assert balance(region.engine, cid, INITIAL) == 2_000
    with pytest.raises(Conflict):
        remission.decide_remission(
            region.engine,
            region["dir.urssaf"],
            rid,
            on=date(2015, 3, 30),
            text="Une seconde fois ?",
        )
    assert balance(region.engine, cid, INITIAL) == 2_000
    with region.engine.connect() as conn:
        assert conn.scalar(
            select(collection_hold.c.lifted_on).where(
                collection_hold.c.source == f"remission:{rid}"
            )
        ) == date(2015, 3, 30)
        letter = conn.execute(select(document).where(document.c.kind == "remission_decision")).one()
        closed = conn.scalar(
            select(case_table.c.closed_on).where(case_table.c.id == view["case_id"])
        )
    assert closed == date(2015, 3, 30)
    pdf = (tmp_path / "documents" / letter.path).read_bytes()
    assert pdf.startswith(b"%PDF") and letter.reference == decided["letter_reference"]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", " ")
    assert "le directeur vous accorde une remise partielle" in text
    assert "incident bancaire justifié" in text and "Employeur 1" in text
    assert check_ledger(region.engine).findings == 0


def test_above_the_threshold_the_appeals_board_decides_on_the_directors_proposal(region):
    cid = debtor(region, 1, principal=8_000_000)  # 80 000 €: a 4 000 € surcharge
    pay(region, cid, date(2015, 3, 1), 8_000_000)
    surcharge(region, cid, [date(2015, 3, 5)])
    rid = remission.request_remission(region.engine, SYSTEM, cid, [INITIAL], on=date(2015, 3, 6))[
        "id"
    ]
    view = remission.get_remission(region.engine, SYSTEM, rid)
    assert view["authority"] == "appeals_board"
    with pytest.raises(Forbidden, match="commission"):
        remission.decide_remission(
            region.engine,
            region["dir.urssaf"],
            rid,
            on=date(2015, 3, 9),
            text="Accord du directeur.",
        )
    with pytest.raises(Conflict, match="proposition"):
        remission.decide_remission(
            region.engine,
            region["cra.1"],
            rid,
            on=date(2015, 3, 9),
            text="Accord de la commission.",
        )
    remission.propose_remission(
        region.engine,
        region["dir.urssaf"],
        rid,
        on=date(2015, 3, 9),
        text="Remise totale proposée.",
    )
    decided = remission.decide_remission(
        region.engine,
        region["cra.1"],
        rid,
        on=date(2015, 4, 2),
        text="Bonne foi établie, remise totale.",
    )
    assert decided["state"] == "granted"
    assert balance(region.engine, cid, INITIAL) == 0


def test_the_additional_surcharge_needs_payment_within_thirty_days_or_force_majeure(region):
    cid = debtor(region, 1)
    pay(region, cid, date(2015, 4, 1), 100_000)  # 44 days late
    surcharge(region, cid, [date(2015, 4, 5)])
    assert balance(region.engine, cid, ADDITIONAL) > 0
    with pytest.raises(DomainError, match="30 jours"):
        remission.request_remission(region.engine, SYSTEM, cid, [ADDITIONAL], on=date(2015, 4, 6))
    view = remission.request_remission(
        region.engine, SYSTEM, cid, [INITIAL, ADDITIONAL], on=date(2015, 4, 6), force_majeure=True
    )
    assert view["total"] == balance(region.engine, cid, INITIAL) + balance(
        region.engine, cid, ADDITIONAL
    )


def test_a_contributor_asks_for_their_own_account_only(region):
    mine = debtor(region, 1)
    other = debtor(region, 2)
    for cid in (mine, other):
        pay(region, cid, date(2015, 3, 10), 100_000)
    surcharge(region, mine, [date(2015, 3, 20)])
    login = authentication.create_agent(
        region.engine, SYSTEM, "employeur.1", "Employeur 1", "URSSAF-RA", ["contributor"], mine
    )
    me = authentication.actor_for_login(region.engine, "employeur.1")
    assert login
    view = remission.request_remission(region.engine, me, mine, [INITIAL], on=date(2015, 3, 23))
    assert view["requested_by"] == "employeur.1"
    with pytest.raises(Forbidden):
        remission.request_remission(region.engine, me, other, [INITIAL], on=date(2015, 3, 23))
    assert [r["id"] for r in remission.list_remissions(region.engine, me)] == [view["id"]]


def test_the_automatic_remission_of_a_first_short_delay_is_posted_once(region):
    first = debtor(region, 1)
    repeat = debtor(region, 2)
    with region.engine.begin() as conn:
        conn.execute(
            insert(payment_incident).values(
                call_id=0,
                contributor_id=repeat,
                period="2014-06",
                kind="unpaid",
                detected_on=date(2014, 7, 16),
                unpaid_amount=1,
            )
        )
    late = debtor(region, 3)
    for cid in (first, repeat):
        pay(region, cid, date(2015, 3, 10), 100_000)
    pay(region, late, date(2015, 3, 25), 100_000)  # more than a month after the due date
    surcharge(region, first, [date(2015, 3, 30)])
    day = date(2015, 4, 1)
    report = remission.automatic_remission_step(region.engine, day)
    # The initial 5 % and one month of the 0.4 % additional surcharge (period of 2015).
    # the two that do not qualify are answered once and not examined again
    assert report.counts == {"surcharges_remitted": 2, "surcharges_not_remitted": 2}
    assert report.amounts == {"surcharges_remitted": 5_400}
    assert balance(region.engine, first, INITIAL) == balance(region.engine, first, ADDITIONAL) == 0
    assert balance(region.engine, repeat, INITIAL) == 5_000
    assert balance(region.engine, late, INITIAL) > 0
    again = remission.automatic_remission_step(region.engine, day)
    assert again.counts == {}
    assert check_ledger(region.engine).findings == 0


def test_the_command_line_receives_and_decides_a_request(region, database_url, monkeypatch):
    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app

    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()
    cid = debtor(region, 1)

    def run(*args):
        return runner.invoke(app, ["remission", *map(str, args)])

    key = "/".join(INITIAL)
    surcharge(region, cid, [date(2015, 3, 1)])
    refused = run("request", cid, key, "--on", "2015-03-02", "--login", "ura.1")
    assert refused.exit_code == 2 and "entièrement payées" in refused.output
    pay(region, cid, date(2015, 3, 10), 100_000)
    received = run("request", cid, key, "--on", "2015-03-11", "--login", "ura.1")
    assert received.exit_code == 0, received.output
    assert "50,00 €" in received.output and "le directeur" in received.output
    decided = run(
        "decide",
        1,
        "--text",
        "Premier retard, remise accordée.",
        "--granted",
        "50.00",
        "--on",
        "2015-03-20",
        "--login",
        "dir.urssaf",
    )
    assert decided.exit_code == 0, decided.output
    assert "accordée" in decided.output and "REM-00000001" in decided.output
    assert balance(region.engine, cid, INITIAL) == 0


CYCLE_STEPS = (
    "recouvrement.services.call_issuing:issue_calls_step",
    "recouvrement.services.allocation:apply_credits_step",
    "recouvrement.services.call_issuing:payment_incidents_step",
    "recouvrement.services.surcharges:surcharges_step",
    "recouvrement.services.remission:automatic_remission_step",
)


def surcharge_keys(engine, cid: int, period: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(account_balance.c.fund, account_balance.c.item, account_balance.c.period).where(
                account_balance.c.contributor_id == cid,
                account_balance.c.ledger_account == "receivable",
                account_balance.c.period == period,
                account_balance.c.item.like("surcharge%"),
                account_balance.c.balance > 0,
            )
        ).all()
    return sorted(tuple(r) for r in rows)


def test_from_declarations_to_the_remission_letter(engine, tmp_path, monkeypatch):
    """Employers declare; the daily cycle issues the calls, surcharges the late ones and remits
    automatically a first short delay; the second delay is remitted on request by the director,
    with a letter; a request on unpaid contributions is refused."""
    from recouvrement.adapters.db.remission_tables import automatic_remission
    from recouvrement.services import daily_cycle

    from .cycle_world import build_cycle_world

    documents = tmp_path / "documents"
    monkeypatch.setenv("RECOUVREMENT_DOCUMENTS_DIR", str(documents))
    ids = build_cycle_world(engine)
    authentication.create_agent(engine, SYSTEM, "dir.reg", "dir.reg", "URSSAF-REG", ["director"])
    daily_cycle.run_until(
        engine, SYSTEM, date(2024, 4, 20), start=date(2024, 2, 1), steps=CYCLE_STEPS
    )
    late, never = ids[1], ids[2]  # paid 10 then 14 days late; never paid
    with engine.connect() as conn:
        automatic = conn.execute(
            select(automatic_remission.c.contributor_id, automatic_remission.c.period).where(
                automatic_remission.c.amount > 0
            )
        ).all()
        refused = conn.execute(
            select(automatic_remission.c.contributor_id, automatic_remission.c.period).where(
                automatic_remission.c.amount == 0
            )
        ).all()
    # R243-19-1: the first delay of a clean account is remitted; the second is not (the first
    # incident is within 24 months), nor are the surcharges of an unpaid period.
    assert {tuple(r) for r in automatic} == {(late, "2024-01")}
    assert {tuple(r) for r in refused} == {(late, "2024-02")}  # answered once, kept
    assert surcharge_keys(engine, late, "2024-01") == []
    keys = surcharge_keys(engine, late, "2024-02")
    assert keys
    owed = sum(balance(engine, late, k) for k in keys)
    agent = authentication.actor_for_login(engine, "agent.urssaf")
    view = remission.request_remission(engine, agent, late, keys, on=date(2024, 4, 22))
    assert (view["authority"], view["total"], view["case_id"]) == ("director", owed, None)
    director = authentication.actor_for_login(engine, "dir.reg")
    decided = remission.decide_remission(
        engine,
        director,
        view["id"],
        on=date(2024, 4, 29),
        text="Retard de quatorze jours justifié.",
    )
    assert decided["state"] == "granted"
    assert surcharge_keys(engine, late, "2024-02") == []
    reference, pdf = remission.letter_content(engine, director, view["id"])
    assert pdf.startswith(b"%PDF") and reference == "REM-00000001"
    with pytest.raises(DomainError, match="entièrement payées"):
        remission.request_remission(
            engine, agent, never, surcharge_keys(engine, never, "2024-01"), on=date(2024, 4, 22)
        )
    assert check_ledger(engine).findings == 0
