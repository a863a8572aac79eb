"""Setting up, opening and closing rounds; the tally written at close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound

from ..domain import digest, lifecycle
from ..domain import staff as staff_rules
from ..domain.ballots import BallotKind, BallotRule, check_rule
from ..domain.errors import Conflict, InvalidInput, NotPermitted
from ..domain.lifecycle import Action, RoundStatus
from ..domain.rounds import RoundDefinition, definition_problems, ensure_can_open
from ..domain.staff import CandidateStatus, Role
from ..domain.tally import OutcomeRule, TallyResult, tally
from ..extensions import db
from ..models import (
    Candidate,
    Community,
    PaperBallot,
    Participation,
    RoundCandidate,
    RoundCommunity,
    StaffUser,
    VotingRound,
)
from ..models.types import random_id
from . import audit, counting, sealing
from ._tx import begin_write, commit, utcnow


@dataclass(frozen=True)
class RoundInput:
    """What an official sets up for a round."""

    title: str
    description: str
    community_ids: tuple[int, ...]
    candidate_ids: tuple[int, ...]
    opens_at: datetime
    closes_at: datetime
    min_choices: int
    max_choices: int
    budget_yuan: int | None
    seats: int
    outcome_rule: OutcomeRule
    running_results_public: bool
    ballot_kind: BallotKind = BallotKind.APPROVAL
    points_total: int | None = None
    min_spend_percent: int | None = None


def _check_scope(actor: StaffUser, data: RoundInput) -> None:
    if not data.community_ids:
        raise InvalidInput("scope_empty")
    communities = db.session.scalars(
        select(Community).where(Community.id.in_(data.community_ids))
    ).all()
    if len(communities) != len(set(data.community_ids)) or any(
        c.street_id != actor.street_id for c in communities
    ):
        raise InvalidInput("community_not_in_street")
    candidates = db.session.scalars(
        select(Candidate)
        .options(joinedload(Candidate.station))
        .where(Candidate.id.in_(data.candidate_ids))
    ).all()
    if len(candidates) != len(set(data.candidate_ids)) or any(
        c.station.street_id != actor.street_id or c.status != CandidateStatus.ACCEPTED
        for c in candidates
    ):
        raise InvalidInput("candidate_not_accepted")
    lifecycle.check_window(data.opens_at, data.closes_at)
    if data.outcome_rule.needs_budget and data.budget_yuan is None:
        raise InvalidInput("greedy_needs_budget")
    check_rule(
        BallotRule(
            data.min_choices,
            data.max_choices,
            data.budget_yuan,
            data.ballot_kind,
            data.points_total,
            data.min_spend_percent,
        )
    )


def _write_definition(rnd: VotingRound, data: RoundInput) -> None:
    for name in (
        "title",
        "description",
        "opens_at",
        "closes_at",
        "min_choices",
        "max_choices",
        "budget_yuan",
        "seats",
        "running_results_public",
        "points_total",
        "min_spend_percent",
    ):
        setattr(rnd, name, getattr(data, name))
    rnd.outcome_rule = data.outcome_rule.value
    rnd.ballot_kind = data.ballot_kind.value
    if rnd.id is None:
        db.session.add(rnd)
        db.session.flush()
    db.session.execute(delete(RoundCommunity).where(RoundCommunity.round_id == rnd.id))
    db.session.execute(delete(RoundCandidate).where(RoundCandidate.round_id == rnd.id))
    db.session.add_all(RoundCommunity(round_id=rnd.id, community_id=c) for c in data.community_ids)
    db.session.add_all(
        RoundCandidate(round_id=rnd.id, candidate_id=cid, position=pos)
        for pos, cid in enumerate(data.candidate_ids, start=1)
    )
    db.session.flush()
    db.session.expire(rnd)


def create_round(actor: StaffUser, data: RoundInput, *, now: datetime | None = None) -> int:
    """An official creates a draft round."""
    now = now or utcnow()
    staff_rules.ensure_role(actor.role_enum, Role.OFFICIAL)
    _check_scope(actor, data)
    begin_write()
    rnd = VotingRound(street_id=actor.street_id, created_by_id=actor.id, created_at=now)
    _write_definition(rnd, data)
    audit.record(actor, "round.created", ("round", rnd.id), {"title": data.title}, now=now)
    commit()
    return rnd.id


def update_round(
    actor: StaffUser, round_id: int, data: RoundInput, *, now: datetime | None = None
) -> None:
    """Edit a round while it is still a draft; opening freezes it."""
    now = now or utcnow()
    rnd = _official_round(actor, round_id)
    if rnd.status_enum is not RoundStatus.DRAFT:
        raise Conflict("round_frozen")
    _check_scope(actor, data)
    begin_write()
    _write_definition(rnd, data)
    audit.record(actor, "round.edited", ("round", round_id), {"title": data.title}, now=now)
    commit()


def definition_of(rnd: VotingRound) -> RoundDefinition:
    return RoundDefinition(
        rule=rnd.ballot_rule,
        outcome=OutcomeRule(rnd.outcome_rule),
        seats=rnd.seats,
        candidate_costs=[e.candidate.cost_yuan for e in rnd.entries],
    )


def open_problems(rnd: VotingRound) -> list[str]:
    """Why this draft round cannot open yet (codes), for the official's page."""
    return definition_problems(definition_of(rnd))


