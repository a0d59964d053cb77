"""`recouvrement registration`: French summary, the rejects, and exit codes 0 / 1 / 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from recouvrement.adapters.cli import app

DATA = Path(__file__).parent.parent / "data" / "registration"
HEADER = (
    "record_id;action;effective_date;kind;organisation;name;territory;nir;activity;activity_start"
)
GOOD = "R-1;affiliation;2026-01-05;self_employed;URSSAF-REG;Léa Moreau;69;275011305507780;trade;2018-09-01"


@pytest.fixture
def cli(world, database_url, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, ["registration", *map(str, args)])

    return run


def test_a_clean_file_exits_0_and_a_replay_says_nothing_changed(cli, tmp_path):
    path = tmp_path / "propre.csv"
    path.write_text(f"{HEADER}\n{GOOD}\n", encoding="utf-8")
    first = cli("import", path, "--date", "2026-11-24")
    assert first.exit_code == 0, first.output
    assert "1 appliqué(s), 0 rejeté(s)" in first.output
    again = cli("import", path)
    assert again.exit_code == 0
    assert "déjà importé" in again.output and "rien n'a changé" in again.output


def test_rejects_exit_1_and_are_printed_with_line_field_and_reason(cli):
    result = cli("import", DATA / "mixed.csv", "--agent", "agent.urssaf")
    assert result.exit_code == 1, result.output
    assert "3 appliqué(s), 9 rejeté(s)" in result.output
    assert "ligne 4 [A-003] nir : NIR '180017512345661' : clé de contrôle incorrecte" in (
        result.output
    )
    listing = cli("rejects", "--agent", "agent.rsi")
    assert listing.exit_code == 0
    assert "9 rejet(s) affiché(s) sur 9." in listing.output
    assert cli("rejects", "--agent", "agent.autre").output.strip().endswith("sur 0.")


def test_a_refused_file_exits_2_with_the_reason(cli, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\n{GOOD}\n".encode("latin-1"))
    result = cli("import", path)
    assert result.exit_code == 2
    assert "Fichier refusé" in result.output and "ligne 2" in result.output
    assert cli("import", path, "--encoding", "latin-1").exit_code == 0
    assert cli("import", tmp_path / "absent.csv").exit_code == 2
    assert cli("import", path, "--format", "xml").exit_code == 2
