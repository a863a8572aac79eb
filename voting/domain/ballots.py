"""What a valid ballot is.

A ballot names distinct candidates of its round: at least ``min_choices`` and at most
``max_choices`` of them. When the round has a budget, the chosen candidates' estimated
costs must add up to no more than the budget (a "knapsack" ballot, as Stanford PB does):
residents weigh what the money buys, not only what they like.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from .errors import BallotRuleViolation


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


def validate_ballot(
    rule: BallotRule, candidates: Mapping[int, CandidateRef], choices: Collection[int]
) -> frozenset[int]:
    """Return the chosen ids if ``choices`` is a valid ballot, else raise BallotRuleViolation."""
    chosen = frozenset(choices)
    if len(chosen) != len(choices):
        raise BallotRuleViolation("duplicate_choice")
    unknown = sorted(chosen - candidates.keys())
    if unknown:
        raise BallotRuleViolation("unknown_candidate", ids=unknown)
    if len(chosen) < rule.min_choices:
        raise BallotRuleViolation("too_few", minimum=rule.min_choices, chosen=len(chosen))
    if len(chosen) > rule.max_choices:
        raise BallotRuleViolation("too_many", maximum=rule.max_choices, chosen=len(chosen))
    if rule.budget is not None:
        total = sum(candidates[cid].cost for cid in chosen)
        if total > rule.budget:
            raise BallotRuleViolation("over_budget", budget=rule.budget, total=total)
    return chosen


def cheapest_valid_total(rule: BallotRule, costs: Collection[int]) -> int:
    """The least total cost of any ballot of ``min_choices`` candidates."""
    return sum(sorted(costs)[: rule.min_choices])
