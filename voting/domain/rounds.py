"""What a round definition must satisfy before it can open.

* More candidates than seats (差额): the council must have a real choice.
* ``1 <= min_choices <= max_choices <= number of candidates``.
* Greedy and the equal-shares outcomes need a budget; a budget must be positive and, on a
  knapsack ballot, must admit at least one valid ballot (the ``min_choices`` cheapest
  candidates fit in it, and all candidates together reach the minimum spend).
* A cumulative ballot has a points total of at least ``min_choices``; only a cumulative
  ballot has one, only a knapsack ballot has a minimum spend.
* Only accepted candidates of the round's street can stand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .ballots import BallotKind, BallotRule, cheapest_valid_total, check_rule
from .errors import InvalidInput
from .tally import OutcomeRule


@dataclass(frozen=True)
class RoundDefinition:
    """The frozen parts of a round."""

    rule: BallotRule
    outcome: OutcomeRule
    seats: int
    candidate_costs: Sequence[int]


def definition_problems(definition: RoundDefinition) -> list[str]:
    """Every reason the round cannot open, as error codes; empty if it can."""
    rule, n = definition.rule, len(definition.candidate_costs)
    problems = []
    if definition.seats < 1:
        problems.append("seats_positive")
    if n <= definition.seats:
        problems.append("not_competitive")
    if not 1 <= rule.min_choices <= rule.max_choices:
        problems.append("choices_order")
    elif rule.max_choices > n:
        problems.append("choices_exceed_candidates")
    if definition.outcome.needs_budget and rule.budget is None:
        problems.append("greedy_needs_budget")
    try:
        check_rule(rule)
    except InvalidInput as err:
        if err.code != "choices_range":
            problems.append(err.code)
    if rule.budget is not None:
        problems += _budget_problems(rule, rule.budget, definition.candidate_costs)
    return problems


def _budget_problems(rule: BallotRule, budget: int, costs: Sequence[int]) -> list[str]:
    if budget <= 0:
        return ["budget_positive"]
    if rule.kind is not BallotKind.KNAPSACK or not costs:
        return []
    if cheapest_valid_total(rule, costs) > budget:
        return ["budget_too_small"]
    if sum(sorted(costs)[-rule.max_choices :]) < rule.min_spend:
        return ["min_spend_unreachable"]
    return []


def ensure_can_open(definition: RoundDefinition) -> None:
    """Raise InvalidInput listing every problem, or return if the round can open."""
    problems = definition_problems(definition)
    if problems:
        raise InvalidInput("round_definition", problems=problems)
