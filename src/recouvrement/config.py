"""Settings come from the environment, so secrets and server addresses never sit in the repository."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("var") / "recouvrement.db"


def database_url() -> str:
    """RECOUVREMENT_DATABASE_URL, or an SQLite file under ./var by default."""
    url = os.environ.get("RECOUVREMENT_DATABASE_URL", "").strip()
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"
