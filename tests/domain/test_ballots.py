"""What a valid ballot is: distinct known candidates, min..max of them, within budget."""

from __future__ import annotations

import pytest

from voting.domain.ballots import BallotRule, CandidateRef, cheapest_valid_total, validate_ballot
from voting.domain.errors import BallotRuleViolation, VotingError

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
        (BallotRule(1, 3, budget=100), [1, 2, 3], {1, 2, 3}),  # 30+50+20 == budget
        (BallotRule(1, 3, budget=100), [2, 5], {2, 5}),  # under budget
        (BallotRule(1, 1, budget=80), [4], {4}),  # one candidate exactly at budget
        (BallotRule(1, 5, budget=None), [1, 2, 3, 4, 5], {1, 2, 3, 4, 5}),  # no budget
    ],
)
def test_validate_ballot_valid_returns_chosen(rule, choices, expected):
    result = validate_ballot(rule, CANDIDATES, choices)
    assert result == frozenset(expected)
    assert isinstance(result, frozenset)


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
        (BallotRule(1, 3, budget=100), [1, 2, 4], "over_budget", {"budget": 100, "total": 160}),
        (BallotRule(1, 3, budget=99), [1, 2, 3], "over_budget", {"budget": 99, "total": 100}),
        (BallotRule(1, 1, budget=79), [4], "over_budget", {"budget": 79, "total": 80}),
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
        (BallotRule(1, 2, budget=10), [1, 2, 4], "too_many"),
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
