"""The Mayotte transfer schedule (amendment of 18 December 2013, art. 5) follows the agreement data."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from recouvrement.adapters.cli import app
from recouvrement.agreements.loader import DATA_DIR, load_directory, shipped_agreements
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.errors import DomainError
from recouvrement.domain.transfer_schedule import (
    EventKind,
    advance_payment_day,
    regularisation_due,
    transfer_rules,
    transfer_schedule,
)

MAINLAND = calendar_for(None)
FIRST, LAST = 2013, 2040


@pytest.fixture(scope="module")
def mayotte():
    return shipped_agreements().resolve("unedic-mayotte", date(2013, 1, 1))


@pytest.fixture(scope="module")
def schedule(mayotte):
    events = transfer_schedule(mayotte, FIRST, LAST)
    by_year: dict[int, dict[EventKind, object]] = {}
    for e in events:
        assert e.kind not in by_year.setdefault(e.year, {}), "one event of each kind a year"
        by_year[e.year][e.kind] = e
    return by_year


def latest_business_day_not_after(day: date, limit: date) -> bool:
    """The day is open, not past the limit, and the next open day would be."""
    return (
        MAINLAND.is_business_day(day)
        and day <= limit
        and MAINLAND.add_business_days(day, 1) > limit
    )


def test_every_year_from_2013_to_2040_has_its_events(schedule):
    assert sorted(schedule) == list(range(FIRST, LAST + 1))
    regular = {k for k in EventKind if k is not EventKind.FIRST_ADVANCE_NOTIFICATION_DEADLINE}
    for year, events in schedule.items():
        expected = regular | (
            {EventKind.FIRST_ADVANCE_NOTIFICATION_DEADLINE} if year == 2013 else set()
        )
        assert set(events) == expected, year


def test_every_computed_day_is_a_mainland_business_day_and_the_latest_allowed(schedule):
    for year, events in schedule.items():
        payment = events[EventKind.ADVANCE_PAYMENT]
        assert not payment.is_deadline and payment.calendar == "FR"
        assert latest_business_day_not_after(payment.when, date(year, 6, 30)), payment
        closing = events[EventKind.ACCOUNTS_CLOSING_DEADLINE]
        assert latest_business_day_not_after(closing.when, date(year + 1, 2, 15)), closing
        regularisation = events[EventKind.REGULARISATION_DEADLINE]
        limit = min(MAINLAND.add_business_days(closing.when, 10), date(year + 1, 2, 28))
        assert latest_business_day_not_after(regularisation.when, limit), regularisation
        for e in events.values():
            day = e.when.date() if isinstance(e.when, datetime) else e.when
            assert MAINLAND.is_business_day(day), e


def test_announcements_are_the_business_day_before_at_16_30_paris_time(schedule):
    for year, events in schedule.items():
        pairs = (
            (EventKind.ADVANCE_ANNOUNCEMENT, EventKind.ADVANCE_PAYMENT, timedelta(hours=2)),
            (
                EventKind.REGULARISATION_ANNOUNCEMENT,
                EventKind.REGULARISATION_DEADLINE,
                timedelta(hours=1),
            ),
        )
        for announcement, payment, offset in pairs:
            a, p = events[announcement], events[payment]
            assert a.is_deadline and isinstance(a.when, datetime)
            assert a.when.date() == MAINLAND.add_business_days(p.when, -1), (year, a)
            assert (a.when.hour, a.when.minute) == (16, 30)
            assert str(a.when.tzinfo) == "Europe/Paris"
            assert a.when.utcoffset() == offset, a  # summer time in June, winter in February
            assert a.recipients and all("@" in r for r in a.recipients)


def test_the_2013_regularisation_belongs_to_2013_and_falls_in_february_2014(schedule):
    regularisation = schedule[2013][EventKind.REGULARISATION_DEADLINE]
    assert regularisation.year == 2013
    assert regularisation.when == date(2014, 2, 28)
    assert schedule[2014][EventKind.REGULARISATION_DEADLINE].when == date(
        2015, 2, 27
    )  # Saturday 28


def test_first_advance_rests_on_the_notification_due_before_31_may_2013(schedule):
    notice = schedule[2013][EventKind.FIRST_ADVANCE_NOTIFICATION_DEADLINE]
    assert notice.when.isoformat() == "2013-05-31T00:00:00+02:00"
    assert notice.article == "art. 5.3"
    assert schedule[2013][EventKind.ADVANCE_PAYMENT].basis == "notified_by_fund"
    assert schedule[2014][EventKind.ADVANCE_PAYMENT].basis == "receipts_2013"


def test_known_days(schedule):
    assert schedule[2013][EventKind.ADVANCE_PAYMENT].when == date(2013, 6, 28)  # 30 June: Sunday
    assert schedule[2013][EventKind.ADVANCE_ANNOUNCEMENT].when.isoformat() == (
        "2013-06-27T16:30:00+02:00"
    )
    assert schedule[2014][EventKind.ADVANCE_PAYMENT].when == date(2014, 6, 30)  # Monday
    assert schedule[2014][EventKind.ADVANCE_ANNOUNCEMENT].when.date() == date(2014, 6, 27)
    assert schedule[2019][EventKind.ADVANCE_PAYMENT].when == date(2019, 6, 28)
    assert schedule[2013][EventKind.ACCOUNTS_CLOSING_DEADLINE].when == date(2014, 2, 14)


def test_regularisation_is_due_ten_business_days_after_the_closing_and_by_28_february(mayotte):
    rules = transfer_rules(mayotte)
    assert regularisation_due(rules, 2013, date(2014, 2, 3)) == date(2014, 2, 17)
    assert regularisation_due(rules, 2013, date(2014, 1, 31)) == date(2014, 2, 14)
    assert regularisation_due(rules, 2013, date(2014, 2, 14)) == date(2014, 2, 28)
    # a late closing does not move the limit, which rolls back from Saturday 28 February 2015
    assert regularisation_due(rules, 2014, date(2015, 2, 20)) == date(2015, 2, 27)


def test_a_closing_before_the_year_is_over_is_refused(mayotte):
    with pytest.raises(DomainError) as err:
        regularisation_due(transfer_rules(mayotte), 2013, date(2013, 12, 31))
    assert err.value.problems[0].field == "closing_day"


@lru_cache(maxsize=1)
def shipped_rules():
    return transfer_rules(shipped_agreements().resolve("unedic-mayotte"))


@settings(deadline=None)  # the first call loads the holiday lists; speed is not checked here
@given(
    st.integers(min_value=FIRST, max_value=LAST),
    st.integers(min_value=0, max_value=58),
)
def test_regularisation_due_is_the_latest_business_day_allowed(year, day_of_year):
    rules = shipped_rules()
    closing = date(year + 1, 1, 1) + timedelta(days=day_of_year)
    due = regularisation_due(rules, year, closing)
    limit = min(MAINLAND.add_business_days(closing, 10), date(year + 1, 2, 28))
    assert latest_business_day_not_after(due, limit)


def modified_registry(tmp_path: Path, change) -> object:
    """A registry from a copy of the shipped files with one agreement's settings changed."""
    for source in DATA_DIR.glob("*.yaml"):
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        if data["agreement"]["code"] == "unedic-mayotte":
            change(data["agreement"]["settings"])
        (tmp_path / source.name).write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return load_directory(tmp_path)


