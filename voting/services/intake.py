"""Candidate intake: stations submit and edit, officials review."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..domain import staff as rules
from ..domain.errors import InvalidInput, NotPermitted
from ..domain.staff import CandidateStatus, IdeaSource, Role
from ..extensions import db
from ..models import Candidate, Community, StaffUser
from . import audit
from ._tx import begin_write, commit, utcnow


@dataclass(frozen=True)
class CandidateInput:
    """The fields a station fills in for a candidate project."""

    title: str
    summary: str
    description: str
    category: str
    community_id: int
    location: str
    target: str
    cost_yuan: int
    source: IdeaSource
    raised_by: int


def _check_community(actor: StaffUser, community_id: int) -> None:
    community = db.session.get(Community, community_id)
    if community is None or community.street_id != actor.street_id:
        raise InvalidInput("community_not_in_street")


def _apply(candidate: Candidate, data: CandidateInput) -> None:
    for name, value in asdict(data).items():
        setattr(candidate, name, value.value if isinstance(value, IdeaSource) else value)


def submit_candidate(
    actor: StaffUser, data: CandidateInput, *, now: datetime | None = None
) -> Candidate:
    """A station submits a new candidate for review."""
    now = now or utcnow()
    rules.ensure_role(actor.role_enum, Role.STATION)
    _check_community(actor, data.community_id)
    begin_write()
    candidate = Candidate(station_id=actor.station_id, created_by_id=actor.id, created_at=now)
    _apply(candidate, data)
    candidate.updated_at = now
    db.session.add(candidate)
    db.session.flush()
    audit.record(actor, "candidate.submitted", ("candidate", candidate.id), _summary(data), now=now)
    commit()
    return candidate


def update_candidate(
    actor: StaffUser, candidate_id: int, data: CandidateInput, *, now: datetime | None = None
) -> Candidate:
    """A station edits its own candidate; editing a rejected one resubmits it."""
    now = now or utcnow()
    begin_write()
    candidate = db.get_or_404(Candidate, candidate_id)
    rules.ensure_station_owns(actor.role_enum, actor.station_id, candidate.station_id)
    rules.ensure_editable(candidate.status_enum)
    _check_community(actor, data.community_id)
    _apply(candidate, data)
    candidate.status = CandidateStatus.SUBMITTED.value
    candidate.reviewed_by_id, candidate.reviewed_at, candidate.review_reason = None, None, ""
    candidate.updated_at = now
    audit.record(actor, "candidate.edited", ("candidate", candidate.id), _summary(data), now=now)
    commit()
    return candidate


def review_candidate(
    actor: StaffUser, candidate_id: int, *, accept: bool, reason: str, now: datetime | None = None
) -> Candidate:
    """An official accepts or rejects a submitted candidate, with a written reason."""
    now = now or utcnow()
    rules.ensure_role(actor.role_enum, Role.OFFICIAL)
    status = rules.review_outcome(accept, reason)
    begin_write()
    candidate = db.get_or_404(Candidate, candidate_id)
    if candidate.station.street_id != actor.street_id:
        raise NotPermitted("other_street")
    rules.ensure_editable(candidate.status_enum)
    candidate.status = status.value
    candidate.review_reason = reason.strip()
    candidate.reviewed_by_id, candidate.reviewed_at = actor.id, now
    audit.record(
        actor,
        f"candidate.{status.value}",
        ("candidate", candidate.id),
        {"reason": candidate.review_reason},
        now=now,
    )
    commit()
    return candidate


def _summary(data: CandidateInput) -> dict[str, object]:
    return {"title": data.title, "cost_yuan": data.cost_yuan, "community_id": data.community_id}


def station_candidates(actor: StaffUser) -> list[Candidate]:
    """The actor's station's candidates, newest first."""
    rules.ensure_role(actor.role_enum, Role.STATION)
    return list(
        db.session.scalars(
            select(Candidate)
            .options(joinedload(Candidate.community))
            .where(Candidate.station_id == actor.station_id)
            .order_by(Candidate.id.desc())
        )
    )


def street_candidates(street_id: int, status: CandidateStatus | None = None) -> list[Candidate]:
    """Candidates of all the street's stations, optionally of one status."""
    from ..models import Station

    query = (
        select(Candidate)
        .join(Candidate.station)
        .options(joinedload(Candidate.community), joinedload(Candidate.station))
        .where(Station.street_id == street_id)
        .order_by(Candidate.status, Candidate.id)
    )
    if status is not None:
        query = query.where(Candidate.status == status.value)
    return list(db.session.scalars(query))


def candidate_for_station(actor: StaffUser, candidate_id: int) -> Candidate:
    """The candidate, if the actor's station owns it."""
    candidate = db.get_or_404(Candidate, candidate_id)
    rules.ensure_station_owns(actor.role_enum, actor.station_id, candidate.station_id)
    return candidate


def street_communities(street_id: int) -> list[Community]:
    return list(
        db.session.scalars(
            select(Community).where(Community.street_id == street_id).order_by(Community.id)
        )
    )
