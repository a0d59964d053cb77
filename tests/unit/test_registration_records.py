"""Parsing one registration-flow record: a typed record, or every problem with its field."""

from __future__ import annotations

from datetime import date

import pytest

from recouvrement.domain.contributors import Activity, ContributorKind
from recouvrement.domain.registration import (
    Affiliation,
    Change,
    Deregistration,
    deregistration_problems,
    parse_record,
)

NIR = "180017512345660"
SIREN = "732829320"
SIRET = "73282932000017"

CRAFTSMAN = {
    "record_id": "A-1",
    "action": "affiliation",
    "effective_date": "2026-01-05",
    "kind": "self_employed",
    "organisation": "URSSAF-REG",
    "name": "  Jeanne Martin ",
    "territory": "69",
    "nir": "1 80 01 75 123 456 60",
    "activity": "craft",
    "activity_start": "01/03/2015",
}
EMPLOYER = {
    "record_id": "A-2",
    "action": "affiliation",
    "effective_date": "2026-01-05",
    "kind": "employer",
    "organisation": "CSSM",
    "name": "Boulangerie",
    "territory": "976",
    "siren": SIREN,
    "siret": SIRET,
    "public_sector": "oui",
}


def fields(raw) -> list[tuple[str, str]]:
    record, problems = parse_record(raw)
    assert record is None
    return [(p.field, p.code) for p in problems]


def test_a_self_employed_affiliation_becomes_a_validated_draft():
    record, problems = parse_record(CRAFTSMAN)
    assert problems == []
    assert isinstance(record, Affiliation)
    assert record.effective_date == date(2026, 1, 5)
    assert record.draft.nir == NIR and record.draft.name == "Jeanne Martin"
    assert record.draft.activity is Activity.CRAFT
    assert record.draft.activity_start == date(2015, 3, 1)


def test_an_employer_affiliation_carries_one_establishment_in_its_territory():
    record, problems = parse_record(EMPLOYER)
    assert problems == []
    (site,) = record.draft.establishments
    assert (site.siret, site.territory) == (SIRET, "976")
    assert record.draft.public_sector is True
    other, _ = parse_record({**EMPLOYER, "establishment_territory": "971"})
    assert other.draft.establishments[0].territory == "971"
    assert other.draft.territory == "976"


def test_json_values_may_be_numbers_and_booleans_where_they_make_sense():
    record, problems = parse_record(
        {**EMPLOYER, "siren": 732829320, "public_sector": False, "record_id": 17}
    )
    assert problems == [] and record.record_id == "17" and record.draft.siren == SIREN
    assert fields({**EMPLOYER, "name": ["liste"]}) == [("name", "bad_type")]
    assert fields({**EMPLOYER, "siren": True}) == [("siren", "bad_type")]


def test_every_problem_of_a_record_is_reported_at_once():
    raw = {**CRAFTSMAN, "nir": "180017512345661", "territory": "977", "activity": "farming"}
    assert sorted(fields(raw)) == [
        ("activity", "unknown_value"),
        ("nir", "bad_checksum"),
        ("territory", "unknown_territory"),
    ]


def test_the_common_fields_are_required():
    assert fields({}) == [
        ("record_id", "required"),
        ("action", "required"),
        ("effective_date", "required"),
        ("kind", "required"),
    ]
    assert fields({**CRAFTSMAN, "record_id": "   "}) == [("record_id", "required")]
    assert fields({**CRAFTSMAN, "record_id": "x" * 101}) == [("record_id", "too_long")]


@pytest.mark.parametrize(
    "value, code",
    [("2026-02-30", "bad_date"), ("5 janvier 2026", "bad_date"), ("1899-12-31", "bad_date")],
)
def test_dates_are_iso_or_french_and_plausible(value, code):
    assert fields({**CRAFTSMAN, "effective_date": value}) == [("effective_date", code)]


def test_an_unknown_field_is_refused_rather_than_ignored():
    assert fields({**CRAFTSMAN, "adresse": "1 rue"}) == [("adresse", "unknown_field")]


def test_fields_that_an_action_would_ignore_are_refused():
    assert fields({**CRAFTSMAN, "siret": SIRET}) == [("siret", "unexpected")]
    assert fields({**EMPLOYER, "activity": "craft"}) == [("activity", "unexpected")]
    change = {**CRAFTSMAN, "action": "change", "activity_start": "2016-01-01"}
    assert ("activity_start", "unexpected") in fields(change)


def test_an_employer_affiliation_needs_a_siret_of_its_siren():
    assert fields({**EMPLOYER, "siret": ""}) == [("siret", "required")]
    assert fields({**EMPLOYER, "siret": "40483304800014"}) == [("siret", "siret_siren_mismatch")]
    assert fields({**EMPLOYER, "public_sector": "peut-être"}) == [("public_sector", "invalid")]


def test_a_change_names_the_contributor_and_only_changeable_fields():
    record, problems = parse_record(
        {
            "record_id": "C-1",
            "action": "change",
            "effective_date": "2026-02-01",
            "kind": "employer",
            "siren": SIREN,
            "siret": "73282932000025",
            "establishment_territory": "976",
        }
    )
    assert problems == []
    assert isinstance(record, Change)
    assert (record.identifier, record.siret, record.establishment_territory) == (
        SIREN,
        "73282932000025",
        "976",
    )
    base = {"record_id": "C-2", "action": "change", "effective_date": "2026-02-01"}
    self_employed = {**base, "kind": "self_employed", "nir": NIR}
    assert fields(self_employed) == [("", "no_change")]
    assert fields({**base, "kind": "self_employed", "name": "X"}) == [("nir", "required")]
    record, _ = parse_record({**self_employed, "activity": "TRADE", "territory": "976"})
    assert (record.activity, record.territory) == (Activity.TRADE, "976")


def test_a_deregistration_needs_only_the_identifier():
    record, problems = parse_record(
        {
            "record_id": "D-1",
            "action": "deregistration",
            "effective_date": "2026-06-30",
            "kind": "self_employed",
            "nir": NIR,
        }
    )
    assert problems == []
    assert record == Deregistration(
        "D-1", date(2026, 6, 30), ContributorKind.SELF_EMPLOYED, NIR, None
    )
    assert fields(
        {
            "record_id": "D-2",
            "action": "deregistration",
            "effective_date": "2026-06-30",
            "kind": "employer",
            "siren": SIREN,
            "name": "Boulangerie",
        }
    ) == [("name", "unexpected")]


def test_deregistration_dates_are_checked_against_start_and_today():
    today = date(2026, 11, 24)
    start = date(2015, 3, 1)
    assert deregistration_problems(date(2026, 6, 30), start, today, False) == []
    assert [p.code for p in deregistration_problems(date(2014, 1, 1), start, today, False)] == [
        "bad_dates"
    ]
    assert [p.code for p in deregistration_problems(date(2027, 1, 1), start, today, True)] == [
        "already_deregistered",
        "future_date",
    ]
