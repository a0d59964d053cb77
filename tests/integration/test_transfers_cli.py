"""`recouvrement transfers`: notification, closing, advance, regularisation and SEPA file from the
command line, with French messages and exit code 2 on a refusal."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from recouvrement.adapters.cli import app


@pytest.fixture
def cli(world, database_url, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, ["transfers", *map(str, args)])

    return run


def test_the_first_year_from_notification_to_file(cli, tmp_path):
    refused = cli("advance", "--year", 2013)
    assert refused.exit_code == 2
    assert "sans la notification par l'Unédic" in refused.output

    late = cli("notify", "--amount", "1234567,89", "--on", "2013-06-03", "--by", "Unédic")
    assert late.exit_code == 2 and "confirmation expresse" in late.output
    ok = cli(
        "notify", "--amount", "1234567,89", "--on", "2013-06-03", "--by", "Unédic", "--accept-late"
    )
    assert ok.exit_code == 0, ok.output
    assert "(TARDIVE) : 1\u202f234\u202f567,89 €" in ok.output

    advance = cli("advance", "--year", 2013)
    assert advance.exit_code == 0, advance.output
    assert "échéance 2013-06-28, compte annex_1, statut planned" in advance.output

    out = tmp_path / "acompte-2013.xml"
    filed = cli("file", 1, "--output", out)
    assert filed.exit_code == 0, filed.output
    assert b"<CtrlSum>1234567.89</CtrlSum>" in out.read_bytes()
    again = cli("file", 1, "--output", tmp_path / "bis.xml")
    assert again.exit_code == 0 and "déjà émis" in again.output
    assert (tmp_path / "bis.xml").read_bytes() == out.read_bytes()  # the very file the bank got


def test_closing_and_regularisation(cli):
    assert cli("advance", "--year", 2014, "--receipts", "2000000").exit_code == 0
    closed = cli("close", "--year", 2014, "--on", "2015-02-06")
    assert closed.exit_code == 0, closed.output
    assert "régularisation due au plus tard le 2015-02-20" in closed.output
    owed = cli("regularise", "--year", 2014, "--final-receipts", "2000100.50")
    assert owed.exit_code == 0, owed.output
    assert (
        "regularisation 2014 (owed) : 100,50 €, échéance 2015-02-20, compte annex_1" in owed.output
    )
    bad = cli("regularise", "--year", 2015, "--final-receipts", "12.345")
    assert bad.exit_code == 2 and "final_receipts" in bad.output
    bad_day = cli("close", "--year", 2015, "--on", "15/02/2016")
    assert bad_day.exit_code == 2 and "date invalide" in bad_day.output
