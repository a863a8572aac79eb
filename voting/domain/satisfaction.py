"""The council's satisfaction vote (满意度测评) on completed projects.

Members present rate each completed project 满意 / 基本满意 / 不满意 by secret ballot; the
clerk enters the counts. The grade follows a rule that is data, so a street can change it:
an ordered list of steps "if these options together get more than this fraction of the
members present, the grade is G", and a fallback grade. The usual rule:

* 满意 more than 1/2 of those present → 满意;
* 满意 + 基本满意 more than 1/2 → 基本满意;
* otherwise 不满意.

Fractions are exact: 5 of 10 is not more than half. Blank or spoiled ballots count in
"present" but for no option, so they pull the grade down, as a missing vote does on paper.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from .errors import InvalidInput


class Rating(StrEnum):
    SATISFIED = "satisfied"
    BASIC = "basic"
    DISSATISFIED = "dissatisfied"


@dataclass(frozen=True)
class GradeStep:
    """The grade given when ``options`` together get strictly more than ``share`` of present."""

    grade: Rating
    options: frozenset[Rating]
    share: Fraction


@dataclass(frozen=True)
class GradeRule:
    steps: tuple[GradeStep, ...]
    otherwise: Rating


DEFAULT_RULE = GradeRule(
    steps=(
        GradeStep(Rating.SATISFIED, frozenset({Rating.SATISFIED}), Fraction(1, 2)),
        GradeStep(Rating.BASIC, frozenset({Rating.SATISFIED, Rating.BASIC}), Fraction(1, 2)),
    ),
    otherwise=Rating.DISSATISFIED,
)


def check_counts(counts: Mapping[Rating, int], present: int) -> None:
    """Counts are whole, not negative, and together at most the members present."""
    if present < 1:
        raise InvalidInput("satisfaction_present")
    if any(counts.get(r, 0) < 0 for r in Rating):
        raise InvalidInput("satisfaction_negative")
    if sum(counts.get(r, 0) for r in Rating) > present:
        raise InvalidInput("satisfaction_over_present", present=present)


def grade(counts: Mapping[Rating, int], present: int, rule: GradeRule = DEFAULT_RULE) -> Rating:
    """The grade the rule gives these counts, with exact fractions of the members present."""
    check_counts(counts, present)
    for step in rule.steps:
        votes = sum(counts.get(option, 0) for option in step.options)
        if Fraction(votes, present) > step.share:
            return step.grade
    return rule.otherwise


def rule_to_json(rule: GradeRule) -> str:
    """The rule as canonical JSON (shares as "p/q" strings, so they stay exact)."""
    return json.dumps(
        {
            "steps": [
                {
                    "grade": step.grade.value,
                    "options": sorted(o.value for o in step.options),
                    "more_than": f"{step.share.numerator}/{step.share.denominator}",
                }
                for step in rule.steps
            ],
            "otherwise": rule.otherwise.value,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def rule_from_json(text: str) -> GradeRule:
    """Parse and check a rule; anything malformed is InvalidInput("satisfaction_rule")."""
    try:
        data = json.loads(text)
        steps = tuple(
            GradeStep(
                Rating(step["grade"]),
                frozenset(Rating(o) for o in step["options"]),
                Fraction(str(step["more_than"])),
            )
            for step in data["steps"]
        )
        rule = GradeRule(steps, Rating(data["otherwise"]))
    except (ValueError, KeyError, TypeError, ZeroDivisionError) as exc:
        raise InvalidInput("satisfaction_rule") from exc
    if any(not s.options or not 0 <= s.share < 1 for s in rule.steps):
        raise InvalidInput("satisfaction_rule")
    return rule
