"""What a valid ballot is.

A round's ballot rule is frozen when the round opens. Three kinds:

* ``approval``  — name at least ``min_choices`` and at most ``max_choices`` distinct
  candidates.
* ``knapsack``  — the same, and the chosen candidates' estimated costs must add up to no
  more than the budget, and, when the round sets ``min_spend_percent``, to at least that
  share of it (Stanford PB's knapsack ballot): residents weigh what the money buys, not
  only what they like.
* ``cumulative`` — spread up to ``points_total`` points over at most ``max_choices``
  candidates (at least ``min_choices`` of them), whole points, at least 1 on each named one.

A ballot is a mapping candidate id → points; an approval or knapsack ballot gives 1 point
to each candidate it names (``as_points``), so one representation serves every kind.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from .errors import BallotRuleViolation, InvalidInput


class BallotKind(StrEnum):
    APPROVAL = "approval"
    KNAPSACK = "knapsack"
    CUMULATIVE = "cumulative"


@dataclass(frozen=True)
class CandidateRef:
    """What the rules need to know of a candidate on a round's ballot."""

    id: int
    cost: int
    position: int


@dataclass(frozen=True)
class BallotRule:
    """The ballot rule of a round, frozen when the round opens."""

    min_choices: int
    max_choices: int
    budget: int | None = None
    kind: BallotKind = BallotKind.APPROVAL
    points_total: int | None = None
    min_spend_percent: int | None = None

    @staticmethod
    def of(
        min_choices: int,
        max_choices: int,
        budget: int | None,
        kind: str,
        points_total: int | None,
        min_spend_percent: int | None,
    ) -> BallotRule:
        """The rule from a round's stored columns."""
        return BallotRule(
            min_choices, max_choices, budget, BallotKind(kind), points_total, min_spend_percent
        )

    @property
    def min_spend(self) -> int:
        """The least total cost a knapsack ballot must reach (0 when there is no minimum)."""
        if self.kind is not BallotKind.KNAPSACK or not self.min_spend_percent or not self.budget:
            return 0
        return -(-self.budget * self.min_spend_percent // 100)  # ceiling, in whole yuan


def check_rule(rule: BallotRule) -> None:
    """Raise InvalidInput if the rule itself cannot make sense (checked when set up)."""
    if not 1 <= rule.min_choices <= rule.max_choices:
        raise InvalidInput("choices_range")
    if rule.kind is BallotKind.KNAPSACK and rule.budget is None:
        raise InvalidInput("knapsack_needs_budget")
    if (rule.kind is BallotKind.CUMULATIVE) != (rule.points_total is not None):
        raise InvalidInput("points_only_cumulative")
    if rule.points_total is not None and rule.points_total < rule.min_choices:
        raise InvalidInput("points_below_min_choices")
    if rule.min_spend_percent is not None and (
        rule.kind is not BallotKind.KNAPSACK or not 1 <= rule.min_spend_percent <= 100
    ):
        raise InvalidInput("min_spend_only_knapsack")


def as_points(choices: Collection[int] | Mapping[int, int]) -> dict[int, int]:
    """A ballot as candidate id → points (1 each for a plain list of ids).

    A repeated id in a plain list is kept as a duplicate marker (points 0) so that the rule
    check refuses it rather than silently merging it.
    """
    if isinstance(choices, Mapping):
        return {int(cid): int(points) for cid, points in choices.items()}
    points: dict[int, int] = {}
    for cid in choices:
        points[cid] = 0 if cid in points else 1
    return points


def validate_ballot(
    rule: BallotRule,
    candidates: Mapping[int, CandidateRef],
    choices: Collection[int] | Mapping[int, int],
) -> dict[int, int]:
    """Return the ballot (id → points, sorted by id) if valid, else raise BallotRuleViolation."""
    ballot = _points_of(rule, as_points(choices))
    unknown = sorted(ballot.keys() - candidates.keys())
    if unknown:
        raise BallotRuleViolation("unknown_candidate", ids=unknown)
    if len(ballot) < rule.min_choices:
        raise BallotRuleViolation("too_few", minimum=rule.min_choices, chosen=len(ballot))
    if len(ballot) > rule.max_choices:
        raise BallotRuleViolation("too_many", maximum=rule.max_choices, chosen=len(ballot))
    spent = sum(ballot.values())
    if rule.points_total is not None and spent > rule.points_total:
        raise BallotRuleViolation("too_many_points", maximum=rule.points_total, spent=spent)
    if rule.kind is BallotKind.KNAPSACK and rule.budget is not None:
        _check_cost(rule, rule.budget, sum(candidates[cid].cost for cid in ballot))
    return dict(sorted(ballot.items()))


def _points_of(rule: BallotRule, ballot: dict[int, int]) -> dict[int, int]:
    """One point per named candidate on a crossed ballot; whole points ≥ 0 on a cumulative one
    (a candidate given 0 points is not named)."""
    if rule.kind is not BallotKind.CUMULATIVE:
        if any(points != 1 for points in ballot.values()):
            raise BallotRuleViolation("duplicate_choice")
        return ballot
    if any(points < 0 for points in ballot.values()):
        raise BallotRuleViolation("negative_points")
    return {cid: points for cid, points in ballot.items() if points}


def _check_cost(rule: BallotRule, budget: int, total: int) -> None:
    if total > budget:
        raise BallotRuleViolation("over_budget", budget=budget, total=total)
    if total < rule.min_spend:
        raise BallotRuleViolation(
            "under_min_spend", minimum=rule.min_spend, total=total, budget=budget
        )


def cheapest_valid_total(rule: BallotRule, costs: Collection[int]) -> int:
    """The least total cost of any ballot of ``min_choices`` candidates."""
    return sum(sorted(costs)[: rule.min_choices])
