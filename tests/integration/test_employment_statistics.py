"""Quarterly employment statistics by department × activity code, written as CSV and Parquet."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from recouvrement.adapters.cli import app
from recouvrement.adapters.files.statistics_files import read_statistics, write_statistics
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.contributors import ContributorDraft, ContributorKind, Establishment
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.services import contributors, employment_statistics, payroll

from .conftest import SYSTEM

TODAY = date(2020, 5, 10)
BAKERY, ANNEX = "73282932000017", "73282932000025"
ANNA, ALI, ZAK = "180017512345660", "295109912611193", "180017512345660"


def _line(nir, birth, pay):
    return {"nir": nir, "birth_date": birth, "gross_pay": pay}


@pytest.fixture
def declared(world):
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name="Boulangerie de Mamoudzou",
        territory="976",
        organisation_code="CSSM",
        siren="732829320",
        establishments=(
            Establishment(BAKERY, "976", "Mamoudzou", "10.71C"),
            Establishment(ANNEX, "976", "Dzaoudzi"),
        ),
    )
    contributors.create_contributor(world.engine, SYSTEM, draft, TODAY)
    declare = lambda siret, period, lines: payroll.declare(  # noqa: E731
        world.engine, world.cssm_agent, siret, period, lines, TODAY
    )
    declare(BAKERY, "2020-01", [_line(ANNA, "1980-01-01", "2000.00")])
    declare(
        BAKERY,
        "2020-02",
        [_line(ANNA, "1980-01-01", "2000.00"), _line(ALI, "1954-02-10", "1500.00")],
    )
    # the correction replaces the first version of February
    declare(
        BAKERY,
        "2020-02",
        [_line(ANNA, "1980-01-01", "2100.00"), _line(ALI, "1954-02-10", "1500.00")],
    )
    declare(BAKERY, "2020-03", [_line(ANNA, "1980-01-01", "2000.00")])
    declare(ANNEX, "2020-02", [_line(ZAK, "1980-01-01", "1000.00")])
    declare(ANNEX, "2020-04", [_line(ZAK, "1980-01-01", "1000.00")])  # next quarter
    return world


def test_rows_by_department_and_activity_code_from_the_latest_declarations(declared):
    rows = employment_statistics.quarterly_statistics(declared.engine, SYSTEM, "2020-Q1")
    assert [(r["department"], r["naf_code"]) for r in rows] == [("976", ""), ("976", "1071C")]
    unknown, bakery = rows
    assert bakery["establishments"] == 1
    assert bakery["headcount_end_of_quarter"] == 1  # only Anna in March
    assert bakery["employee_months"] == 4
    assert bakery["payroll"] == 200000 + 210000 + 150000 + 200000
    assert bakery["contributions"] == (
        bakery["unemployment_employer"] + bakery["unemployment_employee"] + bakery["ags"]
    )
    assert bakery["contributions"] > 0
    assert unknown["headcount_end_of_quarter"] == 0 and unknown["payroll"] == 100000


def test_csv_and_parquet_carry_the_same_typed_rows(declared, tmp_path):
    rows = employment_statistics.quarterly_statistics(declared.engine, SYSTEM, "2020-Q1")
    for name in ("stats.csv", "stats.parquet"):
        assert write_statistics(rows, tmp_path / name) == 2
        frame = read_statistics(tmp_path / name)
        assert frame.to_dicts() == rows
    first = (tmp_path / "stats.csv").read_bytes()
    write_statistics(rows, tmp_path / "stats.csv")
    assert (tmp_path / "stats.csv").read_bytes() == first
    with pytest.raises(DomainError, match="format"):
        write_statistics(rows, tmp_path / "stats.xlsx")


def test_the_command_writes_the_file_and_refuses_a_month(
    declared, tmp_path, database_url, monkeypatch
):
    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()
    out = tmp_path / "q1.parquet"
    result = runner.invoke(
        app, ["statistics", "employment", "--quarter", "2020-Q1", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2 lignes" in result.output and out.exists()
    bad = runner.invoke(
        app, ["statistics", "employment", "--quarter", "2020-03", "--output", str(out)]
    )
    assert bad.exit_code == 2 and "trimestre attendu" in bad.output


def test_contributors_cannot_read_statistics(declared):
    contributor = Actor("portail", None, None, frozenset({Role.CONTRIBUTOR}), contributor_id=1)
    with pytest.raises(Forbidden):
        employment_statistics.quarterly_statistics(declared.engine, contributor, "2020-Q1")
