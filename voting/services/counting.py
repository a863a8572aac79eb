"""Counting from the ballot rows: votes per candidate, ballots grouped by content, the digest.

Everything here reads the ``ballot`` and ``ballot_choice`` tables of one round and nothing
else, so ``verify`` can recompute at any time what close stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, cast, func, select

from ..domain import digest
from ..extensions import db
from ..models import Ballot, BallotChoice, VotingRound


def vote_counts(round_id: int) -> dict[int, int]:
    """Points per candidate named on the round's ballots (one per cross on approval)."""
    rows = db.session.execute(
        select(BallotChoice.candidate_id, func.sum(BallotChoice.points))
        .where(BallotChoice.round_id == round_id)
        .group_by(BallotChoice.candidate_id)
    ).all()
    return {cid: int(n) for cid, n in rows}


def ballot_total(round_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Ballot).where(Ballot.round_id == round_id)
        )
        or 0
    )


def ballot_groups(round_id: int) -> dict[str, int]:
    """The round's ballots grouped by content: ``digest.ballot_key`` → how many.

    The database concatenates each ballot's choices and counts identical strings; the few
    distinct strings are then put in canonical order here (neither database promises the
    order inside a concatenation without an ordered aggregate, which SQLite lacks).
    """
    item = cast(BallotChoice.candidate_id, String) + "*" + cast(BallotChoice.points, String)
    if db.session.get_bind().dialect.name == "postgresql":
        key = func.string_agg(item, ",")
    else:
        key = func.group_concat(item, ",")
    per_ballot = (
        select(key.label("k"))
        .where(BallotChoice.round_id == round_id)
        .group_by(BallotChoice.ballot_id)
        .subquery()
    )
    rows = db.session.execute(select(per_ballot.c.k, func.count()).group_by(per_ballot.c.k))
    groups = digest.normalize_groups((k, n) for k, n in rows)
    empty = ballot_total(round_id) - sum(groups.values())
    if empty:
        groups["-"] = groups.get("-", 0) + empty
    return groups


def round_digest(rnd: VotingRound, counts: dict[int, int], groups: dict[str, int]) -> str:
    candidates = {
        e.candidate_id: (e.candidate.cost_yuan, counts.get(e.candidate_id, 0)) for e in rnd.entries
    }
    return digest.tally_digest(rnd.id, candidates, groups)


@dataclass(frozen=True)
class Verification:
    """What ``tally verify`` found: the stored and recomputed figures side by side."""

    round_id: int
    stored_digest: str | None
    digest: str
    stored_ballots: int | None
    ballots: int
    count_mismatches: tuple[tuple[int, int | None, int], ...]  # (candidate, stored, counted)
    groups_agree: bool  # the counts recomputed from the groups equal the SQL counts

    @property
    def ok(self) -> bool:
        return (
            self.stored_digest == self.digest
            and self.stored_ballots == self.ballots
            and not self.count_mismatches
            and self.groups_agree
        )


def verify(rnd: VotingRound) -> Verification:
    """Recompute the counts and the digest of a closed round from its ballot rows."""
    counts = vote_counts(rnd.id)
    groups = ballot_groups(rnd.id)
    ids = [e.candidate_id for e in rnd.entries]
    full = {cid: counts.get(cid, 0) for cid in ids}
    mismatches = tuple(
        (e.candidate_id, e.public_votes, full[e.candidate_id])
        for e in rnd.entries
        if e.public_votes != full[e.candidate_id]
    )
    return Verification(
        round_id=rnd.id,
        stored_digest=rnd.tally_digest,
        digest=round_digest(rnd, full, groups),
        stored_ballots=rnd.ballot_count,
        ballots=sum(groups.values()),
        count_mismatches=mismatches,
        groups_agree=digest.counts_from_groups(ids, groups) == full,
    )
