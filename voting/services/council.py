"""The residents' council's record and the two-person finalization of a round.

The clerk or an official of the round's street records the meeting; one of them requests
finalization; a different one approves it, which locks the round and publishes the 公示
(``CouncilNotice``) with its objection period. Changing the record cancels a pending request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from flask import current_app

from ..domain import council as council_rules
from ..domain import lifecycle
from ..domain import notice_period as period_rules
from ..domain import staff as staff_rules
from ..domain.council import Ballots, CouncilRecord, Problems, WinnerDetails
from ..domain.errors import Conflict, InvalidInput, NotPermitted
from ..domain.lifecycle import Action, RoundStatus
from ..domain.staff import Role
from ..extensions import db
from ..models import CouncilMeeting, CouncilNotice, StaffUser, VotingRound
from . import audit
from ._tx import begin_write, commit, utcnow
from .rounds import load_round

COUNCIL_ROLES = (Role.CLERK, Role.OFFICIAL)


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
    tellers: str = ""
    ballots: Ballots | None = None
    procedure: str = ""
    details: dict[int, WinnerDetails] = field(default_factory=dict)


def _council_round(actor: StaffUser, round_id: int, *, lock: bool = False) -> VotingRound:
    """The closed round of the actor's street; clerks and officials only."""
    staff_rules.ensure_role(actor.role_enum, *COUNCIL_ROLES)
    rnd = load_round(round_id, lock=lock)
    if rnd.street_id != actor.street_id:
        raise NotPermitted("other_street")
    if rnd.status_enum is RoundStatus.FINALIZED:
        raise Conflict("round_finalized")
    if rnd.status_enum is not RoundStatus.CLOSED:
        raise Conflict("round_not_closed")
    return rnd


def street_quorum(rnd: VotingRound) -> Fraction:
    """The quorum the round's street set (strictly more than this share must be present)."""
    return council_rules.quorum_of(rnd.street.quorum_num, rnd.street.quorum_den)


def record_of(rnd: VotingRound) -> CouncilRecord | None:
    """The council record in domain form, if one was saved."""
    meeting = rnd.council
    if meeting is None:
        return None
    ballots = None
    if meeting.ballots_issued is not None:
        ballots = Ballots(
            meeting.ballots_issued, meeting.ballots_returned or 0, meeting.ballots_valid or 0
        )
    return CouncilRecord(
        members_expected=meeting.members_expected,
        members_present=meeting.members_present,
        votes={e.candidate_id: e.council_votes or 0 for e in rnd.entries},
        selected=frozenset(e.candidate_id for e in rnd.entries if e.council_selected),
        reasons={e.candidate_id: e.council_reason for e in rnd.entries},
        ballots=ballots,
        tellers=meeting.tellers,
        procedure=meeting.procedure,
        held_on=meeting.held_on,
        details={
            e.candidate_id: WinnerDetails(e.target, e.responsible_unit, e.planned_completion)
            for e in rnd.entries
        },
    )


def record_problems(rnd: VotingRound) -> Problems:
    """What still stops finalization ([] when the record is complete and valid)."""
    record = record_of(rnd)
    if record is None:
        return [("no_record", None)]
    return council_rules.record_problems(
        record,
        seats=rnd.seats,
        candidate_ids=frozenset(e.candidate_id for e in rnd.entries),
        public_selected=frozenset(e.candidate_id for e in rnd.entries if e.rule_selected),
        quorum=street_quorum(rnd),
    )


def _input_problems(data: CouncilInput) -> Problems:
    """Shape errors the database would refuse: refused before anything is written."""
    problems: Problems = []
    if not 0 <= data.members_present <= data.members_expected:
        problems.append(("present_range", None))
    if data.ballots is not None:
        problems += council_rules.ballot_problems(data.ballots, data.members_present)
    return problems


def _write_meeting(meeting: CouncilMeeting, data: CouncilInput) -> None:
    meeting.held_on, meeting.place = data.held_on, data.place.strip()
    meeting.members_expected, meeting.members_present = data.members_expected, data.members_present
    meeting.resolution = data.resolution.strip()
    meeting.tellers, meeting.procedure = data.tellers.strip(), data.procedure.strip()
    ballots = data.ballots
    meeting.ballots_issued = ballots.issued if ballots else None
    meeting.ballots_returned = ballots.returned if ballots else None
    meeting.ballots_valid = ballots.valid if ballots else None


