"""The resident's vote: code login, ballot, cast. Exactly one ballot per resident per round.

The cast is one unit of work: re-check the round inside a lock shared with close, consume
the voting code with a conditional UPDATE, insert the participation row (UNIQUE per round
and resident) and the ballot with its choices, commit. Two attempts racing on one code or
one resident end with one ballot; the loser gets AlreadyVoted.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..domain import codes, lifecycle
from ..domain.ballots import validate_ballot
from ..domain.errors import AlreadyVoted, InvalidCode, VotingError
from ..extensions import db
from ..models import Ballot, BallotChoice, Participation, VotingCode, VotingRound
from ._tx import begin_write, utcnow
from .rounds import load_round


@dataclass(frozen=True)
class CodeLogin:
    round_id: int
    code_id: int


def previous_participation(round_id: int, resident_id: int) -> AlreadyVoted:
    """AlreadyVoted carrying when and through which channel (never what was chosen)."""
    row = db.session.execute(
        select(Participation.voted_at, Participation.channel).where(
            Participation.round_id == round_id, Participation.resident_id == resident_id
        )
    ).first()
    if row is None:
        return AlreadyVoted()
    return AlreadyVoted(voted_at=row.voted_at, channel=row.channel)


def login_with_code(raw_code: str, *, pepper: bytes, now: datetime | None = None) -> CodeLogin:
    """Check a typed or scanned voting code; raise InvalidCode, AlreadyVoted or RoundNotOpen."""
    now = now or utcnow()
    problem = codes.code_problem(raw_code)
    if problem:
        raise InvalidCode(problem)
    row = db.session.execute(
        select(VotingCode, VotingRound)
        .join(VotingRound, VotingRound.id == VotingCode.round_id)
        .where(VotingCode.code_hash == codes.code_hash(pepper, raw_code))
    ).first()
    if row is None:
        raise InvalidCode("code_unknown")
    code, rnd = row
    if code.used_at is not None:
        raise previous_participation(code.round_id, code.resident_id)
    lifecycle.ensure_can_vote(rnd.status_enum, rnd.opens_at, rnd.closes_at, now)
    return CodeLogin(rnd.id, code.id)


def check_choices(round_id: int, choices: Collection[int]) -> frozenset[int]:
    """Validate a ballot against the round's frozen rule (raises BallotRuleViolation)."""
    rnd = load_round(round_id)
    candidates = {e.candidate_id: e.ref() for e in rnd.entries}
    return validate_ballot(rnd.ballot_rule, candidates, choices)


def cast_ballot(
    round_id: int,
    code_id: int,
    choices: Collection[int],
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> str:
    """Cast the ballot for the resident behind ``code_id``; return the receipt code.

    Times are kept to the minute: enough to tell a resident when they voted, too coarse to
    line participations up with anything else.
    """
    now = (now or utcnow()).astimezone(UTC).replace(second=0, microsecond=0)
    begin_write()
    try:
        rnd = _round_shared_lock(round_id)
        lifecycle.ensure_can_vote(rnd.status_enum, rnd.opens_at, rnd.closes_at, now)
        chosen = check_choices(round_id, choices)
        resident_id = _consume_code(round_id, code_id, now)
        receipt = _insert_ballot(round_id, resident_id, chosen, now, rng)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        resident_id = db.session.scalar(
            select(VotingCode.resident_id).where(VotingCode.id == code_id)
        )
        raise previous_participation(round_id, resident_id or 0) from None
    except VotingError:
        db.session.rollback()
        raise
    return receipt


def _round_shared_lock(round_id: int) -> VotingRound:
    """Read the round under a lock that close's FOR UPDATE must wait for (PostgreSQL)."""
    query = select(VotingRound).where(VotingRound.id == round_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    rnd = db.session.scalar(query)
    if rnd is None:
        raise InvalidCode("code_unknown")
    return rnd


def _consume_code(round_id: int, code_id: int, now: datetime) -> int:
    """Mark the code used iff it was unused; return its resident, or raise AlreadyVoted."""
    resident_id = db.session.execute(
        update(VotingCode)
        .where(
            VotingCode.id == code_id,
            VotingCode.round_id == round_id,
            VotingCode.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(VotingCode.resident_id)
    ).scalar()
    if resident_id is None:
        db.session.rollback()
        owner = db.session.scalar(select(VotingCode.resident_id).where(VotingCode.id == code_id))
        raise previous_participation(round_id, owner or 0)
    return resident_id


def _insert_ballot(
    round_id: int,
    resident_id: int,
    chosen: frozenset[int],
    now: datetime,
    rng: random.Random | None,
) -> str:
    db.session.add(
        Participation(round_id=round_id, resident_id=resident_id, channel="code", voted_at=now)
    )
    receipt = codes.generate_receipt(rng)
    ballot = Ballot(round_id=round_id, receipt_hash=codes.receipt_hash(receipt))
    db.session.add(ballot)
    db.session.flush()
    db.session.add_all(
        BallotChoice(ballot_id=ballot.id, round_id=round_id, candidate_id=cid) for cid in chosen
    )
    db.session.flush()
    return receipt
