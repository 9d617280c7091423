"""The SFR reward system's contract (seed 003, issue 11): contribution and activity types, calculation states
and their legal transitions, the REWARD_00x error codes, default factors and the fixed-point units.

What the other rewards modules rely on (one home for each rule):
- Amounts of SFR are integers in units of 10^-8 SFR (`SFR_DECIMALS`, `SFR_UNIT`); never floats.
- Factors, scores and prices are `decimal.Decimal` with at most 4 decimal places (`FACTOR_PLACES`); ClickHouse
  stores them as `Decimal(18, 4)`.
- `ContributionType` (the seed's six plus poolstream's `mining`), `ActivityType` and `ACTIVITIES` (which
  activity belongs to which contribution type; a mismatch is REWARD_005).
- `CalculationStatus` and `can_move(from, to)`: CALCULATED -> APPROVED -> DISTRIBUTED, CALCULATED/APPROVED ->
  REJECTED; DISTRIBUTED and REJECTED are final.
- `RewardCode`: the seed's error codes with their HTTP statuses and titles.
- `DEFAULT_BASE_FACTORS`, `DEFAULT_TARGET_PRICE_JPY`: the factors in force before an admin sets any.
"""

from __future__ import annotations

import enum
from decimal import Decimal

SFR = "SFR"
SFR_DECIMALS = 8
SFR_UNIT = 10**SFR_DECIMALS  # units per SFR
FACTOR_PLACES = 4
FACTOR_QUANTUM = Decimal(1).scaleb(-FACTOR_PLACES)  # 0.0001


class ContributionType(enum.StrEnum):
    DEVELOPMENT = "development"
    LIQUIDITY = "liquidity"
    GOVERNANCE = "governance"
    EDUCATION = "education"
    COMMERCE = "commerce"
    UX = "ux"
    MINING = "mining"  # poolstream: accepted work in a settlement period (created by a job)


class ActivityType(enum.StrEnum):
    COMMIT = "commit"
    MERGE_PR = "merge_pr"
    CLOSE_ISSUE = "close_issue"
    PROVIDE_LIQUIDITY = "provide_liquidity"
    SUBMIT_PROPOSAL = "submit_proposal"
    VOTE = "vote"
    CREATE_COURSE = "create_course"
    SFR_PAYMENT = "sfr_payment"
    UX_IMPROVEMENT = "ux_improvement"  # not in the seed (it names no ux activity)
    MINING_WORK = "mining_work"  # poolstream


#: contribution type -> the activity types it accepts
ACTIVITIES: dict[ContributionType, frozenset[ActivityType]] = {
    ContributionType.DEVELOPMENT: frozenset({ActivityType.COMMIT, ActivityType.MERGE_PR, ActivityType.CLOSE_ISSUE}),
    ContributionType.LIQUIDITY: frozenset({ActivityType.PROVIDE_LIQUIDITY}),
    ContributionType.GOVERNANCE: frozenset({ActivityType.SUBMIT_PROPOSAL, ActivityType.VOTE}),
    ContributionType.EDUCATION: frozenset({ActivityType.CREATE_COURSE}),
    ContributionType.COMMERCE: frozenset({ActivityType.SFR_PAYMENT}),
    ContributionType.UX: frozenset({ActivityType.UX_IMPROVEMENT}),
    ContributionType.MINING: frozenset({ActivityType.MINING_WORK}),
}

#: the status of a contribution record once stored (seed: "RECORDED")
RECORDED = "RECORDED"


class CalculationStatus(enum.StrEnum):
    CALCULATED = "CALCULATED"
    APPROVED = "APPROVED"
    DISTRIBUTED = "DISTRIBUTED"
    REJECTED = "REJECTED"


