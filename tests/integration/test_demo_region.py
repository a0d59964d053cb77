"""Loading the demo region, on SQLite and PostgreSQL: valid data, reach, reproducibility, refusals."""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from stdnum.fr import nir, siren, siret
from typer.testing import CliRunner

from recouvrement.adapters.cli import app as cli
from recouvrement.adapters.db.engine import make_engine
from recouvrement.adapters.db.tables import (
    account,
    agent,
    audit_event,
    authorization,
    contributor,
    employee,
    establishment,
    organisation,
    partnership,
    training,
)
from recouvrement.domain.demo_region import AS_OF, RegionSize, age_on
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.services import (
    authentication,
    authorizations,
    contributors,
    demo,
    organisations,
)

from .conftest import SYSTEM

SMALL = RegionSize(self_employed=60, employers=12, mainland_employers=3)


def load(engine, seed=2013, size=SMALL):
    return demo.load_region(engine, SYSTEM, seed=seed, size=size)


@pytest.fixture
def loaded(engine):
    report = load(engine)
    return engine, report


@pytest.fixture
def second_engine(engine, request, tmp_path):
    """Another empty, migrated database on the same backend as `engine`."""
    if engine.dialect.name == "sqlite":
        path = tmp_path / "second.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        other = make_engine(f"sqlite:///{path}")
        yield other
        other.dispose()
        return
    admin, template = request.getfixturevalue("postgres_template")
    name = f"rt_demo_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    other = make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    yield other
    other.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def snapshot(engine) -> dict[str, list]:
    """Everything the load writes, keyed by natural identifiers rather than generated ids."""
    key = func.coalesce(contributor.c.nir, contributor.c.siren)
    org = organisation.c.code
    with engine.connect() as conn:

        def rows(query):
            return sorted(tuple(r) for r in conn.execute(query))

        return {
            "organisations": rows(
                select(
                    organisation.c.code,
                    organisation.c.name,
                    organisation.c.kind,
                    organisation.c.territory,
                )
            ),
            "contributors": rows(
                select(
                    key,
                    org,
                    *[
                        c
                        for c in contributor.c
                        if c.name not in ("id", "organisation_id", "created_at")
                    ],
                ).join(organisation, organisation.c.id == contributor.c.organisation_id)
            ),
            "accounts": rows(select(key, account.c.opened_on).join(contributor)),
            "establishments": rows(
                select(
                    key, establishment.c.siret, establishment.c.territory, establishment.c.name
                ).join(contributor)
            ),
            "employees": rows(
                select(key, employee.c.nir, employee.c.birth_date, employee.c.name).join(
                    contributor
                )
            ),
            "agents": [
                (r[0], r[1], r[2], tuple(r[3]), r[4])
                for r in conn.execute(
                    select(agent.c.login, agent.c.name, org, agent.c.roles, key)
                    .join(organisation, organisation.c.id == agent.c.organisation_id)
                    .outerjoin(contributor, contributor.c.id == agent.c.contributor_id)
                    .order_by(agent.c.login)
                )
            ],
        }


def test_every_nir_siren_and_siret_is_valid(loaded):
    engine, _ = loaded
    with engine.connect() as conn:
        nirs = conn.execute(select(contributor.c.nir).where(contributor.c.nir.is_not(None)))
        nirs = nirs.scalars().all() + conn.execute(select(employee.c.nir)).scalars().all()
        sirens = conn.execute(select(contributor.c.siren).where(contributor.c.siren.is_not(None)))
        sirens = sirens.scalars().all()
        sirets = conn.execute(
            select(establishment.c.siret, contributor.c.siren).join(contributor)
        ).all()
    assert len(nirs) > 60 and all(nir.is_valid(n) for n in nirs)
    assert len(sirens) == 15 and all(siren.is_valid(s) for s in sirens)
    assert len(sirets) >= 15
    assert all(siret.is_valid(s) and s.startswith(owner) for s, owner in sirets)


def test_each_contributor_has_exactly_one_account(loaded):
    engine, _ = loaded
    with engine.connect() as conn:
        per_contributor = conn.execute(
            select(contributor.c.id, func.count(account.c.id))
            .outerjoin(account, account.c.contributor_id == contributor.c.id)
            .group_by(contributor.c.id)
        ).all()
    assert len(per_contributor) == 75
    assert {n for _, n in per_contributor} == {1}


