"""Portal exports: incremental by watermarks, typed Parquet files, reproducible byte for byte."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.contributors import ContributorDraft, ContributorKind, Establishment
from recouvrement.domain.errors import Forbidden
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services import contributors, payroll, portal_export
from recouvrement.services.ledger import post_entries
from recouvrement.services.unit_of_work import UnitOfWork

from .conftest import SYSTEM

MAYOTTE = "unedic-mayotte"
SIRET = "73282932000017"


@pytest.fixture
def declared(world):
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name="Boulangerie de Mamoudzou",
        territory="976",
        organisation_code="CSSM",
        siren="732829320",
        establishments=(Establishment(SIRET, "976", "Mamoudzou", "1071C"),),
    )
    cid = contributors.create_contributor(world.engine, SYSTEM, draft, date(2020, 1, 1))["id"]
    line = {"nir": "180017512345660", "birth_date": "1980-01-01", "gross_pay": "2000.00"}
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-03", [line], date(2020, 4, 10))
    return world, cid


def _read(directory, name):
    return pl.read_parquet(directory / f"{name}.parquet")


def test_exports_carry_what_happened_since_the_previous_one(declared, tmp_path):
    world, cid = declared
    first = portal_export.export_portal(
        world.engine, SYSTEM, agreement=MAYOTTE, period="2020-03", directory=tmp_path / "1"
    )
    assert first["sequence"] == 1
    assert first["rows"]["declarations"] == 1 and first["rows"]["receipts"] == 0
    debts = _read(tmp_path / "1", "debts")
    assert set(debts["fund"]) == {"unedic", "ags"}
    owed = int(debts["amount"].sum())
    assert owed > 0
    assert _read(tmp_path / "1", "contributors")["contributor_id"].to_list() == [cid]
    paid = (
        Posting("bank", None, "", "", "", 1000),
        Posting("receivable", cid, "unedic", "unemployment_employer", "2020-03", -1000),
    )
    with UnitOfWork(world.engine) as uow:
        post_entries(uow.conn, SYSTEM, [Entry("pay-1", date(2020, 4, 15), "payment", paid)])
        uow.commit()
    second = portal_export.export_portal(
        world.engine, SYSTEM, agreement=MAYOTTE, period="2020-04", directory=tmp_path / "2"
    )
    assert second["rows"]["declarations"] == 0 and second["rows"]["debts"] == 0
    assert second["rows"]["receipts"] == 1
    balances = _read(tmp_path / "2", "balances")
    assert int(balances["balance"].sum()) == owed - 1000
    manifest = json.loads((tmp_path / "2" / "manifest.json").read_text())
    assert manifest["watermarks"]["journal_entry"][0] == first["entry_to"]
    assert manifest["datasets"]["balances"]["columns"]["balance"] == "Int64"


def test_an_export_is_reproduced_identically_later(declared, tmp_path):
    world, _ = declared
    first = portal_export.export_portal(
        world.engine, SYSTEM, agreement=MAYOTTE, period="2020-03", directory=tmp_path / "a"
    )
    line = {"nir": "180017512345660", "birth_date": "1980-01-01", "gross_pay": "2500.00"}
    payroll.declare(world.engine, world.cssm_agent, SIRET, "2020-04", [line], date(2020, 5, 10))
    again = portal_export.reproduce_export(
        world.engine, SYSTEM, agreement=MAYOTTE, sequence=1, directory=tmp_path / "b"
    )
    assert again["manifest_sha256"] == first["manifest_sha256"]
    for name in ("debts", "declarations", "balances", "manifest"):
        ext = "json" if name == "manifest" else "parquet"
        assert (tmp_path / "a" / f"{name}.{ext}").read_bytes() == (
            tmp_path / "b" / f"{name}.{ext}"
        ).read_bytes()


def test_contributors_cannot_export(declared, tmp_path):
    world, cid = declared
    portal = Actor("portail", None, None, frozenset({Role.CONTRIBUTOR}), contributor_id=cid)
    with pytest.raises(Forbidden):
        portal_export.export_portal(
            world.engine, portal, agreement=MAYOTTE, period="2020-03", directory=tmp_path
        )


def test_the_command_exports_and_reproduces(declared, tmp_path, database_url, monkeypatch):
    from typer.testing import CliRunner

    from recouvrement.adapters.cli import app

    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    runner = CliRunner()
    made = runner.invoke(
        app, ["transfers", "portal-export", "--period", "2020-03", "--output", str(tmp_path / "x")]
    )
    assert made.exit_code == 0, made.output
    assert "Export n° 1 (2020-03)" in made.output and "declarations 1" in made.output
    again = runner.invoke(
        app, ["transfers", "portal-export", "--sequence", "1", "--output", str(tmp_path / "y")]
    )
    assert again.exit_code == 0, again.output
    both = runner.invoke(
        app,
        ["transfers", "portal-export", "--sequence", "1", "--period", "2020-03", "--output", "z"],
    )
    assert both.exit_code == 2
