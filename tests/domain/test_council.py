"""The residents' council vote that decides after the public vote."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from voting.domain.council import (
    DEFAULT_QUORUM,
    Ballots,
    CouncilRecord,
    WinnerDetails,
    departures,
    ensure_valid_record,
    has_quorum,
    record_problems,
)
from voting.domain.errors import InvalidInput

CANDIDATES = frozenset({1, 2, 3, 4, 5})
PUBLIC = frozenset({1, 2, 3})
SEATS = 3


def record(
    expected: int = 30,
    present: int = 25,
    votes: dict[int, int] | None = None,
    selected: frozenset[int] = PUBLIC,
    reasons: dict[int, str] | None = None,
) -> CouncilRecord:
    if votes is None:
        votes = {1: 20, 2: 18, 3: 15, 4: 10, 5: 5}
    figure = max(present, 0)
    return CouncilRecord(
        members_expected=expected,
        members_present=present,
        votes=votes,
        selected=selected,
        reasons=reasons or {},
        ballots=Ballots(figure, figure, figure),
        tellers="王、李",
        procedure="差额票选",
        held_on=date(2026, 5, 20),
        details=dict.fromkeys(CANDIDATES, WinnerDetails("目标", "城管科", date(2026, 12, 1))),
    )


def problems(rec: CouncilRecord, **overrides):
    kwargs = {"seats": SEATS, "candidate_ids": CANDIDATES, "public_selected": PUBLIC}
    kwargs.update(overrides)
    return record_problems(rec, **kwargs)


# --- quorum ----------------------------------------------------------------------------


def test_default_quorum_two_thirds():
    assert Fraction(2, 3) == DEFAULT_QUORUM


@pytest.mark.parametrize(
    ("expected", "present", "quorate"),
    [
        (30, 20, False),  # exactly two thirds is not more than two thirds
        (30, 21, True),
        (30, 30, True),
        (30, 0, False),
        (3, 2, False),
        (3, 3, True),
        (9, 6, False),
        (9, 7, True),
        (10, 6, False),
        (10, 7, True),  # 0.7 > 0.666…
        (31, 21, True),  # 21/31 ≈ 0.677
        (31, 20, False),
        (0, 0, False),
        (0, 5, False),
    ],
)
def test_has_quorum_counts_expected(expected, present, quorate):
    assert has_quorum(expected, present) is quorate


@pytest.mark.parametrize(("present", "quorate"), [(15, False), (16, True)])
def test_has_quorum_custom_half_strictly_more(present, quorate):
    assert has_quorum(30, present, Fraction(1, 2)) is quorate


# --- departures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selected", "public", "expected"),
    [
        ({1, 2, 3}, {1, 2, 3}, set()),
        ({1, 2, 4}, {1, 2, 3}, {3, 4}),
        ({4, 5}, {1, 2}, {1, 2, 4, 5}),
        ({1, 2, 3}, {1, 2}, {3}),
        (set(), {1}, {1}),
    ],
)
def test_departures_symmetric_difference(selected, public, expected):
    result = departures(frozenset(selected), frozenset(public))
    assert result == frozenset(expected)
    assert departures(frozenset(public), frozenset(selected)) == result


# --- the record ------------------------------------------------------------------------


def test_record_problems_matches_public_outcome_empty():
    assert problems(record()) == []


def test_record_problems_departures_with_reasons_empty():
    rec = record(
        selected=frozenset({1, 2, 4}),
        reasons={3: "与区级项目重复，已由区里立项", 4: "加装电梯涉及安全，议事会优先"},
    )
    assert problems(rec) == []
    assert (
        ensure_valid_record(rec, seats=SEATS, candidate_ids=CANDIDATES, public_selected=PUBLIC)
        is None
    )


def test_record_problems_votes_at_limits_empty():
    # each candidate at most members present, total exactly present × seats
    rec = record(present=21, votes={1: 21, 2: 21, 3: 21, 4: 0, 5: 0})
    assert problems(rec) == []


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        (record(present=31, votes={}), [("present_range", None)]),
        (record(present=-1, votes={}), [("present_range", None), ("ballots_issued_range", None)]),
        (record(present=20, votes={1: 20}), [("no_quorum", None)]),
        (record(expected=0, present=0, votes={}), [("no_quorum", None)]),
        (record(votes={1: 10, 9: 3}), [("unknown_candidate", 9)]),
        (record(votes={1: 26, 2: 0}), [("votes_range", 1)]),
        (record(votes={1: 10, 3: -1}), [("votes_range", 3)]),
        (
            record(present=22, votes={1: 22, 2: 22, 3: 22, 4: 1}),
            [("votes_total", None)],
        ),
        (
            record(selected=frozenset({1, 2, 99}), reasons={3: "理由", 99: "理由"}),
            [("unknown_candidate", None)],
        ),
        (record(selected=frozenset({1, 2}), reasons={3: "经费不足"}), [("seat_count", None)]),
        (
            record(selected=frozenset({1, 2, 3, 4}), reasons={4: "增补"}),
            [("seat_count", None)],
        ),
        (record(selected=frozenset({1, 2, 4})), [("reason_required", 3), ("reason_required", 4)]),
        (
            record(selected=frozenset({1, 2, 4}), reasons={3: "不适合", 4: "  "}),
            [("reason_required", 4)],
        ),
        (
            record(selected=frozenset({1, 2, 4}), reasons={3: "\u3000", 4: "安全"}),
            [("reason_required", 3)],
        ),
    ],
)
def test_record_problems_one_fault_exact_problems(rec, expected):
    assert problems(rec) == expected


def test_record_problems_several_faults_all_listed_in_order():
    rec = record(
        present=18,
        votes={5: 30, 1: 10, 8: 1},
        selected=frozenset({4, 5}),
    )
    assert problems(rec) == [
        ("no_quorum", None),
        ("votes_range", 5),  # vote problems come in candidate-id order
        ("unknown_candidate", 8),
        ("seat_count", None),
        ("reason_required", 1),
        ("reason_required", 2),
        ("reason_required", 3),
        ("reason_required", 4),
        ("reason_required", 5),
    ]


def test_record_problems_custom_quorum_used():
    rec = record(present=16, votes={1: 16})
    assert problems(rec) == [("no_quorum", None)]
    assert problems(rec, quorum=Fraction(1, 2)) == []


def test_ensure_valid_record_invalid_raises_with_problems():
    rec = record(present=20, votes={1: 5}, selected=frozenset({1, 2}))
    with pytest.raises(InvalidInput) as exc:
        ensure_valid_record(rec, seats=SEATS, candidate_ids=CANDIDATES, public_selected=PUBLIC)
    assert exc.value.code == "council_record"
    assert exc.value.params == {
        "problems": [("no_quorum", None), ("seat_count", None), ("reason_required", 3)]
    }