def _write_entries(rnd: VotingRound, data: CouncilInput) -> None:
    for entry in rnd.entries:
        cid = entry.candidate_id
        entry.council_votes = data.votes.get(cid)
        entry.council_selected = cid in data.selected
        entry.council_reason = data.reasons.get(cid, "").strip()
        details = data.details.get(cid, WinnerDetails())
        entry.target = details.target.strip()
        entry.responsible_unit = details.responsible_unit.strip()
        entry.planned_completion = details.planned_completion


def save_record(
    actor: StaffUser, round_id: int, data: CouncilInput, *, now: datetime | None = None
) -> Problems:
    """Save the meeting record (it may still be incomplete); return what blocks finalizing.

    Any change cancels a pending finalization request: the approver must see what they sign.
    """
    now = now or utcnow()
    if problems := _input_problems(data):
        raise InvalidInput("council_record", problems=problems)
    begin_write()
    rnd = _council_round(actor, round_id, lock=True)
    meeting = rnd.council or CouncilMeeting(round_id=round_id)
    cancelled = meeting.requested_by_id is not None
    _write_meeting(meeting, data)
    meeting.recorded_by_id, meeting.recorded_at = actor.id, now
    meeting.requested_by_id = meeting.requested_at = None
    db.session.add(meeting)
    _write_entries(rnd, data)
    db.session.flush()
    db.session.refresh(rnd)
    payload = {
        "present": data.members_present,
        "expected": data.members_expected,
        "ballots": [meeting.ballots_issued, meeting.ballots_returned, meeting.ballots_valid],
        "votes": {str(k): v for k, v in sorted(data.votes.items())},
        "selected": sorted(data.selected),
        "request_cancelled": cancelled,
    }
    audit.record(actor, "council.recorded", ("round", round_id), payload, now=now)
    problems = record_problems(rnd)
    commit()
    return problems


def request_finalization(actor: StaffUser, round_id: int, *, now: datetime | None = None) -> None:
    """Ask a second staff member to approve the complete record."""
    now = now or utcnow()
    begin_write()
    rnd = _council_round(actor, round_id, lock=True)
    problems = record_problems(rnd)
    if problems or rnd.council is None:
        raise InvalidInput("council_record", problems=problems)
    if rnd.council.requested_by_id is not None:
        raise Conflict("finalization_pending")
    rnd.council.requested_by_id, rnd.council.requested_at = actor.id, now
    audit.record(actor, "council.finalization_requested", ("round", round_id), {}, now=now)
    commit()


def withdraw_request(actor: StaffUser, round_id: int, *, now: datetime | None = None) -> None:
    """Withdraw a pending request (the requester, or whoever was asked to approve)."""
    now = now or utcnow()
    begin_write()
    rnd = _council_round(actor, round_id, lock=True)
    meeting = rnd.council
    if meeting is None or meeting.requested_by_id is None:
        raise Conflict("finalization_not_pending")
    requested_by = meeting.requested_by_id
    meeting.requested_by_id = meeting.requested_at = None
    payload = {"requested_by": requested_by}
    audit.record(actor, "council.finalization_withdrawn", ("round", round_id), payload, now=now)
    commit()


def approve(actor: StaffUser, round_id: int, *, now: datetime | None = None) -> None:
    """The second person approves: the decision locks and the 公示 is published."""
    now = now or utcnow()
    begin_write()
    rnd = _council_round(actor, round_id, lock=True)
    meeting = rnd.council
    if meeting is None or meeting.requested_by_id is None:
        raise Conflict("finalization_not_pending")
    council_rules.ensure_second_person(actor.id, meeting.requested_by_id, meeting.recorded_by_id)
    status = lifecycle.next_status(rnd.status_enum, Action.FINALIZE)
    if problems := record_problems(rnd):
        raise InvalidInput("council_record", problems=problems)
    meeting.finalized_by_id, meeting.approved_at = actor.id, now
    rnd.status, rnd.finalized_at = status.value, now
    days = rnd.street.objection_days
    close_at = period_rules.objections_close_at(now, days, _zone())
    winners = sorted(e.candidate_id for e in rnd.entries if e.council_selected)
    payload = {
        "winners": winners,
        "requested_by": meeting.requested_by_id,
        "objections_close_at": close_at.isoformat(),
    }
    event = audit.record(actor, "round.finalized", ("round", round_id), payload, now=now)
    notice = CouncilNotice(
        round_id=round_id,
        published_at=now,
        objection_days=days,
        objections_close_at=close_at,
        head_hash=event.hash,
    )
    db.session.add(notice)
    commit()


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
