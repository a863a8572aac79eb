"""What a round definition must satisfy before it can open.

* More candidates than seats (差额): the council must have a real choice.
* ``1 <= min_choices <= max_choices <= number of candidates``.
* The greedy outcome needs a budget; a budget must be positive and must admit at least one
  valid ballot (the ``min_choices`` cheapest candidates fit in it).
* Only accepted candidates of the round's street can stand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .ballots import BallotRule, cheapest_valid_total
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
    if definition.outcome is OutcomeRule.GREEDY and rule.budget is None:
        problems.append("greedy_needs_budget")
    if rule.budget is not None:
        if rule.budget <= 0:
            problems.append("budget_positive")
        elif n and cheapest_valid_total(rule, definition.candidate_costs) > rule.budget:
            problems.append("budget_too_small")
    return problems


def ensure_can_open(definition: RoundDefinition) -> None:
    """Raise InvalidInput listing every problem, or return if the round can open."""
    problems = definition_problems(definition)
    if problems:
        raise InvalidInput("round_definition", problems=problems)