def test_the_schedule_follows_the_data_without_code_change(tmp_path):
    def change(settings):
        settings["transfers.advance.payment_day"]["value"] |= {"month": 7, "day": 14}
        settings["transfers.announcement"]["value"] |= {
            "business_days_before": 2,
            "before": "12:00",
        }
        settings["transfers.regularisation.due_within_business_days"]["value"] = 5
        settings["transfers.regularisation.accounts_closing_latest"]["value"]["day"] = 10
        settings["transfers.calendar"]["value"]["subdivision"] = "976"

    resolved = modified_registry(tmp_path, change).resolve("unedic-mayotte")
    events = {(e.year, e.kind): e for e in transfer_schedule(resolved, 2015, 2016)}
    # 14 July is a holiday: the advance rolls back to Monday 13 July 2015
    assert events[2015, EventKind.ADVANCE_PAYMENT].when == date(2015, 7, 13)
    assert events[2015, EventKind.ADVANCE_ANNOUNCEMENT].when.isoformat() == (
        "2015-07-09T12:00:00+02:00"
    )
    # closing by Wednesday 10 February 2016, then 5 business days: Wednesday 17 February
    assert events[2015, EventKind.ACCOUNTS_CLOSING_DEADLINE].when == date(2016, 2, 10)
    assert events[2015, EventKind.REGULARISATION_DEADLINE].when == date(2016, 2, 17)
    assert events[2015, EventKind.ADVANCE_PAYMENT].calendar == "FR-976"
    rules = transfer_rules(resolved)
    # Mayotte's calendar: 27 April 2016 is closed there
    assert rules.calendar.add_business_days(date(2016, 4, 26), 1) == date(2016, 4, 28)
    assert advance_payment_day(rules, 2016) == date(2016, 7, 13)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda s: s.pop("transfers.regularisation.latest"), "transfers.regularisation.latest"),
        (
            lambda s: s["transfers.announcement"]["value"].update(before="4h30pm"),
            "transfers.announcement.before",
        ),
        (
            lambda s: s["transfers.advance.payment_day"]["value"].update(day=31, month=6),
            "transfers.advance.payment_day",
        ),
        (
            lambda s: s["transfers.regularisation.owed_account"].update(value="annex_3"),
            "transfers.regularisation.owed_account",
        ),
        (
            lambda s: s["transfers.calendar"]["value"].update(country="XX"),
            "transfers.calendar",
        ),
    ],
)
def test_a_schedule_the_data_gets_wrong_is_refused_naming_the_setting(tmp_path, change, field):
    resolved = modified_registry(tmp_path, change).resolve("unedic-mayotte")
    with pytest.raises(DomainError) as err:
        transfer_schedule(resolved, 2013, 2014)
    assert err.value.problems[0].field == field


