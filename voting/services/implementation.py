"""Implementation of the council's selected projects: the record, milestones, progress, photos.

Officials of the round's street keep the record (they enter what the responsible unit
reports); the street's supervisors add photos to their supervision rounds. Every change is
one unit of work with its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import IO
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from ..domain import staff as staff_rules
from ..domain import supervision as rules
from ..domain.errors import Conflict, InvalidInput, NotPermitted, VotingError
from ..domain.lifecycle import RoundStatus
from ..domain.staff import Role
from ..domain.supervision import ProgressInput
from ..extensions import db
from ..models import (
    Implementation,
    Milestone,
    ProgressUpdate,
    ProjectPhoto,
    RoundCandidate,
    StaffUser,
    SupervisionVisit,
    VotingRound,
)
from . import audit, notice_period, photos
from ._tx import begin_write, commit, utcnow

PHOTOS_PER_PROJECT = 60
UNIT_MAX = 80
LEADER_MAX = 40
MILESTONE_MAX = 80


def local_today(now: datetime) -> date:
    """Today's date in the street's time zone (deadlines are local calendar days)."""
    return now.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).date()


def ensure_implementable(rnd: VotingRound, now: datetime | None = None) -> None:
    """The one gate on implementation: the council's decision is final and the 公示's
    objection period is over (``notice_period.implementation_open``)."""
    if not notice_period.implementation_open(rnd, now):
        raise Conflict("round_not_implementable")


def authorize(actor: StaffUser, street_id: int, *roles: Role) -> None:
    """The actor holds one of ``roles`` and belongs to the street (else NotPermitted)."""
    staff_rules.ensure_role(actor.role_enum, *roles)
    if actor.street_id != street_id:
        raise NotPermitted("other_street")


def selected_entry(round_id: int, candidate_id: int) -> RoundCandidate:
    """A project the council selected in a finalized round (404 otherwise)."""
    entry = db.session.get(RoundCandidate, (round_id, candidate_id))
    if entry is None or not entry.council_selected:
        raise NotFound()
    ensure_implementable(entry.round)
    return entry


def load(implementation_id: int, *, lock: bool = False) -> Implementation:
    """The record with its milestones, visits (and theirs) and photos (404 if missing)."""
    query = (
        select(Implementation)
        .where(Implementation.id == implementation_id)
        .options(
            selectinload(Implementation.milestones),
            selectinload(Implementation.photos),
            selectinload(Implementation.visits).selectinload(SupervisionVisit.participants),
            selectinload(Implementation.visits).selectinload(SupervisionVisit.spot_checks),
            selectinload(Implementation.visits).selectinload(SupervisionVisit.suggestions),
        )
    )
    if lock:
        query = query.with_for_update(of=Implementation)
    record = db.session.scalars(query).first()
    if record is None:
        raise NotFound()
    return record


def records_of_round(round_id: int) -> dict[int, int]:
    """Candidate id → implementation record id, for the round's projects that have one."""
    rows = db.session.execute(
        select(Implementation.candidate_id, Implementation.id).where(
            Implementation.round_id == round_id
        )
    )
    return {candidate_id: record_id for candidate_id, record_id in rows}


def street_of(record: Implementation) -> int:
    return record.entry.round.street_id


@dataclass(frozen=True)
class ProjectRow:
    entry: RoundCandidate
    record: Implementation | None


def street_projects(street_id: int) -> list[ProjectRow]:
    """Every project selected in the street's finalized rounds, newest round first."""
    entries = db.session.scalars(
        select(RoundCandidate)
        .join(VotingRound, VotingRound.id == RoundCandidate.round_id)
        .where(
            VotingRound.street_id == street_id,
            VotingRound.status == RoundStatus.FINALIZED.value,
            RoundCandidate.council_selected.is_(True),
        )
        .order_by(VotingRound.id.desc(), RoundCandidate.position)
    ).all()
    records = {
        (r.round_id, r.candidate_id): r
        for r in db.session.scalars(
            select(Implementation).where(Implementation.round_id.in_({e.round_id for e in entries}))
        )
    }
    return [ProjectRow(e, records.get((e.round_id, e.candidate_id))) for e in entries]


