"""The only place a transaction is opened: it rolls back unless the service commits."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from recouvrement.adapters.db.engine import default_engine


class UnitOfWork:
    def __init__(self, engine: Engine | None = None):
        self.engine = engine or default_engine()
        self.conn: Connection
        self._committed = False

    def __enter__(self) -> UnitOfWork:
        self.conn = self.engine.connect()
        self._tx = self.conn.begin()
        return self

    def commit(self) -> None:
        self._tx.commit()
        self._committed = True

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def __exit__(self, *exc) -> None:
        if not self._committed:
            self.rollback()
        self.conn.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
