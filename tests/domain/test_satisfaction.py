"""The satisfaction grade: exact fractions, the half-way edge, a street's own rule."""

from __future__ import annotations

from fractions import Fraction

import pytest

from voting.domain.errors import InvalidInput
from voting.domain.satisfaction import (
    DEFAULT_RULE,
    GradeRule,
    GradeStep,
    Rating,
    grade,
    rule_from_json,
    rule_to_json,
)

R = Rating


def counts(s: int, b: int, d: int) -> dict[Rating, int]:
    return {R.SATISFIED: s, R.BASIC: b, R.DISSATISFIED: d}


@pytest.mark.parametrize(
    ("c", "present", "expected"),
    [
        (counts(6, 2, 2), 10, R.SATISFIED),
        (counts(5, 3, 2), 10, R.BASIC),  # exactly half 满意 is not "over half"
        (counts(5, 0, 5), 10, R.DISSATISFIED),  # 满意 + 基本满意 exactly half
        (counts(3, 3, 4), 10, R.BASIC),
        (counts(2, 2, 5), 9, R.DISSATISFIED),
        (counts(5, 0, 0), 9, R.SATISFIED),  # 5 of 9 > 1/2
        (counts(4, 1, 0), 9, R.BASIC),  # blanks count in "present", for no option
        (counts(0, 0, 0), 1, R.DISSATISFIED),
    ],
)
def test_grade_default_rule(c, present, expected):
    assert grade(c, present) is expected


def test_grade_custom_two_thirds_rule():
    rule = GradeRule(
        (
            GradeStep(R.SATISFIED, frozenset({R.SATISFIED}), Fraction(2, 3)),
            GradeStep(R.BASIC, frozenset({R.SATISFIED, R.BASIC}), Fraction(1, 2)),
        ),
        R.DISSATISFIED,
    )
    assert grade(counts(6, 2, 1), 9, rule) is R.BASIC  # 6/9 is exactly 2/3: not more
    assert grade(counts(7, 1, 1), 9, rule) is R.SATISFIED
    assert grade(counts(7, 1, 1), 9) is R.SATISFIED


@pytest.mark.parametrize(
    ("c", "present", "code"),
    [
        (counts(6, 3, 2), 10, "satisfaction_over_present"),
        (counts(-1, 0, 0), 10, "satisfaction_negative"),
        (counts(0, 0, 0), 0, "satisfaction_present"),
    ],
)
def test_grade_refuses_impossible_counts(c, present, code):
    with pytest.raises(InvalidInput) as err:
        grade(c, present)
    assert err.value.code == code


def test_rule_json_round_trip_exact():
    text = rule_to_json(DEFAULT_RULE)
    assert '"more_than": "1/2"' in text
    assert rule_from_json(text) == DEFAULT_RULE


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"steps": [], "otherwise": "great"}',
        '{"steps": [{"grade": "satisfied", "options": [], "more_than": "1/2"}],'
        ' "otherwise": "dissatisfied"}',
        '{"steps": [{"grade": "satisfied", "options": ["satisfied"], "more_than": "3/2"}],'
        ' "otherwise": "dissatisfied"}',
        '{"steps": [{"grade": "satisfied", "options": ["satisfied"], "more_than": "1/0"}],'
        ' "otherwise": "dissatisfied"}',
    ],
)
def test_rule_from_json_refuses_malformed(text):
    with pytest.raises(InvalidInput) as err:
        rule_from_json(text)
    assert err.value.code == "satisfaction_rule"
