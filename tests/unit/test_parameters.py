"""The loader of dated parameters: what it refuses, how lookups fall back, and that law is data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from recouvrement.domain.assessment.employer import EmployeeMonth, assess_employee_month
from recouvrement.domain.periods import Period
from recouvrement.rules.parameters import (
    PARAMETERS_DIR,
    ParameterError,
    load_directory,
    load_parameters,
    parse_documents,
)


def _doc(values: str, unit: str = "rate") -> list[tuple[str, str]]:
    return [("test.yaml", f"parameters:\n  p:\n    unit: {unit}\n    values:\n{values}")]


def test_overlap_is_refused():
    text = """
      - {from: 2014-01-01, to: 2014-12-31, value: "0.01", source: "a"}
      - {from: 2014-06-01, value: "0.02", source: "b"}
"""
    with pytest.raises(ParameterError, match="chevauchement"):
        parse_documents(_doc(text))


def test_gap_between_values_is_refused():
    text = """
      - {from: 2014-01-01, to: 2014-06-30, value: "0.01", source: "a"}
      - {from: 2014-08-01, value: "0.02", source: "b"}
"""
    with pytest.raises(ParameterError, match="trou"):
        parse_documents(_doc(text))


def test_two_values_starting_the_same_day_are_refused():
    text = """
      - {from: 2014-01-01, value: "0.01", source: "a"}
      - {from: 2014-01-01, value: "0.02", source: "b"}
"""
    with pytest.raises(ParameterError, match="deux valeurs"):
        parse_documents(_doc(text))


def test_values_out_of_order_are_refused():
    text = """
      - {from: 2015-01-01, value: "0.01", source: "a"}
      - {from: 2014-01-01, value: "0.02", source: "b"}
"""
    with pytest.raises(ParameterError, match="désordre"):
        parse_documents(_doc(text))


def test_float_rate_is_refused():
    with pytest.raises(ParameterError, match="guillemets"):
        parse_documents(_doc('      - {from: 2014-01-01, value: 0.024, source: "a"}\n'))


def test_missing_source_is_refused():
    with pytest.raises(ParameterError, match="source obligatoire"):
        parse_documents(_doc('      - {from: 2014-01-01, value: "0.024"}\n'))


def test_documented_gap_refuses_lookup_and_names_it():
    text = """
      - {from: 2014-01-01, to: 2014-12-31, value: "0.01", source: "a"}
      - {from: 2015-01-01, to: 2015-12-31, gap: true, value: null, source: "non trouvé"}
      - {from: 2016-01-01, value: "0.02", source: "c"}
"""
    params = parse_documents(_doc(text))
    assert params.value("p", date(2014, 5, 1)) == Decimal("0.01")
    assert params.value("p", date(2016, 5, 1)) == Decimal("0.02")
    with pytest.raises(ParameterError, match="lacune documentée du 2015-01-01 au 2015-12-31"):
        params.value("p", date(2015, 5, 1))


def test_gap_with_a_value_is_refused():
    with pytest.raises(ParameterError, match="gap"):
        parse_documents(_doc('      - {from: 2014-01-01, gap: true, value: "1", source: "a"}\n'))


def test_lookup_before_the_first_value_is_refused():
    params = parse_documents(_doc('      - {from: 2014-01-01, value: "0.01", source: "a"}\n'))
    with pytest.raises(ParameterError, match="aucune valeur"):
        params.value("p", date(2013, 12, 31))


def test_latest_value_on_or_before_the_date():
    params = load_parameters()
    assert params.value("unemployment.employee_rate", date(2017, 12, 31)) == Decimal("0.0240")
    assert params.value("unemployment.employee_rate", date(2018, 1, 1)) == Decimal("0.0095")
    assert params.value("unemployment.employee_rate", date(2018, 10, 1)) == Decimal("0")


def test_territory_without_its_own_values_falls_back_to_default():
    params = load_parameters()
    on = date(2020, 3, 1)
    assert params.value("unemployment.employer_rate", on, "971") == params.value(
        "unemployment.employer_rate", on
    )
    assert params.value("unemployment.employer_rate", on, "976") == Decimal("0.0280")


def test_shipped_parameters_all_carry_a_source():
    params = load_parameters()
    for name in params.names():
        for values in params.get(name).timelines.values():
            assert all(v.source for v in values), name


def test_values_on_returns_errors_for_gaps_instead_of_raising():
    days = [date(2014, 1, 1), date(2017, 1, 1)]
    out = load_parameters().get("social_security_ceiling.monthly").values_on(days, "976")
    assert isinstance(out[0], ParameterError)
    assert out[1].value == 159200


def test_a_change_of_law_is_a_data_change(tmp_path):
    """A new employer rate from 2027 is one dated line in a file: no code changes."""
    for f in PARAMETERS_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    case = EmployeeMonth(Period.parse("2027-03"), "75", 300000, date(1980, 1, 1))
    before = assess_employee_month(load_directory(tmp_path), case)
    assert before[0].amount == 12000  # 4.00 % still in force

    path = tmp_path / "unemployment.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = '        source: "Arrêté du 19 décembre 2024'
    head, tail = text.split(anchor, 1)
    first_line, rest = tail.split("\n", 1)
    new = (
        "      - from: 2027-01-01\n"
        '        value: "0.0420"\n'
        '        source: "Nouvelle convention d\'assurance chômage (exemple de test)"\n'
    )
    path.write_text(head + anchor + first_line + "\n" + new + rest, encoding="utf-8")
    after = assess_employee_month(load_directory(tmp_path), case)
    assert after[0].rate == Decimal("0.0420")
    assert after[0].amount == 12600
    assert "Nouvelle convention" in after[0].sources[-1]
