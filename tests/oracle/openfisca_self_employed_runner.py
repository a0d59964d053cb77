"""Runs OpenFisca-France's self-employed items (travail_non_salarie.py) on contributor-years.

Runs inside the oracle's own virtual environment (.venv-oracle). Input on stdin:
{"2016": {"craft": [income in cents, ...], "trade": [...]}, ...}. Output on stdout, same shape, each
income replaced by {variable: amount in euros} as OpenFisca computes them (float32, negative).
One simulation per year and activity, because OpenFisca rebuilds its parameters per period.
"""

import json
import sys

import numpy as np

VARIABLES = (
    "retraite_complementaire_artisan_commercant",
    "deces_artisan_commercant",
    "vieillesse_artisan_commercant",
    "famille_independant",
)
CATEGORY = {"craft": "artisan", "trade": "commercant"}


def run(cases: dict) -> dict:
    # Imported here: the test suite imports every module for its doctests, and OpenFisca lives
    # only in .venv-oracle.
    from openfisca_core.simulation_builder import SimulationBuilder
    from openfisca_france import CountryTaxBenefitSystem

    system = CountryTaxBenefitSystem()
    out = {}
    for year, by_activity in cases.items():
        out[year] = {}
        for activity, cents in by_activity.items():
            n = len(cents)
            sim = SimulationBuilder().build_default_simulation(system, count=n)
            sim.set_input("rpns_imposables", year, np.array(cents, dtype=np.float64) / 100)
            sim.set_input("categorie_non_salarie", year, np.array([CATEGORY[activity]] * n))
            values = {var: sim.calculate(var, year) for var in VARIABLES}
            out[year][activity] = [
                {var: float(values[var][i]) for var in VARIABLES} for i in range(n)
            ]
    return out


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
