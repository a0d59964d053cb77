"""Shared fixtures: a freshly migrated database per test, on SQLite and on PostgreSQL.

Each backend is migrated once per session into a template (a file for SQLite, a template database
for PostgreSQL), then copied for every test, so tests never see each other's rows. Where no
PostgreSQL answers, its tests are skipped with one visible line, unless
RECOUVREMENT_REQUIRE_POSTGRES=1 (set by CI), which turns the skip into a failure.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.engine import make_engine

PG_ADMIN_URL = os.environ.get(
    "RECOUVREMENT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("RECOUVREMENT_REQUIRE_POSTGRES") == "1"
_counter = itertools.count()


def _postgres_problem() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as err:  # any failure to connect means "no PostgreSQL here"
        return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


_PG_PROBLEM = _postgres_problem()


def pytest_configure(config):
    if _PG_PROBLEM and REQUIRE_PG:
        raise pytest.UsageError(
            f"PostgreSQL exigé (RECOUVREMENT_REQUIRE_POSTGRES=1) mais injoignable : {_PG_PROBLEM}"
        )


def pytest_report_header(config):
    if _PG_PROBLEM:
        return f"PostgreSQL injoignable ({PG_ADMIN_URL}) : les tests PostgreSQL sont ignorés"
    return f"PostgreSQL : {make_url(PG_ADMIN_URL).render_as_string(hide_password=True)}"


def pytest_terminal_summary(terminalreporter):
    if _PG_PROBLEM:
        terminalreporter.write_line(
            f"ATTENTION : PostgreSQL injoignable, tests PostgreSQL ignorés ({_PG_PROBLEM})",
            yellow=True,
            bold=True,
        )


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template():
    if _PG_PROBLEM:
        pytest.skip(f"PostgreSQL injoignable : {_PG_PROBLEM}")
    name = f"rtmpl_{_worker()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield admin, name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _sqlite_engine(request, tmp_path):
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "test.db"
    shutil.copyfile(template, path)
    return make_engine(f"sqlite:///{path}"), None


def _postgres_engine(request):
    admin, template = request.getfixturevalue("postgres_template")
    name = f"rt_{_worker()}_{os.getpid()}_{next(_counter)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return make_engine(url), drop


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def engine(request, tmp_path):
    """A freshly migrated, empty database engine, on each backend in turn."""
    if request.param == "sqlite":
        eng, drop = _sqlite_engine(request, tmp_path)
    else:
        eng, drop = _postgres_engine(request)
    yield eng
    eng.dispose()
    if drop:
        drop()


@pytest.fixture
def database_url(engine):
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(autouse=True)
def _documents_in_tmp(tmp_path, monkeypatch):
    """Generated letters and bank files go to the test's own directory, never to the checkout."""
    monkeypatch.setenv("RECOUVREMENT_DOCUMENTS_DIR", str(tmp_path / "documents"))
