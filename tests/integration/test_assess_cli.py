"""`recouvrement assess` and `explain` end to end, and the explain endpoint of the API."""

from __future__ import annotations

import json

import polars as pl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from recouvrement.adapters.api import create_app
from recouvrement.adapters.cli import app
from recouvrement.services import authentication

from .conftest import SYSTEM

runner = CliRunner()

CASES = [
    {
        "id": "mayotte-2020",
        "scheme": "employer_unemployment",
        "period": "2020-03",
        "territory": "976",
        "gross_pay": "2500.00",
        "birth_date": "1970-05-01",
    },
    {
        "id": "paris-cap",
        "scheme": "employer_unemployment",
        "period": "2019-03",
        "territory": "75",
        "gross_pay": "20000.00",
    },
    {"id": "bad-period", "scheme": "employer_unemployment", "period": "2019-13", "territory": "75"},
    {
        "id": "mayotte-65",
        "scheme": "employer_unemployment",
        "period": "2020-03",
        "territory": "976",
        "gross_pay": "2500.00",
        "birth_date": "1952-05-01",
    },
]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_assess_jsonl_keeps_order_reports_bad_lines_and_exits_non_zero(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _jsonl(src, CASES)
    result = runner.invoke(app, ["assess", str(src), str(out)])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["mayotte-2020", "paris-cap", "bad-period", "mayotte-65"]
    assert rows[0] == {
        "id": "mayotte-2020",
        "items": {"unemployment_employer": "70.00", "unemployment_employee": "0.00", "ags": "3.75"},
        "base": "2500.00",
        "ceiling": "4728.38",
    }
    assert rows[1]["base"] == "13508.00"  # 4 × 3 377 €
    assert rows[1]["items"]["unemployment_employer"] == "547.07"
    assert "period" in rows[2]["error"]
    assert rows[3]["items"]["unemployment_employer"] == "0.00"
    assert "65 ans" in rows[3]["exclusion"]


def test_assess_succeeds_with_exit_zero_when_every_line_is_good(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _jsonl(src, CASES[:2])
    assert runner.invoke(app, ["assess", str(src), str(out)]).exit_code == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_assess_reads_and_writes_csv_and_parquet(tmp_path, suffix):
    src, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    frame = pl.DataFrame(CASES[:2]).with_columns(pl.all().cast(pl.String))
    frame.write_csv(src) if suffix == ".csv" else frame.write_parquet(src)
    assert runner.invoke(app, ["assess", str(src), str(out)]).exit_code == 0
    got = pl.read_csv(out, infer_schema=False) if suffix == ".csv" else pl.read_parquet(out)
    assert got["id"].to_list() == ["mayotte-2020", "paris-cap"]
    assert got["unemployment_employer"].to_list() == ["70.00", "547.07"]


def test_self_employed_lines_never_crash_the_batch(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [
        {
            "id": "se",
            "scheme": "self_employed",
            "year": 2016,
            "activity": "craft",
            "income": "35000.00",
        },
        CASES[1],
    ]
    _jsonl(src, rows)
    runner.invoke(app, ["assess", str(src), str(out)])
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert got[0]["id"] == "se" and ("items" in got[0] or "error" in got[0])
    assert got[1]["items"]["unemployment_employer"] == "547.07"


def test_unknown_extension_is_refused_with_a_clear_message(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("{}", encoding="utf-8")
    result = runner.invoke(app, ["assess", str(src), str(tmp_path / "out.jsonl")])
    assert result.exit_code != 0
    assert "extension" in str(result.exception)


def test_explain_prints_each_line_with_its_rate_ceiling_and_sources():
    result = runner.invoke(
        app,
        [
            "explain",
            "--period",
            "2016-12",
            "--territory",
            "976",
            "--gross-pay",
            "3000.00",
            "--birth-date",
            "1980-01-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "plafond : 2101.50 €" in result.output
    assert "taux : 2,10 %" in result.output
    assert "cotisation AGS non due" in result.output
    assert "art. 38" in result.output


def test_explain_endpoint_answers_in_french_with_sources(world):
    client = TestClient(create_app(world.engine))
    token = authentication.issue_token(world.engine, SYSTEM, "agent.cssm")
    response = client.get(
        "/api/v1/assessments/explain",
        params={
            "period": "2018-08",
            "territory": "976",
            "gross_pay": "2000.00",
            "birth_date": "1960-02-01",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    employer = body["lines"][0]
    assert employer["rate"] == "2,80 %"
    assert employer["amount"] == "56.00"
    assert employer["ceiling"] == "4728.38"
    assert any("art. 38" in s for s in employer["sources"])
    assert body["total"] == "89.00"


def test_explain_endpoint_names_the_field_in_error(world):
    client = TestClient(create_app(world.engine))
    token = authentication.issue_token(world.engine, SYSTEM, "agent.cssm")
    response = client.get(
        "/api/v1/assessments/explain",
        params={"period": "2018-08", "territory": "999", "gross_pay": "2000.00"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "territory"


def test_explain_endpoint_requires_a_token(world):
    client = TestClient(create_app(world.engine))
    assert client.get("/api/v1/assessments/explain").status_code == 401


def test_periods_outside_the_known_rules_are_errors_not_a_hang(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    far = {**CASES[1], "id": "far", "period": "9999-03"}
    _jsonl(src, [far])
    assert runner.invoke(app, ["assess", str(src), str(out)]).exit_code == 1
    _jsonl(src, [far, {**CASES[1], "id": "old", "period": "1990-03"}, CASES[1]])
    runner.invoke(app, ["assess", str(src), str(out)])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert "hors des barèmes" in rows[0]["error"]
    assert "hors des barèmes" in rows[1]["error"]
    assert rows[2]["items"]["unemployment_employer"] == "547.07"
