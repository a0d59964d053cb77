"""The demo region generator: valid identifiers, the shape of the source texts, one seed one region."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from stdnum.fr import nir, siren, siret

from recouvrement.domain.contributors import ContributorKind, validate_contributor
from recouvrement.domain.demo_region import (
    AS_OF,
    CSSM,
    FIRST_ACTIVITY_START,
    RSI,
    URSSAF,
    RegionSize,
    age_on,
    generate_region,
    make_nir,
    make_siren,
    make_siret,
)
from recouvrement.domain.demo_region_data import REGION_DEPARTMENTS
from recouvrement.domain.errors import DomainError

SMALL = RegionSize(self_employed=200, employers=40, mainland_employers=8)


@pytest.fixture(scope="module")
def region():
    return generate_region(2013, SMALL)


def test_nir_carries_sex_birth_month_and_place_with_a_valid_key():
    value = make_nir("2", date(1975, 4, 12), "74", "010", 37)
    assert value.startswith("2750474010037")
    assert nir.is_valid(value)


def test_a_nir_of_someone_born_in_mayotte_has_a_three_digit_department():
    value = make_nir("1", date(1988, 11, 3), "976", "11", 5)
    assert value[5:10] == "97611"
    assert nir.is_valid(value)


def test_siren_and_siret_keys_follow_luhn():
    company = make_siren("73282932")
    assert company == "732829320"
    assert siret.is_valid(make_siret(company, 7))
    assert make_siret(company, 7).startswith(company + "0007")


def test_every_generated_identifier_is_valid(region):
    for c in region.contributors:
        validate_contributor(c.draft)
        if c.draft.kind is ContributorKind.EMPLOYER:
            assert siren.is_valid(c.draft.siren)
            for e in c.draft.establishments:
                assert siret.is_valid(e.siret) and e.siret.startswith(c.draft.siren)
        else:
            assert nir.is_valid(c.draft.nir)
        assert all(nir.is_valid(e.nir) for e in c.employees)


def test_identifiers_are_unique_across_the_region(region):
    nirs = [c.draft.nir for c in region.contributors if c.draft.nir]
    nirs += [e.nir for c in region.contributors for e in c.employees]
    sirens = [c.draft.siren for c in region.contributors if c.draft.siren]
    assert len(nirs) == len(set(nirs))
    assert len(sirens) == len(set(sirens))


def test_sizes_are_those_asked_for(region):
    kinds = Counter((c.draft.organisation_code, c.draft.kind) for c in region.contributors)
    assert kinds == {
        (URSSAF, ContributorKind.SELF_EMPLOYED): 200,
        (CSSM, ContributorKind.EMPLOYER): 40,
        (URSSAF, ContributorKind.EMPLOYER): 8,
    }


def test_self_employed_live_in_the_region_and_started_between_1990_and_the_reference_date(region):
    people = [c for c in region.contributors if c.draft.kind is ContributorKind.SELF_EMPLOYED]
    assert {c.draft.territory for c in people} <= set(REGION_DEPARTMENTS)
    for c in people:
        assert FIRST_ACTIVITY_START <= c.draft.activity_start <= AS_OF
        assert c.opened_on == c.draft.activity_start
        if c.draft.activity_end is not None:
            assert c.draft.activity_start < c.draft.activity_end <= AS_OF
    ended = sum(c.draft.activity_end is not None for c in people)
    assert 0 < ended < len(people) / 2
    assert {c.draft.activity for c in people} == {"craft", "trade"}


def test_mayotte_employers_have_one_to_three_establishments_in_976_and_staff(region):
    employers = [c for c in region.contributors if c.draft.organisation_code == CSSM]
    for c in employers:
        assert c.draft.territory == "976"
        assert 1 <= len(c.draft.establishments) <= 3
        assert {e.territory for e in c.draft.establishments} == {"976"}
        assert 1 <= len(c.employees) <= 40
    assert any(c.draft.public_sector for c in employers)
    seniors = [e for c in employers for e in c.employees if age_on(e.birth_date, AS_OF) >= 65]
    assert seniors, "the Mayotte base excludes the pay of employees aged 65 or over"


def test_joint_unit_agents_come_in_equal_number_from_both_parties(region):
    joint = Counter(a.organisation_code for a in region.agents if "joint_unit_agent" in a.roles)
    assert joint[URSSAF] == joint[RSI] > 0
    assert set(joint) == {URSSAF, RSI}


def test_each_collector_has_its_director_manager_and_accounting_officer(region):
    roles = {(a.organisation_code, r) for a in region.agents for r in a.roles}
    for code in (URSSAF, RSI, CSSM):
        for role in ("director", "manager", "accounting_officer", "appeals_board_member"):
            assert (code, role) in roles
    assert (URSSAF, "auditor") in roles and (CSSM, "auditor") in roles


def test_contributor_logins_point_to_contributors_of_their_organisation(region):
    by_key = {c.key: c for c in region.contributors}
    portal = [a for a in region.agents if a.roles == ("contributor",)]
    assert len(portal) == 5
    for a in portal:
        assert by_key[a.contributor_key].draft.organisation_code == a.organisation_code
    logins = [a.login for a in region.agents]
    assert len(logins) == len(set(logins))


def test_same_seed_same_region_and_another_seed_another():
    assert generate_region(7, SMALL) == generate_region(7, SMALL)
    assert generate_region(7, SMALL).contributors != generate_region(8, SMALL).contributors


def test_generation_leaves_the_global_random_state_alone():
    import random

    random.seed(1)
    expected = random.random()
    random.seed(1)
    generate_region(3, SMALL)
    assert random.random() == expected


def test_an_empty_region_still_has_its_organisations_and_staff():
    region = generate_region(1, RegionSize(0, 0, 0))
    assert region.contributors == ()
    assert len(region.organisations) == 7
    assert all(a.contributor_key is None for a in region.agents)


def test_negative_or_huge_sizes_are_refused_naming_the_field():
    with pytest.raises(DomainError) as err:
        generate_region(1, RegionSize(-1, 10, 10**9))
    assert [p.field for p in err.value.problems] == ["self_employed", "mainland_employers"]