#: legal moves of a calculation; CALCULATED -> CALCULATED is a forced recalculation replacing the figures
TRANSITIONS: dict[CalculationStatus, frozenset[CalculationStatus]] = {
    CalculationStatus.CALCULATED: frozenset({CalculationStatus.CALCULATED, CalculationStatus.APPROVED,
                                             CalculationStatus.REJECTED}),
    CalculationStatus.APPROVED: frozenset({CalculationStatus.DISTRIBUTED, CalculationStatus.REJECTED}),
    CalculationStatus.DISTRIBUTED: frozenset(),
    CalculationStatus.REJECTED: frozenset(),
}


def can_move(current: CalculationStatus, to: CalculationStatus) -> bool:
    return to in TRANSITIONS[current]


class RewardCode(enum.StrEnum):
    """The seed's error codes; `status` and `problem_title` give the HTTP status and the problem title."""

    CONTRIBUTION_NOT_FOUND = "REWARD_001"
    CALCULATION_FAILED = "REWARD_002"
    LIMIT_REACHED = "REWARD_003"
    NOT_PERMITTED = "REWARD_004"
    INVALID_CONTRIBUTION_TYPE = "REWARD_005"
    ALREADY_CALCULATED = "REWARD_006"
    MARKET_PRICE_UNAVAILABLE = "REWARD_007"

    @property
    def status(self) -> int:
        return _STATUS[self]

    @property
    def problem_title(self) -> str:
        return _TITLE[self]


_STATUS = {RewardCode.CONTRIBUTION_NOT_FOUND: 404, RewardCode.CALCULATION_FAILED: 500,
           RewardCode.LIMIT_REACHED: 400, RewardCode.NOT_PERMITTED: 403,
           RewardCode.INVALID_CONTRIBUTION_TYPE: 400, RewardCode.ALREADY_CALCULATED: 409,
           RewardCode.MARKET_PRICE_UNAVAILABLE: 500}
_TITLE = {RewardCode.CONTRIBUTION_NOT_FOUND: "Contribution record not found",
          RewardCode.CALCULATION_FAILED: "Reward calculation failed",
          RewardCode.LIMIT_REACHED: "Distribution limit reached",
          RewardCode.NOT_PERMITTED: "Not permitted",
          RewardCode.INVALID_CONTRIBUTION_TYPE: "Invalid contribution type",
          RewardCode.ALREADY_CALCULATED: "Already calculated",
          RewardCode.MARKET_PRICE_UNAVAILABLE: "Market price unavailable"}

#: base factor B per contribution type (seed 003; mining: poolstream's choice, neutral)
DEFAULT_BASE_FACTORS: dict[ContributionType, Decimal] = {
    ContributionType.DEVELOPMENT: Decimal("1.4"),
    ContributionType.LIQUIDITY: Decimal("1.3"),
    ContributionType.GOVERNANCE: Decimal("1.0"),
    ContributionType.EDUCATION: Decimal("1.3"),
    ContributionType.COMMERCE: Decimal("1.2"),
    ContributionType.UX: Decimal("0.9"),
    ContributionType.MINING: Decimal("1.0"),
}
#: a base factor an admin sets must lie in this range
BASE_FACTOR_MIN, BASE_FACTOR_MAX = Decimal("0.0"), Decimal("10.0")
DEFAULT_TARGET_PRICE_JPY = Decimal("150.00")
#: the largest price (JPY) and amount fields accepted; ClickHouse Decimal(18, 4) holds up to 10^14
MAX_PRICE_JPY = Decimal("1000000000")
MAX_FIGURE = Decimal("100000000000000")


def is_factor(value: Decimal) -> bool:
    """A finite decimal with at most `FACTOR_PLACES` places."""
    return value.is_finite() and value == value.quantize(FACTOR_QUANTUM)


def sfr_units(amount: Decimal) -> int:
    """Exact SFR (at most 8 places) -> units; ValueError when it has more places."""
    units = amount.scaleb(SFR_DECIMALS)
    if not units.is_finite() or units != units.to_integral_value():
        raise ValueError(f"an SFR amount has at most {SFR_DECIMALS} decimal places: {amount}")
    return int(units)


def sfr_amount(units: int) -> Decimal:
    """Units -> exact SFR."""
    return Decimal(units).scaleb(-SFR_DECIMALS)
