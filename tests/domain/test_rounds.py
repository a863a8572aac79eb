"""What a round definition must satisfy before it can open."""

from __future__ import annotations

import pytest

from voting.domain.ballots import BallotKind, BallotRule
from voting.domain.errors import InvalidInput
from voting.domain.rounds import RoundDefinition, definition_problems, ensure_can_open
from voting.domain.tally import OutcomeRule

COSTS = (30, 50, 20, 80, 10)  # five candidates; the two cheapest cost 30 together


def definition(
    min_choices: int = 1,
    max_choices: int = 3,
    budget: int | None = None,
    outcome: OutcomeRule = OutcomeRule.TOP_N,
    seats: int = 3,
    costs: tuple[int, ...] = COSTS,
    kind: BallotKind | None = None,
    points: int | None = None,
    min_spend: int | None = None,
) -> RoundDefinition:
    # A budget makes a knapsack ballot unless the test says otherwise.
    kind = kind or (BallotKind.KNAPSACK if budget is not None else BallotKind.APPROVAL)
    return RoundDefinition(
        rule=BallotRule(min_choices, max_choices, budget, kind, points, min_spend),
        outcome=outcome,
        seats=seats,
        candidate_costs=costs,
    )


@pytest.mark.parametrize(
    "valid",
    [
        definition(),
        definition(min_choices=1, max_choices=5),  # max == number of candidates
        definition(min_choices=3, max_choices=3),  # min == max
        definition(seats=4),  # one more candidate than seats
        definition(seats=1, max_choices=2, costs=(10, 20)),
        definition(outcome=OutcomeRule.GREEDY, budget=100),
        definition(min_choices=2, budget=30),  # the two cheapest exactly fill the budget
        definition(min_choices=1, budget=10),  # the cheapest alone exactly fills it
        # an approval ballot is not limited by the outcome's budget
        definition(min_choices=2, budget=5, kind=BallotKind.APPROVAL),
        definition(outcome=OutcomeRule.MES, budget=100, kind=BallotKind.APPROVAL),
        definition(outcome=OutcomeRule.MES_ADD1_GREEDY, budget=100),
        definition(kind=BallotKind.CUMULATIVE, points=5),
        definition(max_choices=3, budget=200, min_spend=80),  # 80+50+30 = 160 ≥ 160
    ],
)
def test_definition_problems_valid_definition_empty(valid):
    assert definition_problems(valid) == []
    assert ensure_can_open(valid) is None


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (definition(seats=0), ["seats_positive"]),
        (definition(seats=-1), ["seats_positive"]),
        (definition(seats=5), ["not_competitive"]),  # as many candidates as seats
        (definition(seats=6), ["not_competitive"]),
        (definition(seats=1, max_choices=1, costs=(10,)), ["not_competitive"]),
        (definition(min_choices=0), ["choices_order"]),
        (definition(min_choices=3, max_choices=2), ["choices_order"]),
        (definition(min_choices=-1, max_choices=-1), ["choices_order"]),
        (definition(max_choices=6), ["choices_exceed_candidates"]),
        (definition(min_choices=6, max_choices=6), ["choices_exceed_candidates"]),
        (definition(outcome=OutcomeRule.GREEDY, budget=None), ["greedy_needs_budget"]),
        (definition(budget=0), ["budget_positive"]),
        (definition(budget=-100), ["budget_positive"]),
        (definition(outcome=OutcomeRule.GREEDY, budget=0), ["budget_positive"]),
        (definition(min_choices=2, budget=29), ["budget_too_small"]),
        (definition(min_choices=1, budget=9), ["budget_too_small"]),
    ],
)
def test_definition_problems_one_fault_exact_code(bad, expected):
    assert definition_problems(bad) == expected


def test_definition_problems_several_faults_all_listed_in_order():
    bad = definition(seats=0, min_choices=2, max_choices=1, outcome=OutcomeRule.GREEDY, budget=None)
    assert definition_problems(bad) == ["seats_positive", "choices_order", "greedy_needs_budget"]


def test_definition_problems_no_candidates_not_competitive_and_exceed():
    bad = definition(seats=1, min_choices=1, max_choices=1, budget=50, costs=())
    assert definition_problems(bad) == ["not_competitive", "choices_exceed_candidates"]


def test_definition_problems_seats_zero_no_candidates_both_reported():
    bad = definition(seats=0, max_choices=1, costs=())
    assert definition_problems(bad) == [
        "seats_positive",
        "not_competitive",
        "choices_exceed_candidates",
    ]


def test_ensure_can_open_invalid_raises_with_problems():
    bad = definition(seats=5, min_choices=2, budget=29)
    with pytest.raises(InvalidInput) as exc:
        ensure_can_open(bad)
    assert exc.value.code == "round_definition"
    assert exc.value.params == {"problems": ["not_competitive", "budget_too_small"]}