def test_urssaf_and_self_employed_fund_are_partners_and_the_cssm_works_alone(loaded):
    engine, _ = loaded
    with engine.connect() as conn:
        ids = dict(conn.execute(select(organisation.c.code, organisation.c.id)).all())
        pairs = set(conn.execute(select(partnership.c.organisation_id, partnership.c.partner_id)))
        assert organisations.reachable_organisations(conn, ids["URSSAF-RA"]) == {
            ids["URSSAF-RA"],
            ids["RSI-RA"],
        }
        assert organisations.reachable_organisations(conn, ids["CSSM"]) == {ids["CSSM"]}
    assert pairs == {(ids["URSSAF-RA"], ids["RSI-RA"]), (ids["RSI-RA"], ids["URSSAF-RA"])}
    kinds = {o["code"]: o["kind"] for o in organisations.list_organisations(engine)}
    assert kinds == {
        "URSSAF-RA": "collector",
        "RSI-RA": "self_employed_fund",
        "CSSM": "collector",
        "ACOSS": "central_agency",
        "UNEDIC": "beneficiary_fund",
        "AGS": "beneficiary_fund",
        "POLE-EMPLOI": "employment_service",
    }


def test_mayotte_employers_are_in_976_with_some_employees_aged_65_or_over(loaded):
    engine, _ = loaded
    cssm = select(organisation.c.id).where(organisation.c.code == "CSSM").scalar_subquery()
    with engine.connect() as conn:
        territories = conn.execute(
            select(contributor.c.kind, contributor.c.territory, establishment.c.territory)
            .join(establishment)
            .where(contributor.c.organisation_id == cssm)
        ).all()
        births = (
            conn.execute(
                select(employee.c.birth_date)
                .join(contributor)
                .where(contributor.c.organisation_id == cssm)
            )
            .scalars()
            .all()
        )
        public = conn.scalar(
            select(func.count())
            .select_from(contributor)
            .where(contributor.c.organisation_id == cssm, contributor.c.public_sector.is_(True))
        )
    assert set(territories) == {("employer", "976", "976")}
    assert any(age_on(b, AS_OF) >= 65 for b in births)
    assert public >= 1


def test_the_load_is_one_audit_event_with_seed_and_counts(loaded):
    engine, report = loaded
    with engine.connect() as conn:
        events = conn.execute(
            select(audit_event.c.actor, audit_event.c.object_id, audit_event.c.detail).where(
                audit_event.c.action == "demo.load"
            )
        ).all()
        issued = conn.scalar(
            select(func.count())
            .select_from(audit_event)
            .where(audit_event.c.action == "token.issue")
        )
    assert len(events) == 1
    actor, seed, detail = events[0]
    assert (actor, seed, detail["seed"]) == ("tests", "2013", 2013)
    assert detail["counts"] == report.counts
    assert report.counts["self_employed"] == 60 and report.counts["employers"] == 15
    assert issued == len(report.tokens) == report.counts["agents"]


def test_tokens_open_the_api_with_each_login_reaching_its_own_scope(loaded):
    engine, report = loaded
    token = {t.login: t.token for t in report.tokens}

    def listing(login, **filters):
        actor = authentication.actor_for_token(engine, token[login])
        return contributors.list_contributors(engine, actor, limit=1000, **filters)

    cssm = listing("cssm.agent-1")
    assert cssm["total"] == 12
    assert {(c["kind"], c["territory"]) for c in cssm["items"]} == {("employer", "976")}
    joint = listing("rsi-ra.cellule-mixte-1", kind="self_employed")
    assert joint["total"] == 60
    own = listing("cotisant.ti-1")
    assert own["total"] == 1
    portal = authentication.actor_for_login(engine, "cotisant.ti-1")
    assert own["items"][0]["id"] == portal.contributor_id
    other = cssm["items"][0]["id"]
    with pytest.raises(Forbidden):
        contributors.get_contributor(engine, portal, other)


def test_same_seed_gives_identical_data_in_two_databases(loaded, second_engine):
    engine, _ = loaded
    load(second_engine)
    first, second = snapshot(engine), snapshot(second_engine)
    assert first["contributors"] and first == second


def test_another_seed_gives_other_data(loaded, second_engine):
    engine, _ = loaded
    load(second_engine, seed=2014)
    first, second = snapshot(engine), snapshot(second_engine)
    assert first["organisations"] == second["organisations"]
    assert first["contributors"] != second["contributors"]
    assert first["employees"] != second["employees"]