@dataclass(frozen=True)
class SetupInput:
    responsible_unit: str
    unit_leader: str
    planned_start: date | None
    planned_completion: date | None


def _check_setup(data: SetupInput) -> None:
    if not data.responsible_unit.strip() or len(data.responsible_unit) > UNIT_MAX:
        raise InvalidInput("unit_required", maximum=UNIT_MAX)
    if len(data.unit_leader) > LEADER_MAX:
        raise InvalidInput("leader_too_long", maximum=LEADER_MAX)
    if (
        data.planned_start is not None
        and data.planned_completion is not None
        and data.planned_completion < data.planned_start
    ):
        raise InvalidInput("planned_order")


def save_setup(
    actor: StaffUser,
    round_id: int,
    candidate_id: int,
    data: SetupInput,
    *,
    now: datetime | None = None,
) -> int:
    """An official opens (or corrects) a selected project's record; returns its id."""
    now = now or utcnow()
    _check_setup(data)
    begin_write()
    entry = selected_entry(round_id, candidate_id)
    authorize(actor, entry.round.street_id, Role.OFFICIAL)
    record = db.session.scalar(
        select(Implementation)
        .where(Implementation.round_id == round_id, Implementation.candidate_id == candidate_id)
        .with_for_update()
    )
    if record is None:
        record = Implementation(round_id=round_id, candidate_id=candidate_id)
        record.created_by_id, record.created_at = actor.id, now
        db.session.add(record)
    record.responsible_unit = data.responsible_unit.strip()
    record.unit_leader = data.unit_leader.strip()
    record.planned_start, record.planned_completion = data.planned_start, data.planned_completion
    record.updated_at = now
    db.session.flush()
    audit.record(
        actor,
        "implementation.saved",
        ("implementation", record.id),
        {
            "round_id": round_id,
            "candidate_id": candidate_id,
            "unit": record.responsible_unit,
            "planned_start": _iso(data.planned_start),
            "planned_completion": _iso(data.planned_completion),
        },
        now=now,
    )
    commit()
    return record.id


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _official_record(
    actor: StaffUser, implementation_id: int, now: datetime | None = None
) -> Implementation:
    record = load(implementation_id, lock=True)
    ensure_implementable(record.entry.round, now)
    authorize(actor, street_of(record), Role.OFFICIAL)
    return record


def report_progress(
    actor: StaffUser, implementation_id: int, data: ProgressInput, *, now: datetime | None = None
) -> None:
    """An official enters the unit's progress report: the record's figures and a history row."""
    now = now or utcnow()
    begin_write()
    record = _official_record(actor, implementation_id, now)
    rules.check_progress(data, started_on=record.planned_start, today=local_today(now))
    record.status = data.status.value
    record.progress_percent = data.progress_percent
    record.budget_spent_yuan = data.budget_spent_yuan
    record.actual_completion = data.actual_completion
    record.updated_at = now
    db.session.add(
        ProgressUpdate(
            implementation_id=record.id,
            status=data.status.value,
            progress_percent=data.progress_percent,
            budget_spent_yuan=data.budget_spent_yuan,
            note=data.note.strip(),
            entered_by_id=actor.id,
            entered_at=now,
        )
    )
    audit.record(
        actor,
        "implementation.progress",
        ("implementation", record.id),
        {
            "status": data.status.value,
            "progress": data.progress_percent,
            "spent_yuan": data.budget_spent_yuan,
            "completed_on": _iso(data.actual_completion),
        },
        now=now,
    )
    commit()


