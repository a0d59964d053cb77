"""One module per resource; each module exposes `router` and is listed here once."""

from __future__ import annotations

import importlib

_MODULES = (
    "contributors",
    "accounts",
    "registration",
    "assessments",
    "agents",
    "cases",
    "queues",
    "calls",
    "refunds",
    "statements",
    "receipts",
    "payment_plans",
    "collection",
    "audits",
    "remission",
    "write_offs",
)


def _routers() -> list:
    routers = []
    for name in _MODULES:
        try:
            module = importlib.import_module(f"recouvrement.adapters.api.routes.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"recouvrement.adapters.api.routes.{name}":
                raise
            continue
        routers.append(module.router)
    return routers


ROUTERS = _routers()
