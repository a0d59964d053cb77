"""Loads the dated allocation orders of `rules/allocation.yaml` (see domain/allocation.py)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from recouvrement.domain.allocation import AllocationOrder, order_on, parse_orders

ALLOCATION_FILE = Path(__file__).parent / "allocation.yaml"


@lru_cache(maxsize=8)
def load_allocation_orders(path: Path = ALLOCATION_FILE) -> dict[str, list[AllocationOrder]]:
    """Every scheme's dated orders, read once per file."""
    with open(path, encoding="utf-8") as f:
        return parse_orders(yaml.safe_load(f), path.name)


def allocation_order(scheme: str, on: date, path: Path = ALLOCATION_FILE) -> AllocationOrder:
    """The order of `scheme` ("employer", "self_employed") in force on the payment date `on`."""
    return order_on(load_allocation_orders(path), scheme, on)
