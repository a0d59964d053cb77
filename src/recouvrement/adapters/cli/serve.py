"""Serve the API (and, later, the agents' web pages)."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="adresse d'écoute"),
    port: int = typer.Option(8000, help="port"),
) -> None:
    """Démarre le service HTTP (API sous /api/v1, documentation sous /docs)."""
    import uvicorn

    from recouvrement.adapters.api import create_app

    uvicorn.run(create_app(), host=host, port=port)
