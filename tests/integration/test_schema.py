"""The migrated schema is the one the code declares: no table, column, index or constraint of the
table modules is missing from the migrations, and none is left over, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import recouvrement.adapters.db as db_package
from recouvrement.adapters.db.tables import POSTGRESQL_ONLY_INDEXES, metadata

for module in pkgutil.iter_modules(db_package.__path__):
    if module.name.endswith("_tables"):
        importlib.import_module(f"recouvrement.adapters.db.{module.name}")


def test_the_migrations_build_the_declared_schema(engine):
    def include(obj, name, kind, reflected, compare_to):
        return not (
            kind == "index"
            and name in POSTGRESQL_ONLY_INDEXES
            and engine.dialect.name != "postgresql"
        )

    with engine.connect() as conn:
        # types are compared on PostgreSQL; SQLite stores the id variant as BIGINT or INTEGER
        opts = {"include_object": include, "compare_type": engine.dialect.name == "postgresql"}
        context = MigrationContext.configure(conn, opts=opts)
        differences = compare_metadata(context, metadata)
    assert differences == []
