"""The score that ranks a debtor list (suivi des listes de débiteurs, convention type ISU art. 4).

An agent working a list calls first the debtors where a call is most likely to matter: large
debts, old debts, repeated incidents, and debts close to their limitation date (a debt prescribed
is lost, CSS L244-3). Four terms, each brought to [0, 1], weighted by the region's weights
(``rules/escalation.yaml``, ``debtor_score``), sum to a score out of 100:

- amount: ``log(1 + owed) / log(1 + amount_scale)``, capped at 1 — a log so that one very large
  debt does not hide every other;
- age: days since the oldest unpaid due date / ``age_scale_days``, capped at 1;
- history: payment incidents in the last ``history_months`` months / ``history_scale``, capped;
- limitation: ``1 - days to the nearest limitation date / limitation_horizon_days``, in [0, 1]
  (0 beyond the horizon, 1 on or after the date).

When the limitation dates are not known (no limitation module, or a debt without a date), that term
is left out and the other weights are scaled up so that the score stays out of 100. Ties are
broken by the amount owed, then the contributor id, so a ranking is reproducible.

Vectorised with NumPy: a million debtors rank in well under a second.
"""

from __future__ import annotations

import numpy as np

from recouvrement.domain.escalation import ScoreWeights


def scores(
    weights: ScoreWeights,
    owed: np.ndarray,
    age_days: np.ndarray,
    incidents: np.ndarray,
    days_to_limitation: np.ndarray | None = None,
) -> np.ndarray:
    """Scores out of 100 (float64, rounded to 0.01) of aligned arrays: owed in cents, age in days,
    incident counts, and days to the nearest limitation date (NaN where unknown)."""
    owed = np.maximum(np.asarray(owed, dtype=np.float64), 0.0)
    amount = np.minimum(np.log1p(owed) / np.log1p(float(weights.amount_scale)), 1.0)
    age = np.clip(np.asarray(age_days, dtype=np.float64) / weights.age_scale_days, 0.0, 1.0)
    history = np.minimum(np.asarray(incidents, dtype=np.float64) / weights.history_scale, 1.0)
    w_amount, w_age, w_history = (float(weights.amount), float(weights.age), float(weights.history))
    w_limit = float(weights.limitation)
    total = w_amount * amount + w_age * age + w_history * history
    if days_to_limitation is None:
        return np.round(100.0 * total / (w_amount + w_age + w_history), 2)
    days = np.asarray(days_to_limitation, dtype=np.float64)
    known = ~np.isnan(days)
    near = np.clip(1.0 - np.nan_to_num(days) / weights.limitation_horizon_days, 0.0, 1.0)
    with_limit = (total + w_limit * near) / (w_amount + w_age + w_history + w_limit)
    without = total / (w_amount + w_age + w_history)
    return np.round(100.0 * np.where(known, with_limit, without), 2)


def ranking(score: np.ndarray, owed: np.ndarray, contributor_ids: np.ndarray) -> np.ndarray:
    """The order of the rows, best first: score descending, then amount owed descending, then
    contributor id ascending (a total order: the same data always ranks the same way)."""
    return np.lexsort((np.asarray(contributor_ids), -np.asarray(owed), -np.asarray(score)))
