"""The debtor-list score: each term bounded, monotonic, the limitation term optional; the ranking
a total order."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain import debtor_score
from recouvrement.services.escalation import load_rules

W = load_rules().weights(date(2024, 1, 1))


def one(owed, age, incidents, days=None) -> float:
    arr = None if days is None else np.array([days], dtype=float)
    return float(
        debtor_score.scores(W, np.array([owed]), np.array([age]), np.array([incidents]), arr)[0]
    )


def test_each_term_raises_the_score_and_a_debtor_at_every_scale_scores_100():
    base = one(10_000, 30, 0)
    assert one(100_000, 30, 0) > base
    assert one(10_000, 200, 0) > base
    assert one(10_000, 30, 3) > base
    assert one(W.amount_scale, W.age_scale_days, W.history_scale) == 100.0
    assert one(W.amount_scale, W.age_scale_days, W.history_scale, 0) == 100.0
    assert one(0, 0, 0) == 0.0


def test_a_near_limitation_date_raises_the_score_and_an_unknown_one_is_left_out():
    far = one(10_000, 30, 0, 2_000)
    near = one(10_000, 30, 0, 10)
    assert near > far
    assert one(10_000, 30, 0, float("nan")) == one(10_000, 30, 0)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 10**9),
            st.integers(0, 3_000),
            st.integers(0, 30),
            st.one_of(st.none(), st.integers(-100, 3_000)),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_scores_stay_within_0_and_100_and_the_ranking_is_total_and_sorted(rows):
    owed = np.array([r[0] for r in rows])
    days = np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=float)
    score = debtor_score.scores(
        W, owed, np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), days
    )
    assert ((score >= 0) & (score <= 100)).all()
    ids = np.arange(len(rows)) + 1
    order = debtor_score.ranking(score, owed, ids)
    assert sorted(order.tolist()) == list(range(len(rows)))
    keys = [(-score[i], -owed[i], ids[i]) for i in order]
    assert keys == sorted(keys)
