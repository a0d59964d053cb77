"""`recouvrement agents load` and `set-password`: all or nothing, reloads change nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from recouvrement.adapters.cli import app
from recouvrement.adapters.db.tables import agent, audit_event, authorization, training
from recouvrement.services import authentication, sessions
from recouvrement.services import authorizations as rights

DATA = Path(__file__).parent.parent / "data" / "agents"
runner = CliRunner()


@pytest.fixture
def cli(world, database_url, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_DATABASE_URL", database_url)
    return lambda *args, **kw: runner.invoke(app, list(args), **kw)


def counts(engine):
    with engine.connect() as conn:
        return tuple(
            conn.scalar(select(func.count()).select_from(t))
            for t in (agent, authorization, training, audit_event)
        )


@pytest.mark.parametrize("name", ["roster.yaml", "roster.csv"])
def test_a_roster_loads_agents_roles_and_rights_and_reloads_idempotently(cli, world, name):
    before = counts(world.engine)
    r = cli("agents", "load", str(DATA / name))
    assert r.exit_code == 0, r.output
    assert "2 agent(s) créé(s)" in r.output and "3 habilitation(s)" in r.output
    after = counts(world.engine)
    assert after[:3] == (before[0] + 2, 3, 1)
    said = authentication.actor_for_login(world.engine, "b.said")
    assert {r.value for r in said.roles} == {"joint_unit_agent", "manager"}
    martin = authentication.actor_for_login(world.engine, "a.martin")
    assert rights.check_activity(world.engine, martin, "phone_reminders", date(2016, 1, 4))
    r = cli("agents", "load", str(DATA / name))
    assert r.exit_code == 0 and "6 élément(s) déjà à jour" in r.output, r.output
    assert counts(world.engine) == after


def test_a_reload_follows_the_file_for_roles(cli, world, tmp_path):
    cli("agents", "load", str(DATA / "roster.yaml"))
    changed = (DATA / "roster.yaml").read_text().replace("[joint_unit_agent, manager]", "[manager]")
    path = tmp_path / "roster.yaml"
    path.write_text(changed)
    r = cli("agents", "load", str(path))
    assert "1 mis à jour" in r.output, r.output
    said = authentication.actor_for_login(world.engine, "b.said")
    assert {r.value for r in said.roles} == {"manager"}


@pytest.mark.parametrize(
    ("content", "suffix", "expected"),
    [
        (
            "agents:\n  - {login: x, name: X, organisation: NOWHERE, roles: [agent]}\n"
            "  - {login: y, name: Y, organisation: CSSM, roles: [system]}\n",
            ".yaml",
            ["agents[0].organisation : organisme inconnu", "agents[1].roles : rôle inconnu"],
        ),
        (
            "agents:\n  - login: x\n    name: X\n    organisation: CSSM\n    roles: [agent]\n"
            "    authorizations: [{activity: complaints, valid_from: 2015-02-30}]\n",
            ".yaml",
            ["agents[0].authorizations[0].valid_from : date invalide"],
        ),
        (
            "kind,login,name,organisation,roles,activity,training,valid_from,valid_to\n"
            "agent,x,X,CSSM,agent,,,,\n"
            "authorization,x,,,,complaints,,2015-01-01,2014-01-01\n"
            "bogus,x,,,,,,,\n",
            ".csv",
            ["ligne 3 › valid_to : la date de fin précède", "ligne 4 › kind"],
        ),
        (
            "kind,login,name,organisation,roles,activity,training,valid_from,valid_to\n"
            "agent,x,X,CSSM,agent,,,,\n"
            "authorization,ghost,,,,complaints,,2015-01-01,\n",
            ".csv",
            ["agent ghost.login : agent inconnu"],
        ),
        ("agents: 3\n", ".yaml", ["agents : liste « agents »"]),
        ("login\nx\n", ".csv", ["colonnes manquantes : kind"]),
        ("x", ".txt", ["format inconnu"]),
    ],
)
def test_a_faulty_roster_is_refused_whole_and_every_fault_named(
    cli, world, tmp_path, content, suffix, expected
):
    path = tmp_path / f"roster{suffix}"
    path.write_text(content)
    before = counts(world.engine)
    r = cli("agents", "load", str(path))
    assert r.exit_code == 2
    for text in expected:
        assert text in r.output, r.output
    assert counts(world.engine) == before


def test_set_password_reads_a_hidden_prompt_twice(cli, world):
    password = "un mot de passe solide"
    r = cli("agents", "set-password", "agent.cssm", input=f"{password}\n{password}\n")
    assert r.exit_code == 0, r.output
    assert password not in r.output
    value, _ = sessions.login(world.engine, "agent.cssm", password)
    assert sessions.actor_for_session(world.engine, value).login == "agent.cssm"
    r = cli("agents", "set-password", "agent.cssm", input="court\ncourt\n")
    assert r.exit_code == 2 and "au moins 12 caractères" in r.output
    r = cli("agents", "set-password", "personne", input=f"{password}\n{password}\n")
    assert r.exit_code == 2 and "agent inconnu" in r.output
