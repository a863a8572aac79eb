"""The residents' council's record and the finalization of a round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..domain import council as council_rules
from ..domain import lifecycle
from ..domain import staff as staff_rules
from ..domain.council import CouncilRecord
from ..domain.errors import Conflict, InvalidInput, NotPermitted
from ..domain.lifecycle import Action, RoundStatus
from ..domain.staff import Role
from ..extensions import db
from ..models import CouncilMeeting, StaffUser, VotingRound
from . import audit
from ._tx import begin_write, commit, utcnow
from .rounds import load_round


@dataclass(frozen=True)
class CouncilInput:
    held_on: date
    place: str
    members_expected: int
    members_present: int
    resolution: str
    votes: dict[int, int]
    selected: frozenset[int]
    reasons: dict[int, str]


def _clerk_round(actor: StaffUser, round_id: int, *, lock: bool = False) -> VotingRound:
    staff_rules.ensure_role(actor.role_enum, Role.CLERK)
    rnd = load_round(round_id, lock=lock)
    if rnd.street_id != actor.street_id:
        raise NotPermitted("other_street")
    if rnd.status_enum is RoundStatus.FINALIZED:
        raise Conflict("round_finalized")
    if rnd.status_enum is not RoundStatus.CLOSED:
        raise Conflict("round_not_closed")
    return rnd


def record_of(rnd: VotingRound) -> CouncilRecord | None:
    """The council record in domain form, if one was saved."""
    if rnd.council is None:
        return None
    return CouncilRecord(
        members_expected=rnd.council.members_expected,
        members_present=rnd.council.members_present,
        votes={e.candidate_id: e.council_votes or 0 for e in rnd.entries},
        selected=frozenset(e.candidate_id for e in rnd.entries if e.council_selected),
        reasons={e.candidate_id: e.council_reason for e in rnd.entries},
    )


def record_problems(rnd: VotingRound) -> list[tuple[str, int | None]]:
    """What still stops finalization ([] when the record is complete and valid)."""
    record = record_of(rnd)
    if record is None:
        return [("no_record", None)]
    return council_rules.record_problems(
        record,
        seats=rnd.seats,
        candidate_ids=frozenset(e.candidate_id for e in rnd.entries),
        public_selected=frozenset(e.candidate_id for e in rnd.entries if e.rule_selected),
    )


def save_record(
    actor: StaffUser, round_id: int, data: CouncilInput, *, now: datetime | None = None
) -> list[tuple[str, int | None]]:
    """Save the meeting record (it may still be incomplete); return what blocks finalizing."""
    now = now or utcnow()
    begin_write()
    rnd = _clerk_round(actor, round_id, lock=True)
    meeting = rnd.council or CouncilMeeting(round_id=round_id)
    meeting.held_on, meeting.place = data.held_on, data.place.strip()
    meeting.members_expected, meeting.members_present = data.members_expected, data.members_present
    meeting.resolution = data.resolution.strip()
    meeting.recorded_by_id, meeting.recorded_at = actor.id, now
    db.session.add(meeting)
    for entry in rnd.entries:
        entry.council_votes = data.votes.get(entry.candidate_id)
        entry.council_selected = entry.candidate_id in data.selected
        entry.council_reason = data.reasons.get(entry.candidate_id, "").strip()
    db.session.flush()
    db.session.refresh(rnd)
    audit.record(
        actor,
        "council.recorded",
        ("round", round_id),
        {
            "present": data.members_present,
            "expected": data.members_expected,
            "votes": {str(k): v for k, v in sorted(data.votes.items())},
            "selected": sorted(data.selected),
        },
        now=now,
    )
    problems = record_problems(rnd)
    commit()
    return problems


def finalize(actor: StaffUser, round_id: int, *, now: datetime | None = None) -> None:
    """Lock the council's decision; nothing about the round changes afterwards."""
    now = now or utcnow()
    begin_write()
    rnd = _clerk_round(actor, round_id, lock=True)
    status = lifecycle.next_status(rnd.status_enum, Action.FINALIZE)
    problems = record_problems(rnd)
    if problems or rnd.council is None:
        raise InvalidInput("council_record", problems=problems)
    rnd.council.finalized_by_id = actor.id
    rnd.status, rnd.finalized_at = status.value, now
    winners = sorted(e.candidate_id for e in rnd.entries if e.council_selected)
    audit.record(actor, "round.finalized", ("round", round_id), {"winners": winners}, now=now)
    commit()
