"""The residents' council meeting that decides after the public vote (居民议事会议票选).

* Quorum: more than two thirds of the members present (no proxies), by default.
* Each member votes for at most ``seats`` candidates, so no candidate gets more votes than
  members present and all votes together are at most ``present × seats``.
* The council picks exactly ``seats`` winners.
* Wherever the council's winners depart from the public outcome — a winner the public vote
  did not select, or a publicly selected candidate the council leaves out — a written
  reason is required for that candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from .errors import InvalidInput

DEFAULT_QUORUM = Fraction(2, 3)


@dataclass(frozen=True)
class CouncilRecord:
    """What the clerk records of the meeting."""

    members_expected: int
    members_present: int
    votes: Mapping[int, int]
    selected: frozenset[int]
    reasons: Mapping[int, str] = field(default_factory=dict)


def has_quorum(expected: int, present: int, quorum: Fraction = DEFAULT_QUORUM) -> bool:
    """True when strictly more than ``quorum`` of the members are present."""
    return expected > 0 and Fraction(present, expected) > quorum


def departures(selected: frozenset[int], public_selected: frozenset[int]) -> frozenset[int]:
    """Candidates where the council's choice differs from the public outcome."""
    return selected ^ public_selected


def _vote_problems(
    record: CouncilRecord, seats: int, candidate_ids: frozenset[int]
) -> list[tuple[str, int | None]]:
    problems: list[tuple[str, int | None]] = []
    for cid, votes in sorted(record.votes.items()):
        if cid not in candidate_ids:
            problems.append(("unknown_candidate", cid))
        elif not 0 <= votes <= record.members_present:
            problems.append(("votes_range", cid))
    if sum(record.votes.values()) > record.members_present * seats:
        problems.append(("votes_total", None))
    return problems


def record_problems(
    record: CouncilRecord,
    *,
    seats: int,
    candidate_ids: frozenset[int],
    public_selected: frozenset[int],
    quorum: Fraction = DEFAULT_QUORUM,
) -> list[tuple[str, int | None]]:
    """Every problem with the record as (code, candidate id or None); empty if valid."""
    problems: list[tuple[str, int | None]] = []
    expected, present = record.members_expected, record.members_present
    if present > expected or present < 0:
        problems.append(("present_range", None))
    elif not has_quorum(expected, present, quorum):
        problems.append(("no_quorum", None))
    problems += _vote_problems(record, seats, candidate_ids)
    if not record.selected <= candidate_ids:
        problems.append(("unknown_candidate", None))
    if len(record.selected) != seats:
        problems.append(("seat_count", None))
    for cid in sorted(departures(record.selected, public_selected)):
        if not record.reasons.get(cid, "").strip():
            problems.append(("reason_required", cid))
    return problems


def ensure_valid_record(record: CouncilRecord, **kwargs: object) -> None:
    """Raise InvalidInput with every problem, or return if the record may be finalized."""
    problems = record_problems(record, **kwargs)  # type: ignore[arg-type]
    if problems:
        raise InvalidInput("council_record", problems=problems)
