"""Who voted (participation) and what was voted (ballots), stored apart.

``Participation`` names the resident; ``Ballot`` and ``BallotChoice`` do not, and share
no id, no order and no time with it: ballot ids are random, the tables carry no timestamp,
and on SQLite they are WITHOUT ROWID tables, so rows sit in random-id order rather than
insertion order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, random_id, utcnow

CHANNELS = ("code", "sms", "station")


class VotingCode(db.Model):
    """A single-use voting code (投票码), stored only as a keyed hash."""

    __tablename__ = "voting_code"
    __table_args__ = (UniqueConstraint("round_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Participation(db.Model):
    """The resident took part in the round. Unique per (round, resident): one ballot each."""

    __tablename__ = "participation"
    __table_args__ = (
        UniqueConstraint("round_id", "resident_id"),
        CheckConstraint("channel IN ('code', 'sms', 'station')", name="channel"),
        Index("ix_participation_round_voted_at", "round_id", "voted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    channel: Mapped[str] = mapped_column(String(10))
    # To the minute: enough to tell the resident when, too coarse to order ballots.
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Ballot(db.Model):
    """One cast ballot. No link to the resident: random id, no time."""

    __tablename__ = "ballot"
    __table_args__ = (
        UniqueConstraint("id", "round_id"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"), index=True)
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)


class BallotChoice(db.Model):
    """A candidate chosen on a ballot; the database checks it stands in the ballot's round."""

    __tablename__ = "ballot_choice"
    __table_args__ = (
        ForeignKeyConstraint(["ballot_id", "round_id"], ["ballot.id", "ballot.round_id"]),
        ForeignKeyConstraint(
            ["round_id", "candidate_id"],
            ["round_candidate.round_id", "round_candidate.candidate_id"],
        ),
        Index("ix_ballot_choice_round_candidate", "round_id", "candidate_id"),
        {"sqlite_with_rowid": False},
    )

    ballot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int]