def open_round(actor: StaffUser, round_id: int, *, now: datetime | None = None) -> None:
    """Open a draft round: its rules and candidate list are frozen from now on."""
    now = now or utcnow()
    begin_write()
    rnd = _official_round(actor, round_id, lock=True)
    status = lifecycle.next_status(rnd.status_enum, Action.OPEN)
    ensure_can_open(definition_of(rnd))
    rnd.status, rnd.opened_at, rnd.definition_key = status.value, now, random_id()
    audit.record(actor, "round.opened", ("round", round_id), _definition_payload(rnd), now=now)
    commit()


def close_round(
    actor: StaffUser, round_id: int, *, reason: str = "", now: datetime | None = None
) -> TallyResult:
    """Close an open round and write its tally from the ballot rows."""
    now = now or utcnow()
    begin_write()
    rnd = _official_round(actor, round_id, lock=True)
    status = lifecycle.next_status(rnd.status_enum, Action.CLOSE)
    lifecycle.check_close(rnd.closes_at, now, reason)
    sealing.lock_seals(round_id)
    sealing.seal_batch(round_id, actor=actor.username, now=now)
    sealing.shuffle_ballot_box(round_id)
    groups = counting.ballot_groups(round_id)
    result = count_round(rnd, groups)
    box = check_ballot_box(round_id, result.ballots)
    for entry in rnd.entries:
        row = next(r for r in result.rows if r.candidate_id == entry.candidate_id)
        entry.public_votes, entry.public_rank, entry.rule_selected = (
            row.votes,
            row.rank,
            row.selected,
        )
    rnd.status, rnd.closed_at, rnd.close_reason = status.value, now, reason.strip()
    rnd.ballot_count = result.ballots
    rnd.tally_digest = counting.round_digest(
        rnd, {r.candidate_id: r.votes for r in result.rows}, groups
    )
    payload = {
        "ballots": result.ballots,
        "tally_digest": rnd.tally_digest,
        "counts": {str(r.candidate_id): r.votes for r in result.rows},
        "selected": sorted(result.selected_ids),
        "reason": rnd.close_reason,
        **box,
    }
    audit.record(actor, "round.closed", ("round", round_id), payload, now=now)
    commit()
    sealing.scrub_after_close()
    return result


def check_ballot_box(round_id: int, ballots: int) -> dict[str, int]:
    """Reconcile who voted with what is in the box before counting; raise Conflict if not.

    Every online participation (code, phone) has exactly one ballot. Station check-ins are
    matched by paper ballots, counted or spoiled (废票); papers still waiting for their
    second entry or for reconciliation stop the close. A resident who checked in and left
    without dropping a paper shows up as ``checked_in_without_paper`` in the close event.
    """
    channels = dict(
        db.session.execute(
            select(Participation.channel, func.count())
            .where(Participation.round_id == round_id)
            .group_by(Participation.channel)
        ).all()
    )
    papers = dict(
        db.session.execute(
            select(PaperBallot.state, func.count())
            .where(PaperBallot.round_id == round_id)
            .group_by(PaperBallot.state)
        ).all()
    )
    waiting = papers.get("pending", 0) + papers.get("mismatch", 0)
    if waiting:
        raise Conflict("papers_not_counted", count=waiting)
    counted, spoiled = papers.get("counted", 0), papers.get("invalid", 0)
    online = channels.get("code", 0) + channels.get("sms", 0)
    station = channels.get("station", 0)
    if online != ballots - counted or station < counted + spoiled:
        raise Conflict("participation_ballot_mismatch")
    return {
        "participations_online": online,
        "participations_station": station,
        "paper_counted": counted,
        "paper_invalid": spoiled,
        "checked_in_without_paper": station - counted - spoiled,
    }