def add_milestone(
    actor: StaffUser,
    implementation_id: int,
    title: str,
    planned_on: date,
    *,
    now: datetime | None = None,
) -> None:
    """An official adds a milestone at the end of the plan."""
    now = now or utcnow()
    title = title.strip()
    if not title or len(title) > MILESTONE_MAX:
        raise InvalidInput("milestone_title", maximum=MILESTONE_MAX)
    begin_write()
    record = _official_record(actor, implementation_id, now)
    position = 1 + max((m.position for m in record.milestones), default=0)
    milestone = Milestone(
        implementation_id=record.id, position=position, title=title, planned_on=planned_on
    )
    db.session.add(milestone)
    db.session.flush()
    audit.record(
        actor,
        "milestone.added",
        ("milestone", milestone.id),
        {"implementation_id": record.id, "title": title, "planned_on": planned_on.isoformat()},
        now=now,
    )
    commit()


def milestone_reached(
    actor: StaffUser,
    implementation_id: int,
    milestone_id: int,
    done_on: date,
    *,
    now: datetime | None = None,
) -> None:
    """An official records the day a milestone was actually reached."""
    now = now or utcnow()
    rules.check_past_date(done_on, local_today(now))
    begin_write()
    record = _official_record(actor, implementation_id, now)
    milestone = next((m for m in record.milestones if m.id == milestone_id), None)
    if milestone is None:
        raise NotFound()
    milestone.done_on = done_on
    audit.record(
        actor,
        "milestone.reached",
        ("milestone", milestone.id),
        {"implementation_id": record.id, "done_on": done_on.isoformat()},
        now=now,
    )
    commit()


def add_photo(
    actor: StaffUser,
    implementation_id: int,
    stream: IO[bytes],
    alt_text: str,
    *,
    visit_id: int | None = None,
    now: datetime | None = None,
) -> ProjectPhoto:
    """A progress photo (an official) or a supervision round's photo (a supervisor)."""
    now = now or utcnow()
    processed, alt = photos.prepare(stream, alt_text)  # before the write lock: slow
    begin_write()
    record = load(implementation_id, lock=True)
    ensure_implementable(record.entry.round, now)
    role = Role.OFFICIAL if visit_id is None else Role.SUPERVISOR
    authorize(actor, street_of(record), role)
    if visit_id is not None and visit_id not in {v.id for v in record.visits}:
        raise NotFound()
    if len(record.photos) >= PHOTOS_PER_PROJECT:
        raise InvalidInput("photo_limit", maximum=PHOTOS_PER_PROJECT)
    if any(p.sha256 == processed.large.sha256 for p in record.photos):
        raise InvalidInput("photo_duplicate")
    created = photos.write_files(processed)
    try:
        photo = _insert_photo(actor, record, visit_id, processed, alt, now)
        commit()
    except VotingError:
        db.session.rollback()
        photos.discard_unreferenced(created)
        raise
    return photo


def _insert_photo(
    actor: StaffUser,
    record: Implementation,
    visit_id: int | None,
    processed: photos.Processed,
    alt: str,
    now: datetime,
) -> ProjectPhoto:
    top = db.session.scalar(
        select(func.max(ProjectPhoto.position)).where(ProjectPhoto.implementation_id == record.id)
    )
    photo = ProjectPhoto(
        implementation_id=record.id,
        visit_id=visit_id,
        position=(top or 0) + 1,
        **photos.image_values(processed, alt),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(photo)
    try:
        db.session.flush()
    except IntegrityError as exc:  # two uploads took the same position at once
        raise Conflict("concurrent_change") from exc
    audit.record(
        actor,
        "project_photo.added",
        ("project_photo", photo.id),
        {
            "implementation_id": record.id,
            "visit_id": visit_id,
            "sha256": photo.sha256,
            "alt_text": alt,
        },
        now=now,
    )
    return photo


def for_staff(actor: StaffUser, implementation_id: int) -> Implementation:
    """The record for the staff page: supervisors, officials and the clerk of its street."""
    record = load(implementation_id)
    authorize(actor, street_of(record), Role.SUPERVISOR, Role.OFFICIAL, Role.CLERK)
    return record
