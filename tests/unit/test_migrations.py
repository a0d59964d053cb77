"""The migrations form one line: a second head would make `db upgrade` fail on every machine."""

from alembic.script import ScriptDirectory

from recouvrement.adapters.db.migrate import alembic_config


def test_there_is_exactly_one_head():
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"plusieurs têtes de migration : {heads}"
