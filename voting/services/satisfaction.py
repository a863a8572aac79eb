"""The council's satisfaction vote (满意度测评) on a round's completed projects.

The clerk (or an official) of the round's street enters, per completed project, how many
members present rated it 满意 / 基本满意 / 不满意; the grade follows the street's rule,
which is copied into the meeting so a later change of rule never regrades it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select

from ..domain import satisfaction as rules
from ..domain.errors import InvalidInput
from ..domain.satisfaction import GradeRule, Rating
from ..domain.staff import Role
from ..domain.supervision import ImplementationStatus
from ..extensions import db
from ..models import (
    Implementation,
    SatisfactionMeeting,
    SatisfactionRating,
    SatisfactionRule,
    StaffUser,
    Street,
)
from . import audit
from ._tx import begin_write, commit, utcnow
from .implementation import authorize, ensure_implementable, local_today
from .rounds import load_round

PLACE_MAX = 120


def street_rule(street_id: int) -> GradeRule:
    """The street's grading rule, or the usual one."""
    text = db.session.scalar(
        select(SatisfactionRule.rule_json).where(SatisfactionRule.street_id == street_id)
    )
    return rules.rule_from_json(text) if text else rules.DEFAULT_RULE


def street_id_named(name: str) -> int:
    """The id of the street with this name (InvalidInput if none)."""
    street_id = db.session.scalar(select(Street.id).where(Street.name == name))
    if street_id is None:
        raise InvalidInput("unknown_street", name=name)
    return int(street_id)


def set_street_rule(street_name: str, rule_json: str, *, actor: str = "cli") -> GradeRule:
    """Set a street's grading rule from JSON (checked first); future meetings use it."""
    rule = rules.rule_from_json(rule_json)
    now = utcnow()
    begin_write()
    street_id = street_id_named(street_name)
    canonical = rules.rule_to_json(rule)
    row = db.session.get(SatisfactionRule, street_id) or SatisfactionRule(street_id=street_id)
    row.rule_json, row.updated_by, row.updated_at = canonical, actor, now
    db.session.add(row)
    audit.record(
        actor, "satisfaction.rule_set", ("street", street_id), {"rule": canonical}, now=now
    )
    commit()
    return rule


def completed_records(round_id: int) -> list[Implementation]:
    """The round's completed projects, in ballot order: only these can be rated."""
    rnd = load_round(round_id)
    order = {e.candidate_id: e.position for e in rnd.entries}
    records = db.session.scalars(
        select(Implementation).where(
            Implementation.round_id == round_id,
            Implementation.status == ImplementationStatus.COMPLETED.value,
        )
    ).all()
    return sorted(records, key=lambda r: order[r.candidate_id])


@dataclass(frozen=True)
class MeetingInput:
    held_on: date
    place: str
    members_present: int
    counts: Mapping[int, Mapping[Rating, int]]  # implementation id → counts


def record_meeting(
    actor: StaffUser, round_id: int, data: MeetingInput, *, now: datetime | None = None
) -> None:
    """Save the meeting and grade each project by the street's rule (re-saving replaces it)."""
    now = now or utcnow()
    if data.held_on > local_today(now):
        raise InvalidInput("date_in_future")
    if len(data.place) > PLACE_MAX:
        raise InvalidInput("place_too_long", maximum=PLACE_MAX)
    begin_write()
    rnd = load_round(round_id, lock=True)
    ensure_implementable(rnd, now)
    authorize(actor, rnd.street_id, Role.CLERK, Role.OFFICIAL)
    completed = {r.id for r in completed_records(round_id)}
    if not data.counts:
        raise InvalidInput("satisfaction_nothing_rated")
    if not set(data.counts) <= completed:
        raise InvalidInput("satisfaction_not_completed")
    meeting = db.session.get(SatisfactionMeeting, round_id)
    rule = rules.rule_from_json(meeting.rule_json) if meeting else street_rule(rnd.street_id)
    grades = {i: rules.grade(c, data.members_present, rule) for i, c in data.counts.items()}
    db.session.execute(delete(SatisfactionRating).where(SatisfactionRating.round_id == round_id))
    if meeting is None:
        meeting = SatisfactionMeeting(round_id=round_id, rule_json=rules.rule_to_json(rule))
        db.session.add(meeting)
    meeting.held_on, meeting.place = data.held_on, data.place.strip()
    meeting.members_present = data.members_present
    meeting.recorded_by_id, meeting.recorded_at = actor.id, now
    db.session.flush()
    for implementation_id, c in sorted(data.counts.items()):
        db.session.add(
            SatisfactionRating(
                round_id=round_id,
                implementation_id=implementation_id,
                members_present=data.members_present,
                satisfied=c.get(Rating.SATISFIED, 0),
                basic=c.get(Rating.BASIC, 0),
                dissatisfied=c.get(Rating.DISSATISFIED, 0),
                grade=grades[implementation_id].value,
            )
        )
    db.session.flush()
    audit.record(
        actor,
        "satisfaction.recorded",
        ("round", round_id),
        {
            "held_on": data.held_on.isoformat(),
            "present": data.members_present,
            "ratings": {
                str(i): [*(data.counts[i].get(r, 0) for r in Rating), grades[i].value]
                for i in sorted(data.counts)
            },
        },
        now=now,
    )
    commit()


def meeting_of(round_id: int) -> SatisfactionMeeting | None:
    return db.session.get(SatisfactionMeeting, round_id)


def rating_of(round_id: int, implementation_id: int) -> SatisfactionRating | None:
    return db.session.get(SatisfactionRating, (round_id, implementation_id))
