"""The HTTP API under /api/v1, with its OpenAPI description at /openapi.json."""

from recouvrement.adapters.api.app import create_app

__all__ = ["create_app"]
