"""Runs OpenFisca-France on employee-months (JSON on stdin, JSON on stdout).

Runs inside the oracle's own virtual environment (.venv-oracle), whose numpy and openfisca-core
versions conflict with the project's. Input: {"months": {"2014-03": [gross pay in cents, ...]}}.
Output: {"2014-03": {"chomage_employeur": [...], "chomage_salarie": [...], "ags": [...],
"plafond_securite_sociale": [...]}} in euros as OpenFisca computes them (float32, negative).
One simulation per month, because OpenFisca rebuilds its parameters for each distinct month.
"""

import json
import sys

import numpy as np
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_france import CountryTaxBenefitSystem

VARIABLES = ("chomage_employeur", "chomage_salarie", "ags", "plafond_securite_sociale")


def run(months: dict) -> dict:
    system = CountryTaxBenefitSystem()
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


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)["months"]), sys.stdout)
