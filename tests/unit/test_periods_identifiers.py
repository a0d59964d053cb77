from datetime import date

import pytest

from recouvrement.domain.errors import DomainError
from recouvrement.domain.identifiers import (
    validate_nir,
    validate_siren,
    validate_siret,
    validate_territory,
)
from recouvrement.domain.periods import Granularity, Period


def test_periods_parse_and_print():
    assert Period.parse("2014-02").end == date(2014, 2, 28)
    assert Period.parse("2016-02").end == date(2016, 2, 29)
    assert str(Period.parse("2014-Q4")) == "2014-Q4"
    assert Period.parse("2014-Q4").start == date(2014, 10, 1)
    assert Period.parse("2014").granularity is Granularity.YEAR
    assert sorted([Period.parse("2015-01"), Period.parse("2014-12")])[0] == Period.parse("2014-12")


@pytest.mark.parametrize("text", ["2014-13", "2014-Q5", "14-01", "", "2014/01"])
def test_bad_periods_are_refused(text):
    with pytest.raises(DomainError):
        Period.parse(text)


def test_identifiers_are_compacted_and_checked():
    assert validate_nir("1 80 01 75 123 456 60") == "180017512345660"
    assert validate_siren("732 829 320") == "732829320"
    assert validate_siret("732 829 320 00074", siren="732829320") == "73282932000074"


@pytest.mark.parametrize(
    "fn, value, code",
    [
        (validate_nir, "180017512345661", "bad_checksum"),
        (validate_nir, "18001", "bad_format"),
        (validate_siren, "732829321", "bad_checksum"),
        (validate_siret, "73282932000075", "bad_checksum"),
    ],
)
def test_bad_identifiers_name_the_problem(fn, value, code):
    with pytest.raises(DomainError) as err:
        fn(value)
    assert err.value.problems[0].code == code


def test_siret_must_belong_to_its_siren():
    with pytest.raises(DomainError) as err:
        validate_siret("73282932000074", siren="542065479")
    assert err.value.problems[0].code == "siret_siren_mismatch"


def test_territories():
    assert validate_territory("976") == "976"
    assert validate_territory("2a") == "2A"
    assert validate_territory("1") == "01"
    for bad in ("20", "96", "977", "xx"):
        with pytest.raises(DomainError):
            validate_territory(bad)
