"""The residents' council meeting that decides after the public vote (居民议事会议票选).

* Quorum: strictly more than a fraction of the members present (no proxies); two thirds
  unless the street says otherwise.
* Ballots: valid ≤ returned ≤ issued ≤ members present, all three recorded.
* Each valid ballot names at most ``seats`` candidates, so no candidate gets more votes than
  valid ballots and all votes together are at most ``valid × seats``.
* More candidates than seats (差额), and the council picks exactly ``seats`` winners.
* Wherever the council's winners depart from the public outcome — a winner the public vote
  did not select, or a publicly selected candidate the council leaves out — a written
  reason is required for that candidate.
* Every winner carries its target, responsible unit and planned completion date.
* Finalizing takes two people: one requests, another approves; the approver neither
  requested nor last recorded the meeting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from .errors import InvalidInput, NotPermitted

DEFAULT_QUORUM = Fraction(2, 3)

Problems = list[tuple[str, int | None]]


@dataclass(frozen=True)
class Ballots:
    """The meeting's paper ballots: handed out, handed back, and valid among those."""

    issued: int
    returned: int
    valid: int


@dataclass(frozen=True)
class WinnerDetails:
    """What a selected project commits to in the 公示."""

    target: str = ""
    responsible_unit: str = ""
    planned_completion: date | None = None


@dataclass(frozen=True)
class CouncilRecord:
    """What the clerk records of the meeting."""

    members_expected: int
    members_present: int
    votes: Mapping[int, int]
    selected: frozenset[int]
    reasons: Mapping[int, str] = field(default_factory=dict)
    ballots: Ballots | None = None
    tellers: str = ""
    procedure: str = ""
    held_on: date | None = None
    details: Mapping[int, WinnerDetails] = field(default_factory=dict)


def quorum_of(numerator: int, denominator: int) -> Fraction:
    """The street's quorum as a fraction in [0, 1); InvalidInput if it is not one."""
    if denominator < 1 or not 0 <= numerator < denominator:
        raise InvalidInput("quorum_range")
    return Fraction(numerator, denominator)


def has_quorum(expected: int, present: int, quorum: Fraction = DEFAULT_QUORUM) -> bool:
    """True when strictly more than ``quorum`` of the members are present."""
    return expected > 0 and Fraction(present, expected) > quorum


def departures(selected: frozenset[int], public_selected: frozenset[int]) -> frozenset[int]:
    """Candidates where the council's choice differs from the public outcome."""
    return selected ^ public_selected


def ballot_problems(ballots: Ballots | None, present: int) -> Problems:
    """valid ≤ returned ≤ issued ≤ present, none negative; all three must be recorded."""
    if ballots is None:
        return [("ballots_missing", None)]
    if ballots.valid < 0 or ballots.issued > present:
        return [("ballots_issued_range", None)]
    if not ballots.valid <= ballots.returned <= ballots.issued:
        return [("ballots_order", None)]
    return []


def _vote_problems(record: CouncilRecord, seats: int, candidate_ids: frozenset[int]) -> Problems:
    problems: Problems = []
    # No candidate gets more votes than there are valid ballots (or members, before those).
    ceiling = record.ballots.valid if record.ballots else record.members_present
    for cid, votes in sorted(record.votes.items()):
        if cid not in candidate_ids:
            problems.append(("unknown_candidate", cid))
        elif not 0 <= votes <= ceiling:
            problems.append(("votes_range", cid))
    if sum(record.votes.values()) > ceiling * seats:
        problems.append(("votes_total", None))
    return problems


def detail_problems(
    selected: frozenset[int], details: Mapping[int, WinnerDetails], held_on: date | None
) -> Problems:
    """Every winner needs a target, a responsible unit and a completion date after the meeting."""
    problems: Problems = []
    for cid in sorted(selected):
        item = details.get(cid, WinnerDetails())
        if not item.target.strip():
            problems.append(("target_missing", cid))
        if not item.responsible_unit.strip():
            problems.append(("unit_missing", cid))
        if item.planned_completion is None:
            problems.append(("completion_missing", cid))
        elif held_on is not None and item.planned_completion <= held_on:
            problems.append(("completion_before_meeting", cid))
    return problems


def _meeting_problems(record: CouncilRecord, quorum: Fraction) -> Problems:
    problems: Problems = []
    expected, present = record.members_expected, record.members_present
    if present > expected or present < 0:
        problems.append(("present_range", None))
    elif not has_quorum(expected, present, quorum):
        problems.append(("no_quorum", None))
    problems += ballot_problems(record.ballots, present)
    if not record.tellers.strip():
        problems.append(("tellers_missing", None))
    if not record.procedure.strip():
        problems.append(("procedure_missing", None))
    return problems


def record_problems(
    record: CouncilRecord,
    *,
    seats: int,
    candidate_ids: frozenset[int],
    public_selected: frozenset[int],
    quorum: Fraction = DEFAULT_QUORUM,
) -> Problems:
    """Every problem with the record as (code, candidate id or None); empty if valid."""
    problems = _meeting_problems(record, quorum)
    if len(candidate_ids) <= seats:
        problems.append(("not_competitive", None))
    problems += _vote_problems(record, seats, candidate_ids)
    if not record.selected <= candidate_ids:
        problems.append(("unknown_candidate", None))
    if len(record.selected) != seats:
        problems.append(("seat_count", None))
    for cid in sorted(departures(record.selected, public_selected)):
        if not record.reasons.get(cid, "").strip():
            problems.append(("reason_required", cid))
    problems += detail_problems(record.selected & candidate_ids, record.details, record.held_on)
    return problems


def ensure_valid_record(record: CouncilRecord, **kwargs: object) -> None:
    """Raise InvalidInput with every problem, or return if the record may be finalized."""
    problems = record_problems(record, **kwargs)  # type: ignore[arg-type]
    if problems:
        raise InvalidInput("council_record", problems=problems)


def ensure_second_person(approver_id: int, requested_by_id: int, recorded_by_id: int) -> None:
    """Raise NotPermitted unless the approver neither requested nor last recorded the meeting."""
    if approver_id in (requested_by_id, recorded_by_id):
        raise NotPermitted("same_person")
