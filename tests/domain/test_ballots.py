"""What a valid ballot is: distinct known candidates, min..max of them, within budget; points
on a cumulative ballot."""

from __future__ import annotations

import pytest

from voting.domain.ballots import (
    BallotKind,
    BallotRule,
    CandidateRef,
    cheapest_valid_total,
    check_rule,
    validate_ballot,
)
from voting.domain.errors import BallotRuleViolation, InvalidInput, VotingError


def knapsack(min_choices, max_choices, budget, min_spend_percent=None):
    return BallotRule(
        min_choices, max_choices, budget, BallotKind.KNAPSACK, None, min_spend_percent
    )


def cumulative(min_choices, max_choices, points):
    return BallotRule(min_choices, max_choices, None, BallotKind.CUMULATIVE, points)


# Five candidates; costs in 万元.
CANDIDATES = {
    1: CandidateRef(id=1, cost=30, position=1),
    2: CandidateRef(id=2, cost=50, position=2),
    3: CandidateRef(id=3, cost=20, position=3),
    4: CandidateRef(id=4, cost=80, position=4),
    5: CandidateRef(id=5, cost=10, position=5),
}


@pytest.mark.parametrize(
    ("rule", "choices", "expected"),
    [
        (BallotRule(1, 3), [1], {1}),
        (BallotRule(1, 3), [1, 2, 3], {1, 2, 3}),  # exactly max_choices
        (BallotRule(2, 2), (4, 5), {4, 5}),  # min == max
        (BallotRule(0, 3), [], set()),
        (BallotRule(1, 5), {1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}),
        (knapsack(1, 3, 100), [1, 2, 3], {1, 2, 3}),  # 30+50+20 == budget
        (knapsack(1, 3, 100), [2, 5], {2, 5}),  # under budget
        (knapsack(1, 1, 80), [4], {4}),  # one candidate exactly at budget
        (BallotRule(1, 5, budget=None), [1, 2, 3, 4, 5], {1, 2, 3, 4, 5}),  # no budget
    ],
)
def test_validate_ballot_valid_returns_chosen(rule, choices, expected):
    result = validate_ballot(rule, CANDIDATES, choices)
    assert result == dict.fromkeys(sorted(expected), 1)
    assert list(result) == sorted(expected)


@pytest.mark.parametrize(
    ("rule", "choices", "code", "params"),
    [
        (BallotRule(1, 3), [1, 1], "duplicate_choice", {}),
        (BallotRule(1, 3), [2, 3, 2], "duplicate_choice", {}),
        (BallotRule(1, 3), [1, 99], "unknown_candidate", {"ids": [99]}),
        (BallotRule(1, 3), [42, 7, 1], "unknown_candidate", {"ids": [7, 42]}),
        (BallotRule(1, 3), [], "too_few", {"minimum": 1, "chosen": 0}),
        (BallotRule(3, 5), [1, 2], "too_few", {"minimum": 3, "chosen": 2}),
        (BallotRule(1, 3), [1, 2, 3, 4], "too_many", {"maximum": 3, "chosen": 4}),
        (BallotRule(1, 1), [1, 2], "too_many", {"maximum": 1, "chosen": 2}),
        (knapsack(1, 3, 100), [1, 2, 4], "over_budget", {"budget": 100, "total": 160}),
        (knapsack(1, 3, 99), [1, 2, 3], "over_budget", {"budget": 99, "total": 100}),
        (knapsack(1, 1, 79), [4], "over_budget", {"budget": 79, "total": 80}),
    ],
)
def test_validate_ballot_invalid_raises_code_and_params(rule, choices, code, params):
    with pytest.raises(BallotRuleViolation) as exc:
        validate_ballot(rule, CANDIDATES, choices)
    assert exc.value.code == code
    assert exc.value.params == params


def test_validate_ballot_violation_is_voting_error():
    with pytest.raises(VotingError) as exc:
        validate_ballot(BallotRule(1, 1), CANDIDATES, [1, 2])
    assert isinstance(exc.value, BallotRuleViolation)
    assert exc.value.args == ("too_many", {"maximum": 1, "chosen": 2})


@pytest.mark.parametrize(
    ("rule", "choices", "code"),
    [
        # duplicates are reported before unknown ids
        (BallotRule(1, 3), [99, 99], "duplicate_choice"),
        # unknown ids are reported before the count
        (BallotRule(1, 1), [1, 2, 99], "unknown_candidate"),
        # the count is reported before the budget
        (knapsack(1, 2, 10), [1, 2, 4], "too_many"),
    ],
)
def test_validate_ballot_several_faults_first_rule_reported(rule, choices, code):
    with pytest.raises(BallotRuleViolation) as exc:
        validate_ballot(rule, CANDIDATES, choices)
    assert exc.value.code == code