def test_a_non_empty_database_is_refused_and_left_unchanged(engine):
    organisations.create_organisation(engine, SYSTEM, "URSSAF-X", "URSSAF X", "collector", "13")
    with pytest.raises(Conflict) as err:
        load(engine)
    assert err.value.problems[0].code == "not_empty"
    assert "base vide" in err.value.problems[0].reason
    assert count(engine, organisation) == 1
    assert count(engine, contributor) == 0
    assert count(engine, audit_event, audit_event.c.action == "demo.load") == 0


def test_bad_sizes_are_refused_naming_the_field_and_nothing_is_written(engine):
    with pytest.raises(DomainError) as err:
        load(engine, size=RegionSize(-5, 1, 1))
    assert err.value.problems[0].field == "self_employed"
    assert demo.is_empty(engine)


def test_only_the_system_may_load(engine):
    organisations.create_organisation(engine, SYSTEM, "CSSM", "CSSM", "collector", "976")
    authentication.create_agent(engine, SYSTEM, "agent.cssm", "A", "CSSM", ["director"])
    director = authentication.actor_for_login(engine, "agent.cssm")
    with pytest.raises(Forbidden):
        demo.load_region(engine, director, size=SMALL)


# -- the command line -------------------------------------------------------------------------


def run_cli(database_url, *args):
    return CliRunner().invoke(
        cli, ["demo", "load", *args], env={"RECOUVREMENT_DATABASE_URL": database_url}
    )


def test_cli_loads_and_writes_the_tokens_file(engine, database_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli(database_url, "--self-employed", "20", "--employers", "4", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "Région de démonstration chargée (graine 5)" in result.output
    tokens_file = Path("var/demo-tokens.txt")
    assert str(tokens_file.resolve()) in result.output
    assert tokens_file.stat().st_mode & 0o077 == 0
    lines = [ln.split("\t") for ln in tokens_file.read_text().splitlines() if ln[0] != "#"]
    assert len(lines) == count(engine, agent)
    login, org, roles, token = next(ln for ln in lines if ln[0] == "cssm.agent-1")
    assert (org, roles) == ("CSSM", "agent")
    assert authentication.actor_for_token(engine, token).login == login
    assert count(engine, contributor) == 20 + 4 + 30


def test_cli_if_empty_does_nothing_on_a_loaded_database(
    loaded, database_url, tmp_path, monkeypatch
):
    engine, _ = loaded
    monkeypatch.chdir(tmp_path)
    before = snapshot(engine)
    result = run_cli(database_url, "--if-empty")
    assert result.exit_code == 0, result.output
    assert "non chargée" in result.output
    assert snapshot(engine) == before
    assert count(engine, audit_event, audit_event.c.action == "demo.load") == 1
    assert not Path("var/demo-tokens.txt").exists()


def test_cli_refuses_a_non_empty_database_without_if_empty(
    loaded, database_url, tmp_path, monkeypatch
):
    engine, _ = loaded
    monkeypatch.chdir(tmp_path)
    result = run_cli(database_url)
    assert result.exit_code == 1
    assert "ne se charge que dans une base vide" in result.output
    assert "--if-empty" in result.output
    assert count(engine, contributor) == 75


def test_demo_staff_may_perform_the_activities_their_agreement_gives_them(loaded):
    engine, report = loaded
    with engine.connect() as conn:
        urssaf = organisations.organisation_id(conn, "URSSAF-RA")
        cssm = organisations.organisation_id(conn, "CSSM")
    on = date(2015, 6, 1)
    joint = authentication.actor_for_login(engine, "rsi-ra.cellule-mixte-1")
    decision = authorizations.check_activity(
        engine, joint, "phone_reminders", on, owner_organisation_id=urssaf, agreement="isu-region"
    )
    assert decision.allowed
    cssm_agent = authentication.actor_for_login(engine, "cssm.agent-2")
    assert authorizations.check_activity(
        engine,
        cssm_agent,
        "unemployment_collection",
        on,
        owner_organisation_id=cssm,
        agreement="unedic-mayotte",
    ).allowed
    with pytest.raises(Forbidden):
        authorizations.check_activity(
            engine, cssm_agent, "phone_reminders", on, owner_organisation_id=urssaf
        )
    assert report.counts["authorizations"] == count(engine, authorization)
    assert report.counts["trainings"] == count(engine, training) > 0
