"""The surcharge step and the under-estimate surcharge against the journal, on both backends."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.engine import make_engine
from recouvrement.adapters.db.tables import account_balance, journal_entry, journal_posting
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services import ledger
from recouvrement.services.surcharges import surcharges_step, underestimate_surcharge

from .conftest import SYSTEM, build_world
from .ledger_helpers import open_account

FUND, ITEM = "unedic", "unemployment_employer"


def add_call(engine, cid, period, issue, due, amount, kind="employer_monthly"):
    with engine.begin() as conn:
        conn.execute(
            insert(call).values(
                contributor_id=cid,
                period=period,
                kind=kind,
                reference=f"RF-{cid}-{period}",
                issue_date=issue,
                due_date=due,
                amount=amount,
                status="issued",
                created_at=datetime(2019, 1, 1, tzinfo=UTC),
            )
        )
    ledger.post_entry(
        engine,
        SYSTEM,
        Entry(
            f"assessment:{cid}:{period}",
            issue,
            "assessment",
            (
                Posting("receivable", cid, FUND, ITEM, period, amount),
                Posting("fund_revenue", None, FUND, ITEM, period, -amount),
            ),
        ),
    )


def pay(engine, cid, period, day, amount, n=0):
    ledger.post_entry(
        engine,
        SYSTEM,
        Entry(
            f"receipt:{cid}:{period}:{day}:{n}",
            day,
            "payment",
            (
                Posting("bank", None, "", "", "", amount),
                Posting("receivable", cid, FUND, ITEM, period, -amount),
            ),
        ),
    )


def surcharges(engine, cid=None) -> dict[str, tuple[date, int]]:
    """The surcharge entries: key → (value date, receivable amount)."""
    q = (
        select(
            journal_entry.c.idempotency_key, journal_entry.c.value_date, journal_posting.c.amount
        )
        .join(journal_posting, journal_posting.c.entry_id == journal_entry.c.id)
        .where(
            journal_entry.c.cause == "surcharge", journal_posting.c.ledger_account == "receivable"
        )
    )
    if cid is not None:
        q = q.where(journal_posting.c.contributor_id == cid)
    with engine.connect() as conn:
        return {k: (d, a) for k, d, a in conn.execute(q)}


def balances(engine) -> set[tuple]:
    with engine.connect() as conn:
        return set(conn.execute(select(account_balance)).all())


def scenario(engine) -> dict[str, int]:
    """Three employers with 2019 calls: one paying late in two parts, one never, one on time; and
    an audit adjustment paid on day 31. Built the same way, it gives the same ids."""
    world = build_world(engine)
    ids = {name: open_account(world, n) for n, name in enumerate(("late", "never", "on_time"), 1)}
    for cid in ids.values():
        add_call(engine, cid, "2019-01", date(2019, 2, 5), date(2019, 2, 15), 100_000)
    pay(engine, ids["late"], "2019-01", date(2019, 3, 1), 50_000)
    pay(engine, ids["late"], "2019-01", date(2019, 4, 20), 50_000)
    pay(engine, ids["on_time"], "2019-01", date(2019, 2, 15), 100_000)
    add_call(
        engine, ids["never"], "2017-06", date(2019, 2, 1), date(2019, 3, 1), 300_000,
        kind="audit_adjustment",
    )  # fmt: skip
    pay(engine, ids["never"], "2017-06", date(2019, 3, 4), 300_000)
    return ids


def test_hand_worked_2019_debts(engine):
    ids = scenario(engine)
    report = surcharges_step(engine, date(2019, 5, 20))
    late = surcharges(engine, ids["late"])
    # 1,000 € due 15 Feb 2019: 50 € initial; 1,000 € unpaid on 15 Feb (2 €); 500 € on 15 March
    # (1 €) and 15 April (1 €); paid in full on 20 April, so nothing from 15 May.
    prefix = f"surcharge:{ids['late']}:{FUND}:{ITEM}:2019-01:"
    assert late == {
        prefix + "initial": (date(2019, 2, 16), 5_000),
        prefix + "2019-02-15": (date(2019, 2, 16), 200),
        prefix + "2019-03-15": (date(2019, 3, 16), 100),
        prefix + "2019-04-15": (date(2019, 4, 16), 100),
    }
    never = {k: v for k, v in surcharges(engine, ids["never"]).items() if ":2019-01:" in k}
    assert sum(a for _, a in never.values()) == 5_000 + 4 * 200  # Feb, Mar, Apr, May begun
    assert surcharges(engine, ids["on_time"]) == {}
    assert report.amounts["surcharge_initial_posted"] == 5_000 + 5_000 + 15_000
    # no surcharge on surcharges
    assert not any(":surcharge_" in key for key in surcharges(engine))


def test_audit_adjustment_paid_on_day_31_pays_the_ordinary_rate(engine):
    ids = scenario(engine)
    surcharges_step(engine, date(2019, 5, 20))
    audit = {k: v for k, v in surcharges(engine, ids["never"]).items() if ":2017-06:" in k}
    # R243-18 al. 3: counted from 1 February 2018; notice 1 February 2019, paid 4 March (day 31):
    # the ordinary rate of a 2017 period, 0.4 % (not 0.1 %), of 3,000 € for each month begun,
    # February 2018 to March 2019: 14 months. The initial 5 % still applies to a notice of 2019
    # (the exclusion of R243-17 al. 1 is dated April 2020).
    months = {k: v for k, v in audit.items() if not k.endswith(":initial")}
    assert len(months) == 14
    assert {a for _, a in months.values()} == {1_200}
    assert audit[f"surcharge:{ids['never']}:{FUND}:{ITEM}:2017-06:initial"][1] == 15_000


def test_audit_adjustment_paid_on_day_29_pays_the_reduced_rate(engine):
    world = build_world(engine)
    cid = open_account(world, 1)
    add_call(
        engine, cid, "2022-06", date(2024, 6, 1), date(2024, 7, 1), 1_000_000, "audit_adjustment"
    )
    pay(engine, cid, "2022-06", date(2024, 6, 30), 1_000_000)
    surcharges_step(engine, date(2024, 7, 1))
    assert surcharges(engine) == {}  # the thirty days have not all passed
    surcharges_step(engine, date(2024, 8, 10))
    found = surcharges(engine)
    assert len(found) == 17 and {a for _, a in found.values()} == {1_000}
    assert {d for d, _ in found.values()} == {date(2024, 7, 2)}


def test_running_the_same_day_twice_posts_nothing_more(engine):
    scenario(engine)
    surcharges_step(engine, date(2019, 4, 16))
    before = (surcharges(engine), balances(engine))
    again = surcharges_step(engine, date(2019, 4, 16))
    assert (surcharges(engine), balances(engine)) == before
    assert not any(k.endswith("_posted") and k != "surcharges_already_posted" for k in again.counts)


def test_a_2010_debt_is_caught_up_at_0_4_percent(engine):
    world = build_world(engine)
    cid = open_account(world, 1)
    add_call(engine, cid, "2010-03", date(2010, 4, 5), date(2010, 4, 15), 100_000)
    pay(engine, cid, "2010-03", date(2010, 6, 20), 100_000)
    surcharges_step(engine, date(2010, 12, 31))
    assert sorted(a for _, a in surcharges(engine).values()) == [400, 400, 400, 5_000]


@pytest.fixture
def twin(engine, request, tmp_path):
    """A second empty database on the same backend, to compare two histories."""
    if engine.dialect.name == "sqlite":
        path = tmp_path / "twin.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        other = make_engine(f"sqlite:///{path}")
        yield other
        other.dispose()
        return
    admin, template = request.getfixturevalue("postgres_template")
    name = f"rt_twin_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    other = make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    yield other
    other.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_every_day_or_only_the_last_gives_the_same_ledger(engine, twin):
    scenario(engine)
    scenario(twin)
    day = date(2019, 2, 10)
    while day <= date(2019, 5, 10):  # ninety days, one run each
        surcharges_step(engine, day)
        day += timedelta(days=1)
    surcharges_step(twin, date(2019, 5, 10))
    assert surcharges(engine) == surcharges(twin)
    assert balances(engine) == balances(twin)
    assert len(surcharges(engine)) > 10


def test_underestimate_surcharge(engine):
    world = build_world(engine)
    cid = open_account(world, 1)
    shortfalls = {("self_employed_scheme", "basic_pension"): 123_456}
    # 2017: 50,000 € against 30,000 € estimated: above 1.5 times, 10 % of 1,234.56 € = 123.46 €
    result = underestimate_surcharge(
        engine, world.urssaf_agent, cid, 2017, 3_000_000, 5_000_000, date(2018, 6, 1), shortfalls
    )
    assert (result["due"], result["amount"], result["posted"]) == (True, 12_346, 1)
    key = f"surcharge:{cid}:self_employed_scheme:basic_pension:2017:underestimate"
    assert surcharges(engine) == {key: (date(2018, 6, 1), 12_346)}
    again = underestimate_surcharge(
        engine, world.urssaf_agent, cid, 2017, 3_000_000, 5_000_000, date(2018, 6, 1), shortfalls
    )
    assert (again["posted"], again["already_posted"]) == (0, 1)
    # exactly a third above the estimate: nothing; 2019: suspended
    for year, actual in ((2016, 4_000_000), (2019, 9_000_000)):
        none = underestimate_surcharge(
            engine, world.urssaf_agent, cid, year, 3_000_000, actual, date(2020, 6, 1), shortfalls
        )
        assert (none["due"], none["posted"]) == (False, 0)
    assert len(surcharges(engine)) == 1


def test_underestimate_surcharge_refusals(engine):
    world = build_world(engine)
    cid = open_account(world, 1)
    args = (cid, 2017, 3_000_000, 5_000_000, date(2018, 6, 1), {("fund", "health"): 100})
    with pytest.raises(Forbidden):
        underestimate_surcharge(engine, world.outsider, *args)  # another region's agent
    with pytest.raises(DomainError) as err:
        underestimate_surcharge(
            engine, world.urssaf_agent, cid, 2017, 3_000_000, 5_000_000, date(2018, 6, 1),
            {("fund", "surcharge_initial"): 100},
        )  # fmt: skip
    assert err.value.problems[0].code == "not_principal"
    with pytest.raises(DomainError):
        underestimate_surcharge(
            engine, world.urssaf_agent, cid, 2017, 3_000_000, 5.0, date(2018, 6, 1), {}
        )
    assert surcharges(engine) == {}


def test_first_run_keeps_audit_surcharges_dated_before_the_earliest_due_date(engine):
    # The notice gives 45 days to pay, so the 30-day window closes before the due date, the
    # earliest of the database: the months opened are dated 2 July, before the first anniversary.
    world = build_world(engine)
    cid = open_account(world, 1)
    add_call(
        engine, cid, "2022-06", date(2024, 6, 1), date(2024, 7, 16), 1_000_000, "audit_adjustment"
    )
    pay(engine, cid, "2022-06", date(2024, 6, 30), 1_000_000)
    surcharges_step(engine, date(2024, 9, 1))
    found = surcharges(engine)
    assert len(found) == 17 and {d for d, _ in found.values()} == {date(2024, 7, 2)}


def test_in_the_daily_cycle_with_declared_employers(engine, twin, tmp_path, monkeypatch):
    """Declared payroll (several items per debt), calls issued and made overdue by the cycle's own
    steps, receipts on time, late, partial or in excess: sixty days of the cycle leave the same
    surcharges as one run of the step on the last day."""
    pytest.importorskip("recouvrement.services.call_issuing")
    from recouvrement.domain.actors import system_actor
    from recouvrement.services import daily_cycle

    from .cycle_world import FIRST_DAY, build_cycle_world

    monkeypatch.setenv("RECOUVREMENT_DOCUMENTS_DIR", str(tmp_path / "documents"))
    steps = (
        "recouvrement.services.call_issuing:issue_calls_step",
        "recouvrement.services.call_issuing:payment_incidents_step",
        "recouvrement.services.surcharges:surcharges_step",
    )
    last = FIRST_DAY + timedelta(days=59)
    build_cycle_world(engine)
    build_cycle_world(twin)
    daily_cycle.run_until(engine, system_actor("cycle"), last, start=FIRST_DAY, steps=steps)
    surcharges_step(twin, last)
    found = surcharges(engine)
    assert found == surcharges(twin)
    items = {key.split(":")[3] for key in found}
    assert len(items) > 1  # every principal item of the debt bears its own surcharge
    assert not any(item.startswith("surcharge") or item == "credit" for item in items)


def test_a_late_declaration_is_surcharged_from_its_due_date(engine):
    """Declared on 25 April for a debt due on 15 March: the initial surcharge and the months
    opened on 15 March and 15 April passed before the debt was known; they are charged when it
    arrives, on their own keys, and the following months the usual way."""
    cid = scenario(engine)["on_time"]
    surcharges_step(engine, date(2019, 4, 20))  # those anniversaries pass, the debt is unknown
    with engine.begin() as conn:
        conn.execute(
            insert(call).values(
                contributor_id=cid, period="2019-02", kind="employer_monthly",
                reference=f"RF-{cid}-2019-02", issue_date=date(2019, 4, 25),
                due_date=date(2019, 3, 15), amount=100_000, status="issued",
                created_at=datetime(2019, 4, 25, tzinfo=UTC),
            )
        )  # fmt: skip
    ledger.post_entry(
        engine,
        SYSTEM,
        Entry(
            f"declaration:{cid}:2019-02",
            date(2019, 4, 25),
            "declaration",
            (
                Posting("receivable", cid, FUND, ITEM, "2019-02", 100_000),
                Posting("fund_revenue", None, FUND, ITEM, "2019-02", -100_000),
            ),
        ),
    )
    surcharges_step(engine, date(2019, 4, 26))
    prefix = f"surcharge:{cid}:{FUND}:{ITEM}:2019-02:"
    assert {k: v for k, v in surcharges(engine, cid).items() if k.startswith(prefix)} == {
        prefix + "initial": (date(2019, 4, 25), 5_000),
        prefix + "2019-03-15": (date(2019, 4, 25), 200),
        prefix + "2019-04-15": (date(2019, 4, 25), 200),
    }
    surcharges_step(engine, date(2019, 5, 20))
    surcharges_step(engine, date(2019, 5, 20))
    late = {k: v for k, v in surcharges(engine, cid).items() if k.startswith(prefix)}
    assert late[prefix + "2019-05-15"] == (date(2019, 5, 16), 200)
    assert len(late) == 4
