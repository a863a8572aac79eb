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


class OtpChallenge(db.Model):
    """A 6-digit phone code (手机验证码) sent to a resident, stored only as a keyed hash.

    A request for a phone that is not on the roll writes a row too (``resident_id`` NULL, a
    code nobody receives), so on-roll and off-roll requests cost the same and count against
    the same caps.
    """

    __tablename__ = "otp_challenge"
    __table_args__ = (
        CheckConstraint("attempts_left >= 0 AND attempts_left <= 10", name="attempts_range"),
        CheckConstraint("expires_at > created_at", name="expiry_order"),
        CheckConstraint("purpose IN ('vote', 'objection')", name="purpose"),
        Index("ix_otp_challenge_phone_created", "phone_hmac", "created_at"),
        Index("ix_otp_challenge_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"))
    # What the code unlocks: a ballot, or filing an objection to the round's 公示.
    purpose: Mapped[str] = mapped_column(String(10), default="vote", server_default="vote")
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    phone_hmac: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts_left: Mapped[int] = mapped_column(default=5)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    # At the station: the staff member who checked the resident in, and any assistance.
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    assisted_by: Mapped[str] = mapped_column(String(40), default="", server_default="")
    assist_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")


class Ballot(db.Model):
    """One cast ballot. No link to the resident: random id, no time."""

    __tablename__ = "ballot"
    __table_args__ = (
        UniqueConstraint("id", "round_id"),
        Index("ix_ballot_round_batch", "round_id", "batch_no"),
        Index("ix_ballot_round_hint", "round_id", "receipt_hint"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    # No index of its own: the two indexes above begin with it, and every cast pays for
    # each index of this table.
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"))
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first 8 characters of the receipt, listed on the public receipt board.
    receipt_hint: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # Set when the ballot is sealed into a hash-committed batch (see services.sealing).
    batch_no: Mapped[int | None]


class BallotChoice(db.Model):
    """A candidate chosen on a ballot; the database checks it stands in the ballot's round."""

    __tablename__ = "ballot_choice"
    __table_args__ = (
        ForeignKeyConstraint(["ballot_id", "round_id"], ["ballot.id", "ballot.round_id"]),
        ForeignKeyConstraint(
            ["round_id", "candidate_id"],
            ["round_candidate.round_id", "round_candidate.candidate_id"],
        ),
        # Covers the count (SUM(points) per candidate) without reading the table.
        Index("ix_ballot_choice_round_candidate", "round_id", "candidate_id", "points"),
        CheckConstraint("points >= 1", name="points_positive"),
        {"sqlite_with_rowid": False},
    )

    ballot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int]
    # 1 on approval and knapsack ballots; the points given on a cumulative ballot.
    points: Mapped[int] = mapped_column(default=1, server_default="1")


PAPER_STATES = ("pending", "mismatch", "counted", "invalid")


class PaperBallot(db.Model):
    """A paper ballot from the station box, keyed by its printed serial number.

    It is entered twice, blind, by two different staff members; only matching entries are
    counted. It carries no link to the resident who filled it in: the check-in
    (a ``Participation`` with channel ``station``) records who voted, not which paper.
    """

    __tablename__ = "paper_ballot"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'mismatch', 'counted', 'invalid')", name="state"),
    )

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"), primary_key=True)
    serial: Mapped[str] = mapped_column(String(30), primary_key=True)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    resolution_note: Mapped[str] = mapped_column(String(500), default="")


class PaperEntry(db.Model):
    """One staff member's reading of a paper ballot (entry 1, entry 2, or 3 = reconciliation)."""

    __tablename__ = "paper_entry"
    __table_args__ = (
        ForeignKeyConstraint(
            ["round_id", "serial"], ["paper_ballot.round_id", "paper_ballot.serial"]
        ),
        UniqueConstraint("round_id", "serial", "entry_no"),
        # The same person cannot enter the same paper twice: the second reading is blind
        # and by someone else.
        UniqueConstraint("round_id", "serial", "entered_by_id"),
        CheckConstraint("entry_no IN (1, 2, 3)", name="entry_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int]
    serial: Mapped[str] = mapped_column(String(30))
    entry_no: Mapped[int]
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    # Sorted candidate ids joined by commas; empty with ``invalid`` for a spoiled paper (废票).
    choices: Mapped[str] = mapped_column(String(400), default="")
    invalid: Mapped[bool] = mapped_column(default=False)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
