"""Self-employed items against URSSAF's own publicodes rules (modele-social 11.1, publicodes 1.10).

modele-social rounds each line to the euro; we keep cents, so a line may differ by up to 0.50 €,
and the CSG-CRDS (whose base adds up the contributions) by a little more. Deliberate differences,
each with its legal source, are added to the oracle's figure before comparing:

- health from 2024: modele-social subtracts the daily-allowance contribution from the health scale
  ("maladie = total - indemnités journalières"), an open upstream bug (mon-entreprise issue 3390).
  URSSAF's own 2024 rate table lists health ("maladie 1") from 0 % to 6.70 % and the daily allowances
  (0.50 %) on top, which is what we apply (rules: self_employed.health.includes_daily_allowances).
- complementary pension in 2026: modele-social has no 2026 value for the scheme's ceiling and keeps
  43 891 €; the 2026 ceiling is 44 286 € (OpenFisca-France montant_du_plafond_rci.yaml).
- the CSG-CRDS base adds the contributions up, so both differences above move it too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest

from recouvrement.domain.assessment.self_employed import assess_batch
from recouvrement.rules.parameters import load_parameters

pytestmark = pytest.mark.oracle

DRIVER = Path(__file__).parent / "publicodes"
REQUIRED = os.environ.get("RECOUVREMENT_REQUIRE_ORACLES") == "1"
PARAMS = load_parameters()
YEARS = range(2021, 2027)
MS_CEILING_2026 = 4_389_100  # the complementary-pension ceiling modele-social applies in 2026


def _oracle_problem() -> str | None:
    if shutil.which("node") is None:
        return "node absent"
    if not (DRIVER / "node_modules" / "modele-social").is_dir():
        return "modele-social non installé (scripts/test-deps.sh)"
    return None


def pass_cents(year: int) -> int:
    return 12 * PARAMS.value("social_security_ceiling.monthly", date(year, 1, 1))


def cases() -> list[tuple[int, str, int]]:
    """Edges of every bracket and threshold, plus a spread from a deficit to 10 PASS."""
    rng = np.random.default_rng(2026)
    out = []
    for year in YEARS:
        ceiling = pass_cents(year) // 100  # euros
        rci = PARAMS.value("self_employed.complementary_pension.ceiling", date(year, 1, 1)) // 100
        edges = [0, 1, -1_500, -50_000, rci, rci + 1, 4 * ceiling, 10 * ceiling]
        for pct in (40, 60, 110, 140, 100, 500):
            edges += [ceiling * pct // 100 - 1, ceiling * pct // 100, ceiling * pct // 100 + 1]
        spread = rng.integers(0, 10 * ceiling, 14).tolist()
        for i, income in enumerate(sorted(set(edges)) + spread):
            out.append((year, ("craft", "trade")[i % 2], int(income)))
    return out


@pytest.fixture(scope="module")
def oracle():
    problem = _oracle_problem()
    if problem:
        if REQUIRED:
            pytest.fail(f"oracle publicodes exigé (RECOUVREMENT_REQUIRE_ORACLES=1) : {problem}")
        pytest.skip(f"oracle publicodes absent : {problem}")
    rows = cases()
    payload = [{"year": y, "activity": a, "income": i} for y, a, i in rows]
    done = subprocess.run(
        ["node", "assess.mjs"],
        cwd=DRIVER,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return rows, json.loads(done.stdout)


def _ours(rows):
    years = np.array([r[0] for r in rows])
    activities = np.array([r[1] for r in rows])
    incomes = np.array([r[2] * 100 for r in rows], dtype=np.int64)
    return assess_batch(PARAMS, years, activities, incomes)


def _complementary_ceiling_shift(year: int, income_cents: int) -> Decimal:
    """Euros we charge more (negative: less) than modele-social because of the 2026 ceiling."""
    if year != 2026:
        return Decimal(0)
    ours = PARAMS.value("self_employed.complementary_pension.ceiling", date(year, 1, 1))
    moved = min(max(income_cents, 0), ours) - min(max(income_cents, 0), MS_CEILING_2026)
    return (Decimal("0.07") - Decimal("0.08")) * moved / 100


def test_items_agree_with_publicodes_within_the_euro_rounding(oracle):
    rows, theirs = oracle
    ours = _ours(rows)
    failures = []
    for i, ((year, activity, income), their) in enumerate(zip(rows, theirs, strict=True)):
        expected = {key: Decimal(str(value)) for key, value in their.items()}
        scale_total = expected.pop("health_scale_total")
        shift = Decimal(0)
        if year >= 2024:  # mon-entreprise issue 3390: health is the whole scale, IJ on top
            health = scale_total.quantize(Decimal(1), ROUND_HALF_UP)
            shift += health - expected["health"]
            expected["health"] = health
        comp_shift = _complementary_ceiling_shift(year, income * 100)
        expected["complementary_pension"] += comp_shift
        shift += comp_shift
        csg_rate = PARAMS.value("self_employed.csg.deductible_rate", date(year, 1, 1))
        expected["csg_deductible"] += shift * csg_rate
        other_rate = Decimal("0.029")
        expected["csg_non_deductible_and_crds"] += shift * other_rate
        mine = {key: Decimal(int(ours[key][i])) / 100 for key in ours}
        mine["csg_non_deductible_and_crds"] = mine["csg_non_deductible"] + mine["crds"]
        for key, value in expected.items():
            # 2022-2023 health is rounded twice upstream (scale total, then minus the rounded IJ)
            twice = key == "health" and year in (2022, 2023)
            tolerance = Decimal("1.00") if key.startswith("csg") or twice else Decimal("0.50")
            if abs(mine[key] - value) > tolerance:
                failures.append(
                    f"{year} {activity} {income} € {key}: nous {mine[key]}, publicodes {value}"
                )
    assert not failures, "\n".join(failures[:30])


def test_the_cases_cover_both_activities_every_year_and_ten_pass():
    rows = cases()
    assert {(y, a) for y, a, _ in rows} == {(y, a) for y in YEARS for a in ("craft", "trade")}
    assert max(i for _, _, i in rows) >= 10 * pass_cents(2026) // 100
    assert min(i for _, _, i in rows) < 0
    assert len(rows) >= 200
