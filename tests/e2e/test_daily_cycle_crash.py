"""A daily cycle killed in the middle (SIGKILL, in a real process) and run again to the same date
leaves the same journal, calls and notices as a run never interrupted, on a SQLite file and on
PostgreSQL; `ledger check` finds nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from recouvrement.adapters.db.cycle_tables import cycle_day, document
from recouvrement.adapters.db.engine import make_engine
from tests.conftest import PG_ADMIN_URL
from tests.integration.cycle_world import (
    FIRST_DAY,
    build_cycle_world,
    call_states,
    canonical_journal,
)

pytestmark = pytest.mark.e2e

COMMAND = str(Path(sys.executable).parent / "recouvrement")
LAST_DAY = FIRST_DAY + timedelta(days=59)
EMPLOYERS = 60
BATCH = "8"  # calls per batch: the issuing day takes several commits, so the kill lands mid-step


def _env(url: str, documents: Path) -> dict:
    return {
        **os.environ,
        "RECOUVREMENT_DATABASE_URL": url,
        "RECOUVREMENT_DOCUMENTS_DIR": str(documents),
        "RECOUVREMENT_CYCLE_BATCH": BATCH,
    }


def _run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([COMMAND, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def _kill_in_the_middle(env: dict) -> str:
    """Starts run-until, kills it once a step has committed some of its batches of a day."""
    process = subprocess.Popen(
        [COMMAND, "run-until", LAST_DAY.isoformat(), "--from", FIRST_DAY.isoformat()],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    deadline = time.monotonic() + 300
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if "issue_calls : lot 3/" in line:
            process.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "".join(seen)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


def _documents(engine) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(select(document.c.kind, document.c.reference, document.c.sha256)).all()
        )


def _sqlite_pair(tmp_path, request):
    template = request.getfixturevalue("sqlite_template")
    crashed, steady = tmp_path / "crashed.db", tmp_path / "steady.db"
    shutil.copyfile(template, crashed)
    engine = make_engine(f"sqlite:///{crashed}")
    build_cycle_world(engine, EMPLOYERS)
    engine.dispose()
    shutil.copyfile(crashed, steady)
    for suffix in ("-wal", "-shm"):
        if Path(f"{crashed}{suffix}").exists():
            shutil.copyfile(f"{crashed}{suffix}", f"{steady}{suffix}")
    return f"sqlite:///{crashed}", f"sqlite:///{steady}", None


def _postgres_pair(request):
    admin, template = request.getfixturevalue("postgres_template")
    suffix = f"{os.getpid()}_{time.monotonic_ns() % 10**9}"
    names = (f"crash_{suffix}", f"steady_{suffix}")
    url = make_url(PG_ADMIN_URL)
    urls = [url.set(database=n).render_as_string(hide_password=False) for n in names]
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{names[0]}" TEMPLATE "{template}"'))
    engine = make_engine(urls[0])
    build_cycle_world(engine, EMPLOYERS)
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{names[1]}" TEMPLATE "{names[0]}"'))

    def drop():
        with admin.connect() as conn:
            for n in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))

    return urls[0], urls[1], drop


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def pair(request, tmp_path):
    """Two databases holding the same world: one to crash, one to run without interruption."""
    if request.param == "sqlite":
        crashed, steady, drop = _sqlite_pair(tmp_path, request)
    else:
        crashed, steady, drop = _postgres_pair(request)
    yield crashed, steady
    if drop:
        drop()


def test_a_killed_cycle_run_again_converges_to_the_uninterrupted_run(pair, tmp_path):
    crashed_url, steady_url = pair
    crashed_env = _env(crashed_url, tmp_path / "documents-crashed")
    steady_env = _env(steady_url, tmp_path / "documents-steady")

    progress = _kill_in_the_middle(crashed_env)
    crashed = create_engine(crashed_url)
    with crashed.connect() as conn:
        running = (
            conn.execute(select(cycle_day.c.day).where(cycle_day.c.status == "running"))
            .scalars()
            .all()
        )
    assert len(running) == 1, progress  # the day killed mid-step stays running

    resumed = _run(["run-until", LAST_DAY.isoformat()], crashed_env)
    assert f"{running[0].isoformat()} terminé" in resumed.stderr
    _run(["run-until", LAST_DAY.isoformat(), "--from", FIRST_DAY.isoformat()], steady_env)

    steady = create_engine(steady_url)
    assert canonical_journal(crashed) == canonical_journal(steady)
    assert call_states(crashed) == call_states(steady)
    assert _documents(crashed) == _documents(steady)
    for env in (crashed_env, steady_env):
        assert "journal équilibré, cache conforme" in _run(["ledger", "check"], env).stdout
    crashed.dispose()
    steady.dispose()
