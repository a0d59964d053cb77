"""Runs OpenFisca-France on employee-months (JSON on stdin, JSON on stdout).

Runs inside the oracle's own virtual environment (.venv-oracle), whose numpy and openfisca-core
versions conflict with the project's. Input: {"months": {"2014-03": [gross pay in cents, ...]}}.
Output: {"2014-03": {"chomage_employeur": [...], "chomage_salarie": [...], "ags": [...],
"plafond_securite_sociale": [...]}} in euros as OpenFisca computes them (float32, negative).
One simulation per month, because OpenFisca rebuilds its parameters for each distinct month.
"""

import json
import sys
import time

import numpy as np

VARIABLES = ("chomage_employeur", "chomage_salarie", "ags", "plafond_securite_sociale")


def _system():
    # Imported here: the project's test suite imports every module for its doctests, and
    # OpenFisca lives only in the oracle's environment.
    from openfisca_france import CountryTaxBenefitSystem

    return CountryTaxBenefitSystem()


def run(months: dict, system=None) -> dict:
    from openfisca_core.simulation_builder import SimulationBuilder

    system = system or _system()
    out = {}
    for month, cents in months.items():
        n = len(cents)
        sim = SimulationBuilder().build_default_simulation(system, count=n)
        sim.set_input("salaire_de_base", month, np.array(cents, dtype=np.float64) / 100)
        # a full month: no prorating of the ceiling by calendar days
        sim.set_input("nombre_jours_calendaires", month, np.full(n, 30))
        row = {}
        for var in VARIABLES:
            if var == "chomage_salarie" and month > "2018-09":
                row[var] = [0.0] * n  # the variable ends on 2018-09-30
                continue
            row[var] = [float(x) for x in sim.calculate(var, month)]
        out[month] = row
    return out


def timed(months: dict) -> dict:
    """Throughput of the simulations alone (system built once, outside the clock)."""
    system = _system()
    start = time.perf_counter()
    results = run(months, system)
    seconds = time.perf_counter() - start
    total = sum(-sum(r["chomage_employeur"]) for r in results.values())
    return {"seconds": seconds, "count": sum(len(c) for c in months.values()), "total": total}


if __name__ == "__main__":
    request = json.load(sys.stdin)
    answer = timed(request["months"]) if request.get("timing") else run(request["months"])
    json.dump(answer, sys.stdout)