def count_round(rnd: VotingRound, groups: dict[str, int] | None = None) -> TallyResult:
    """Count the round's ballot rows and apply its outcome rule.

    The equal-shares rules read the ballots grouped by content (``groups``, computed here
    when not given); top-N and greedy need only the counts.
    """
    rule = OutcomeRule(rnd.outcome_rule)
    counts = {entry.candidate_id: 0 for entry in rnd.entries}
    counts.update(counting.vote_counts(rnd.id))
    if rule.needs_ballots and groups is None:
        groups = counting.ballot_groups(rnd.id)
    ballots = sum(groups.values()) if groups is not None else counting.ballot_total(rnd.id)
    return tally(
        [e.ref() for e in rnd.entries],
        counts,
        ballots=ballots,
        rule=rule,
        seats=rnd.seats,
        budget=rnd.budget_yuan,
        groups=digest.approval_groups(groups) if groups is not None else None,
    )


def _definition_payload(rnd: VotingRound) -> dict[str, object]:
    return {
        "title": rnd.title,
        "opens_at": rnd.opens_at.isoformat(),
        "closes_at": rnd.closes_at.isoformat(),
        "min_choices": rnd.min_choices,
        "max_choices": rnd.max_choices,
        "budget_yuan": rnd.budget_yuan,
        "ballot_kind": rnd.ballot_kind,
        "points_total": rnd.points_total,
        "min_spend_percent": rnd.min_spend_percent,
        "seats": rnd.seats,
        "outcome_rule": rnd.outcome_rule,
        "communities": [c.id for c in rnd.communities],
        "candidates": [[e.position, e.candidate_id, e.candidate.cost_yuan] for e in rnd.entries],
    }


def load_round(round_id: int, *, lock: bool = False) -> VotingRound:
    """The round with its candidates and their communities in one query, their photos in a
    second (404 if missing).

    The round's own communities load on first use: only staff pages need them.
    """
    query = (
        select(VotingRound)
        .where(VotingRound.id == round_id)
        .options(
            joinedload(VotingRound.entries)
            .joinedload(RoundCandidate.candidate)
            .joinedload(Candidate.community),
            # The candidates' photos in one more query, not one per card.
            joinedload(VotingRound.entries)
            .joinedload(RoundCandidate.candidate)
            .selectinload(Candidate.photos),
        )
    )
    if lock:
        query = query.with_for_update(of=VotingRound)
    rnd = db.session.scalars(query).unique().first()
    if rnd is None:
        raise NotFound()
    return rnd


def round_title(round_id: int) -> str:
    """Just the title, for pages that show nothing else of the round (404 if missing)."""
    title = db.session.scalar(select(VotingRound.title).where(VotingRound.id == round_id))
    if title is None:
        raise NotFound()
    return title


def _official_round(actor: StaffUser, round_id: int, *, lock: bool = False) -> VotingRound:
    staff_rules.ensure_role(actor.role_enum, Role.OFFICIAL)
    rnd = load_round(round_id, lock=lock)
    if rnd.street_id != actor.street_id:
        raise NotPermitted("other_street")
    return rnd


def street_rounds(street_id: int | None = None) -> list[VotingRound]:
    """Rounds, newest first (all streets when none is given)."""
    query = select(VotingRound).order_by(VotingRound.id.desc())
    if street_id is not None:
        query = query.where(VotingRound.street_id == street_id)
    return list(db.session.scalars(query))


def public_rounds() -> list[VotingRound]:
    """Rounds the public can see: everything but drafts, newest first."""
    return list(
        db.session.scalars(
            select(VotingRound)
            .where(VotingRound.status != RoundStatus.DRAFT.value)
            .order_by(VotingRound.id.desc())
        )
    )
