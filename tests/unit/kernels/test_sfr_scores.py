"""Contribution scores C (kernels.sfr.contribution_score): the documented rule of each activity, its caps,
exact floors to 4 places, bad metrics refused, and mining proportional to the miner's share of the work."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernels.sfr import MINING_SCALE, contribution_score
from schemas.sfr import ACTIVITIES, ActivityType, ContributionType

A = ActivityType


@pytest.mark.parametrize(("activity", "metrics", "score"), [
    (A.COMMIT, {"commitsCount": 5, "mergedPrsCount": 2, "codeAdded": 150, "codeDeleted": 30}, "2.5"),
    (A.COMMIT, {}, "0.2"),  # the activity itself counts once
    (A.MERGE_PR, {}, "0.5"),
    (A.CLOSE_ISSUE, {"closedIssuesCount": 100}, "1.5"),  # capped term
    (A.COMMIT, {"commitsCount": 10**6, "mergedPrsCount": 10**6, "closedIssuesCount": 10**6, "codeAdded": 10**9},
     "8.5"),
    (A.PROVIDE_LIQUIDITY, {"liquidityAmount": 1000, "durationDays": 30}, "1"),
    (A.PROVIDE_LIQUIDITY, {"liquidityAmount": 10**9, "durationDays": 365}, "10"),  # the score cap
    (A.PROVIDE_LIQUIDITY, {"liquidityAmount": 1}, "0"),
    (A.SUBMIT_PROPOSAL, {"proposalsAccepted": 1}, "1.5"),
    (A.VOTE, {"votesCount": 7}, "0.7"),
    (A.VOTE, {"votesCount": 1000}, "5"),
    (A.CREATE_COURSE, {"participantsCount": 120}, "2.2"),
    (A.SFR_PAYMENT, {"paymentsCount": 3, "paymentAmount": 250.5}, "0.4005"),
    (A.UX_IMPROVEMENT, {"feedbackCount": 2}, "1.4"),
    (A.MINING_WORK, {"minerDifficulty": 1, "poolDifficulty": 4}, "2.5"),
    (A.MINING_WORK, {"minerDifficulty": 1, "poolDifficulty": 3}, "3.3333"),  # floored, never rounded up
])
def test_documented_rules(activity: ActivityType, metrics: dict[str, object], score: str) -> None:
    assert contribution_score(activity, metrics) == Decimal(score)


@pytest.mark.parametrize("metrics", [
    {"commitsCount": -1}, {"commitsCount": "many"}, {"commitsCount": True}, {"commitsCount": [1]},
    {"commitsCount": float("nan")}, {"commitsCount": 1e300},
])
def test_bad_metrics_are_refused(metrics: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        contribution_score(A.COMMIT, metrics)


@pytest.mark.parametrize("metrics", [{}, {"minerDifficulty": 5, "poolDifficulty": 4}, {"minerDifficulty": 1}])
def test_mining_needs_a_share_of_the_pool(metrics: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        contribution_score(A.MINING_WORK, metrics)


def test_every_contribution_type_has_activities() -> None:
    assert set(ACTIVITIES) == set(ContributionType)
    assert set().union(*ACTIVITIES.values()) == set(ActivityType)


@given(st.integers(1, 10**12), st.integers(1, 10**12))
def test_mining_score_is_proportional_to_work(miner: int, rest: int) -> None:
    pool = miner + rest
    score = contribution_score(A.MINING_WORK, {"minerDifficulty": miner, "poolDifficulty": pool})
    exact = Fraction(MINING_SCALE) * miner / pool
    assert Fraction(score) <= exact < Fraction(score) + Fraction(1, 10_000)
    doubled = contribution_score(A.MINING_WORK, {"minerDifficulty": 2 * miner, "poolDifficulty": 2 * pool})
    assert doubled == score  # only the share counts


@given(st.sampled_from(sorted(set(ActivityType) - {A.MINING_WORK})),
       st.dictionaries(st.sampled_from(["commitsCount", "mergedPrsCount", "closedIssuesCount", "codeAdded",
                                        "codeDeleted", "liquidityAmount", "durationDays", "proposalsCount",
                                        "proposalsAccepted", "votesCount", "coursesCount", "participantsCount",
                                        "paymentsCount", "paymentAmount", "feedbackCount", "improvementsCount"]),
                       st.integers(0, 10**9) | st.decimals(0, 10**6, places=3)))
def test_scores_are_bounded_four_place_decimals(activity: ActivityType, metrics: dict[str, object]) -> None:
    score = contribution_score(activity, metrics)
    assert Decimal(0) <= score <= Decimal(10) and score == score.quantize(Decimal("0.0001"))
