"""Implementation and supervision (督办) of a selected project: the rules.

* An implementation record moves planned → in_progress → completed. A completed project is
  at 100 % with an actual completion date; progress is a whole percentage 0–100; money is
  whole yuan, never negative.
* Supervision rounds are recorded by the street's supervision group. Each round may raise
  suggestions; a suggestion moves open → answered → closed, only forwards: the responsible
  unit answers it (through the street's officials), then the group closes it.
* "Overdue" is an open suggestion past its deadline. It is computed from today's date,
  never stored, so it can never go stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .errors import Conflict, InvalidInput

TEXT_MAX = 2000


class ImplementationStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class SuggestionStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class SuggestionAction(StrEnum):
    ANSWER = "answer"
    CLOSE = "close"


class MemberKind(StrEnum):
    """Who took part in a supervision round: the group's three kinds of member."""

    DEPUTY = "deputy"
    COUNCIL_MEMBER = "council_member"
    RESIDENT = "resident"


_TRANSITIONS = {
    (SuggestionStatus.OPEN, SuggestionAction.ANSWER): SuggestionStatus.ANSWERED,
    (SuggestionStatus.ANSWERED, SuggestionAction.CLOSE): SuggestionStatus.CLOSED,
}


def next_suggestion_status(current: SuggestionStatus, action: SuggestionAction) -> SuggestionStatus:
    """The status ``action`` leads to; only forward steps exist (open → answered → closed)."""
    try:
        return _TRANSITIONS[(current, action)]
    except KeyError:
        raise Conflict(f"suggestion_{current.value}", action=action.value) from None


def is_overdue(status: SuggestionStatus, deadline: date, today: date) -> bool:
    """An open suggestion whose deadline has passed (the deadline day itself is on time)."""
    return status is SuggestionStatus.OPEN and today > deadline


@dataclass(frozen=True)
class ProgressInput:
    """What an official reports on a project's progress."""

    status: ImplementationStatus
    progress_percent: int
    budget_spent_yuan: int
    actual_completion: date | None
    note: str


def check_progress(data: ProgressInput, *, started_on: date | None, today: date) -> None:
    """Refuse a progress report that contradicts itself."""
    if not 0 <= data.progress_percent <= 100:
        raise InvalidInput("progress_range")
    if data.budget_spent_yuan < 0:
        raise InvalidInput("budget_spent_negative")
    if len(data.note) > TEXT_MAX:
        raise InvalidInput("text_too_long", maximum=TEXT_MAX)
    completed = data.status is ImplementationStatus.COMPLETED
    if completed and data.progress_percent != 100:
        raise InvalidInput("completed_needs_full_progress")
    if completed != (data.actual_completion is not None):
        raise InvalidInput("completion_date_iff_completed")
    if data.actual_completion is not None:
        if data.actual_completion > today:
            raise InvalidInput("date_in_future")
        if started_on is not None and data.actual_completion < started_on:
            raise InvalidInput("completion_before_start")
    if data.status is ImplementationStatus.PLANNED and data.progress_percent != 0:
        raise InvalidInput("planned_has_no_progress")


def check_past_date(day: date, today: date) -> None:
    """Things that happened (a supervision round, a milestone reached) are not in the future."""
    if day > today:
        raise InvalidInput("date_in_future")


@dataclass(frozen=True)
class SpotCheckInput:
    item: str
    passed: bool
    note: str


@dataclass(frozen=True)
class SuggestionInput:
    text: str
    deadline: date


@dataclass(frozen=True)
class VisitInput:
    """One supervision round as the group records it on site."""

    held_on: date
    site: str
    findings: str
    participants: tuple[tuple[str, MemberKind], ...]
    spot_checks: tuple[SpotCheckInput, ...]
    suggestions: tuple[SuggestionInput, ...]


NAME_MAX = 40
SITE_MAX = 120
ITEM_MAX = 80
NOTE_MAX = 200


def check_visit(data: VisitInput, today: date) -> None:
    """A supervision round needs a date, a site, findings and at least one participant."""
    check_past_date(data.held_on, today)
    if not data.site.strip() or len(data.site) > SITE_MAX:
        raise InvalidInput("visit_site", maximum=SITE_MAX)
    if not data.findings.strip():
        raise InvalidInput("visit_findings_required")
    if len(data.findings) > TEXT_MAX:
        raise InvalidInput("text_too_long", maximum=TEXT_MAX)
    if not data.participants:
        raise InvalidInput("visit_participants_required")
    if any(not name.strip() or len(name) > NAME_MAX for name, _ in data.participants):
        raise InvalidInput("participant_name", maximum=NAME_MAX)
    for check in data.spot_checks:
        if not check.item.strip() or len(check.item) > ITEM_MAX or len(check.note) > NOTE_MAX:
            raise InvalidInput("spot_check_item", item=ITEM_MAX, note=NOTE_MAX)
    for suggestion in data.suggestions:
        check_suggestion(suggestion, data.held_on)


def check_suggestion(data: SuggestionInput, raised_on: date) -> None:
    if not data.text.strip():
        raise InvalidInput("suggestion_text_required")
    if len(data.text) > TEXT_MAX:
        raise InvalidInput("text_too_long", maximum=TEXT_MAX)
    if data.deadline < raised_on:
        raise InvalidInput("deadline_before_round")


def check_answer(text: str) -> str:
    """The unit's response, cleaned; it may not be empty."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("answer_required")
    if len(cleaned) > TEXT_MAX:
        raise InvalidInput("text_too_long", maximum=TEXT_MAX)
    return cleaned


@dataclass(frozen=True)
class SuggestionCounts:
    """The dashboard's figures, as in "16 rounds, 45 suggestions"."""

    rounds: int = 0
    suggestions: int = 0
    answered: int = 0
    closed: int = 0
    overdue: int = 0

    def __add__(self, other: SuggestionCounts) -> SuggestionCounts:
        return SuggestionCounts(
            self.rounds + other.rounds,
            self.suggestions + other.suggestions,
            self.answered + other.answered,
            self.closed + other.closed,
            self.overdue + other.overdue,
        )


def count_suggestions(
    rounds: int, suggestions: Iterable[tuple[SuggestionStatus, date]], today: date
) -> SuggestionCounts:
    """Count suggestions: "answered" includes closed ones (a closed one was answered first)."""
    total = answered = closed = overdue = 0
    for status, deadline in suggestions:
        total += 1
        answered += status is not SuggestionStatus.OPEN
        closed += status is SuggestionStatus.CLOSED
        overdue += is_overdue(status, deadline, today)
    return SuggestionCounts(rounds, total, answered, closed, overdue)
