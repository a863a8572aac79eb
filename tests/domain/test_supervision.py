"""Supervision rules: suggestion transitions, overdue, progress and visit checks, counts."""

from __future__ import annotations

from datetime import date

import pytest

from voting.domain.errors import Conflict, InvalidInput
from voting.domain.supervision import (
    ImplementationStatus,
    MemberKind,
    ProgressInput,
    SpotCheckInput,
    SuggestionAction,
    SuggestionInput,
    SuggestionStatus,
    VisitInput,
    check_answer,
    check_progress,
    check_visit,
    count_suggestions,
    is_overdue,
    next_suggestion_status,
)

TODAY = date(2026, 9, 1)
S = SuggestionStatus


def test_suggestion_moves_open_answered_closed():
    assert next_suggestion_status(S.OPEN, SuggestionAction.ANSWER) is S.ANSWERED
    assert next_suggestion_status(S.ANSWERED, SuggestionAction.CLOSE) is S.CLOSED


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.OPEN, SuggestionAction.CLOSE),
        (S.ANSWERED, SuggestionAction.ANSWER),
        (S.CLOSED, SuggestionAction.ANSWER),
        (S.CLOSED, SuggestionAction.CLOSE),
    ],
)
def test_suggestion_backward_or_skipping_step_refused(status, action):
    with pytest.raises(Conflict) as err:
        next_suggestion_status(status, action)
    assert err.value.code == f"suggestion_{status.value}"


def test_overdue_only_open_and_after_deadline_day():
    deadline = date(2026, 8, 31)
    assert not is_overdue(S.OPEN, deadline, deadline)
    assert is_overdue(S.OPEN, deadline, TODAY)
    assert not is_overdue(S.ANSWERED, deadline, TODAY)
    assert not is_overdue(S.CLOSED, deadline, TODAY)


def test_count_suggestions_answered_includes_closed():
    items = [
        (S.OPEN, date(2026, 8, 1)),  # overdue
        (S.OPEN, date(2026, 9, 30)),
        (S.ANSWERED, date(2026, 8, 1)),
        (S.CLOSED, date(2026, 8, 1)),
    ]
    counts = count_suggestions(2, items, TODAY)
    assert (counts.rounds, counts.suggestions, counts.answered, counts.closed) == (2, 4, 2, 1)
    assert counts.overdue == 1
    assert (counts + counts).suggestions == 8


def _progress(**kw):  # type: ignore[no-untyped-def]
    values = {
        "status": ImplementationStatus.IN_PROGRESS,
        "progress_percent": 40,
        "budget_spent_yuan": 10_000,
        "actual_completion": None,
        "note": "",
    }
    values.update(kw)
    return ProgressInput(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"progress_percent": 101}, "progress_range"),
        ({"progress_percent": -1}, "progress_range"),
        ({"budget_spent_yuan": -5}, "budget_spent_negative"),
        ({"status": ImplementationStatus.COMPLETED}, "completed_needs_full_progress"),
        (
            {"status": ImplementationStatus.COMPLETED, "progress_percent": 100},
            "completion_date_iff_completed",
        ),
        ({"actual_completion": date(2026, 8, 1)}, "completion_date_iff_completed"),
        (
            {
                "status": ImplementationStatus.COMPLETED,
                "progress_percent": 100,
                "actual_completion": date(2026, 9, 2),
            },
            "date_in_future",
        ),
        ({"status": ImplementationStatus.PLANNED}, "planned_has_no_progress"),
    ],
)
def test_check_progress_refuses_contradictions(overrides, code):
    with pytest.raises(InvalidInput) as err:
        check_progress(_progress(**overrides), started_on=None, today=TODAY)
    assert err.value.code == code


def test_check_progress_completed_with_date_accepted():
    data = _progress(
        status=ImplementationStatus.COMPLETED,
        progress_percent=100,
        actual_completion=date(2026, 8, 30),
    )
    check_progress(data, started_on=date(2026, 6, 1), today=TODAY)
    with pytest.raises(InvalidInput) as err:
        check_progress(data, started_on=date(2026, 8, 31), today=TODAY)
    assert err.value.code == "completion_before_start"


def _visit(**kw):  # type: ignore[no-untyped-def]
    values = {
        "held_on": date(2026, 8, 20),
        "site": "3幢北侧停车场工地",
        "findings": "地面硬化已完成。",
        "participants": (("张代表", MemberKind.DEPUTY),),
        "spot_checks": (SpotCheckInput("车位划线宽度", True, ""),),
        "suggestions": (SuggestionInput("夜间施工噪声扰民", date(2026, 8, 27)),),
    }
    values.update(kw)
    return VisitInput(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"held_on": date(2026, 9, 2)}, "date_in_future"),
        ({"site": "  "}, "visit_site"),
        ({"findings": ""}, "visit_findings_required"),
        ({"participants": ()}, "visit_participants_required"),
        ({"participants": (("x" * 41, MemberKind.RESIDENT),)}, "participant_name"),
        ({"spot_checks": (SpotCheckInput("", False, ""),)}, "spot_check_item"),
        ({"suggestions": (SuggestionInput(" ", date(2026, 9, 1)),)}, "suggestion_text_required"),
        ({"suggestions": (SuggestionInput("x", date(2026, 8, 19)),)}, "deadline_before_round"),
    ],
)
def test_check_visit_refuses_bad_rounds(overrides, code):
    with pytest.raises(InvalidInput) as err:
        check_visit(_visit(**overrides), TODAY)
    assert err.value.code == code


def test_check_visit_accepts_complete_round():
    check_visit(_visit(), TODAY)


def test_check_answer_strips_and_requires_text():
    assert check_answer("  已调整施工时间为 7:00–19:00 ") == "已调整施工时间为 7:00–19:00"
    with pytest.raises(InvalidInput):
        check_answer("   ")
