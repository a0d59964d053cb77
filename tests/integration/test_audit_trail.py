"""The audit trail is append-only and hash-chained; `audit verify` names what was tampered with."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from recouvrement.adapters.cli import app
from recouvrement.services import audit


def _disable_triggers(conn):
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("DROP TRIGGER audit_event_no_delete"))


def _verify_cli(database_url):
    return CliRunner().invoke(
        app, ["audit", "verify"], env={"RECOUVREMENT_DATABASE_URL": database_url}
    )


def test_a_fresh_trail_verifies(world, database_url):
    problems, head, count = audit.verify(world.engine)
    assert problems == [] and count >= 10 and len(head) == 64
    result = _verify_cli(database_url)
    assert result.exit_code == 0 and "intègre" in result.output


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"]
)
def test_the_database_refuses_to_change_the_trail(world, statement):
    with pytest.raises(DBAPIError), world.engine.begin() as conn:
        conn.execute(text(statement))


def test_an_altered_event_is_named(world, database_url):
    with world.engine.begin() as conn:
        _disable_triggers(conn)
        conn.execute(text("UPDATE audit_event SET actor = 'intrus' WHERE id = 3"))
    problems, _head, _count = audit.verify(world.engine)
    assert [(p.event_id, p.kind) for p in problems] == [(3, "altered")]
    result = _verify_cli(database_url)
    assert result.exit_code == 1 and "événement 3 : contenu altéré" in result.output


def test_a_removed_event_breaks_the_link_of_the_next(world):
    with world.engine.begin() as conn:
        _disable_triggers(conn)
        conn.execute(text("DELETE FROM audit_event WHERE id = 4"))
    problems, _head, _count = audit.verify(world.engine)
    assert (5, "broken_link") in [(p.event_id, p.kind) for p in problems]