def run(*args):
    return CliRunner().invoke(app, ["transfers", "calendar", *args])


def test_calendar_command_prints_the_exact_json_shape():
    result = run(
        "--agreement", "unedic-mayotte", "--from", "2013", "--to", "2040", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    assert len(events) == 28 * 5 + 1
    for e in events:
        assert isinstance(e["year"], int) and e["kind"] in set(EventKind)
        assert ("date" in e) != ("deadline" in e)
        assert {"calendar", "article", "source"} <= set(e)
    assert events[:3] == [
        {
            "year": 2013,
            "kind": "first_advance_notification_deadline",
            "deadline": "2013-05-31T00:00:00+02:00",
            "calendar": "FR",
            "article": "art. 5.3",
            "source": "art. 5.3 : l'Unédic notifie avant le 31 mai 2013 les contributions "
            "encaissées au titre de 2012",
            "basis": "receipts_2012",
        },
        {
            "year": 2013,
            "kind": "advance_announcement",
            "deadline": "2013-06-27T16:30:00+02:00",
            "calendar": "FR",
            "article": "art. 5.1 et 5.2",
            "source": "art. 5.1 et 5.2 : annonce le jour ouvré précédent avant 16h30 par mail",
            "recipients": [
                "tresorerie@unedic.example",
                "conventions@unedic.example",
                "agence-comptable@acoss.example",
                "finances@pole-emploi.example",
            ],
        },
        {
            "year": 2013,
            "kind": "advance_payment",
            "date": "2013-06-28",
            "calendar": "FR",
            "article": "art. 5.1",
            "source": "art. 5.1 : acompte annuel au 30 juin (ou jour ouvré précédent)",
            "account": "annex_1",
            "basis": "notified_by_fund",
        },
    ]
    last = [e for e in events if e["year"] == 2040]
    assert [e["kind"] for e in last] == [
        "advance_announcement",
        "advance_payment",
        "accounts_closing_deadline",
        "regularisation_announcement",
        "regularisation_deadline",
    ]
    assert last[-1]["deadline"] == "2041-02-28"


def test_calendar_command_text_format_is_french():
    result = run("--agreement", "unedic-mayotte", "--from", "2014", "--to", "2014")
    assert result.exit_code == 0, result.output
    assert "versement de l'acompte annuel" in result.stdout
    assert "le 2014-06-30, compte annex_1" in result.stdout
    assert "avant le 2014-06-27 16:30 (Europe/Paris)" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("--agreement", "inconnue", "--from", "2013", "--to", "2014"), "convention inconnue"),
        (
            ("--agreement", "unedic-mayotte", "--from", "2012", "--to", "2014"),
            "avant l'entrée en vigueur",
        ),
        (
            ("--agreement", "unedic-mayotte", "--from", "2015", "--to", "2014"),
            "après l'année de fin",
        ),
        (("--agreement", "isu-region", "--from", "2014", "--to", "2014"), "ne prévoit pas"),
    ],
)
def test_calendar_command_refuses_bad_requests_in_french(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