@pytest.mark.parametrize(
    ("min_choices", "costs", "expected"),
    [
        (1, [30, 50, 20, 80, 10], 10),
        (2, [30, 50, 20, 80, 10], 30),
        (3, [30, 50, 20, 80, 10], 60),
        (5, [30, 50, 20, 80, 10], 190),
        (0, [30, 50], 0),
        (2, [7, 7, 7], 14),
        (3, [5, 1], 6),  # fewer candidates than min_choices: all of them
        (1, [], 0),
    ],
)
def test_cheapest_valid_total_min_choices_cheapest_sum(min_choices, costs, expected):
    assert cheapest_valid_total(BallotRule(min_choices, 5), costs) == expected


def test_approval_ballot_with_budget_is_not_limited_by_it():
    # The budget of an approval round is the outcome rule's, not the ballot's.
    rule = BallotRule(1, 5, budget=50)
    assert validate_ballot(rule, CANDIDATES, [1, 2, 4]) == {1: 1, 2: 1, 4: 1}


@pytest.mark.parametrize(
    ("rule", "choices", "expected"),
    [
        (cumulative(1, 3, 5), {1: 5}, {1: 5}),  # all points on one candidate
        (cumulative(1, 3, 5), {3: 2, 1: 3}, {1: 3, 3: 2}),  # sorted by id
        (cumulative(1, 3, 5), {1: 1, 2: 1}, {1: 1, 2: 1}),  # fewer points than allowed
        (cumulative(1, 3, 5), {1: 2, 2: 0, 4: 0}, {1: 2}),  # 0 points names nobody
        (cumulative(2, 3, 4), [1, 2], {1: 1, 2: 1}),  # a plain list gives 1 point each
    ],
)
def test_cumulative_ballot_valid_returns_points(rule, choices, expected):
    result = validate_ballot(rule, CANDIDATES, choices)
    assert result == expected
    assert list(result) == sorted(expected)


@pytest.mark.parametrize(
    ("rule", "choices", "code", "params"),
    [
        (cumulative(1, 3, 5), {1: 4, 2: 2}, "too_many_points", {"maximum": 5, "spent": 6}),
        (cumulative(1, 2, 9), {1: 1, 2: 1, 3: 1}, "too_many", {"maximum": 2, "chosen": 3}),
        (cumulative(2, 3, 5), {1: 5, 2: 0}, "too_few", {"minimum": 2, "chosen": 1}),
        (cumulative(1, 3, 5), {1: -1, 2: 3}, "negative_points", {}),
        (cumulative(1, 3, 5), {1: 2, 77: 1}, "unknown_candidate", {"ids": [77]}),
        # an approval ballot cannot give two points to one candidate
        (BallotRule(1, 3), {1: 2}, "duplicate_choice", {}),
    ],
)
def test_cumulative_ballot_invalid(rule, choices, code, params):
    with pytest.raises(BallotRuleViolation) as exc:
        validate_ballot(rule, CANDIDATES, choices)
    assert (exc.value.code, exc.value.params) == (code, params)


def test_knapsack_min_spend_refuses_a_ballot_that_spends_too_little():
    rule = knapsack(1, 5, 100, min_spend_percent=75)  # at least 75
    assert rule.min_spend == 75
    assert validate_ballot(rule, CANDIDATES, [2, 3, 5]) == {2: 1, 3: 1, 5: 1}  # 80
    with pytest.raises(BallotRuleViolation) as exc:
        validate_ballot(rule, CANDIDATES, [1, 3, 5])  # 60
    assert exc.value.code == "under_min_spend"
    assert exc.value.params == {"minimum": 75, "total": 60, "budget": 100}


def test_min_spend_rounds_up_to_whole_yuan():
    assert knapsack(1, 5, 101, min_spend_percent=50).min_spend == 51
    assert knapsack(1, 5, 100, min_spend_percent=None).min_spend == 0


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (BallotRule(3, 2), "choices_range"),
        (BallotRule(1, 2, None, BallotKind.KNAPSACK), "knapsack_needs_budget"),
        (BallotRule(1, 2, None, BallotKind.CUMULATIVE), "points_only_cumulative"),
        (BallotRule(1, 2, None, BallotKind.APPROVAL, 5), "points_only_cumulative"),
        (cumulative(3, 4, 2), "points_below_min_choices"),
        (BallotRule(1, 2, 100, BallotKind.APPROVAL, None, 50), "min_spend_only_knapsack"),
        (knapsack(1, 2, 100, 101), "min_spend_only_knapsack"),
    ],
)
def test_check_rule_refuses_senseless_rules(rule, code):
    with pytest.raises(InvalidInput) as exc:
        check_rule(rule)
    assert exc.value.code == code


def test_check_rule_accepts_each_kind():
    for rule in (BallotRule(1, 3), knapsack(1, 3, 100, 60), cumulative(1, 3, 5)):
        check_rule(rule)  # raises if refused
