"""The public notice (公示) of the council's decision and the objections filed against it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .rounds import VotingRound
from .types import UTCDateTime

OBJECTION_MAX_CHARS = 1000
ANSWER_MAX_CHARS = 2000


class CouncilNotice(db.Model):
    """Made once, when a second staff member approves the council's decision."""

    __tablename__ = "council_notice"
    __table_args__ = (
        CheckConstraint("objections_close_at > published_at", name="period_order"),
        CheckConstraint("objection_days >= 1", name="objection_days_positive"),
        CheckConstraint("length(head_hash) = 64", name="head_hash_length"),
    )

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    objection_days: Mapped[int]
    # Midnight (Asia/Shanghai) after the last working day of the objection period, in UTC.
    objections_close_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The audit chain's head right after the approval event: what the notice prints.
    head_hash: Mapped[str] = mapped_column(String(64))

    round: Mapped[VotingRound] = relationship()
    objections: Mapped[list[Objection]] = relationship(
        back_populates="notice", order_by="Objection.number"
    )


class Objection(db.Model):
    """A resident's objection (异议) and the street's public answer.

    ``filer_hmac`` is the roll's keyed ID hash: it makes "one per resident per notice" a
    UNIQUE constraint and is never shown; the clear ID number is never stored.
    """

    __tablename__ = "objection"
    __table_args__ = (
        UniqueConstraint("round_id", "filer_hmac"),
        UniqueConstraint("round_id", "number"),
        CheckConstraint("length(filer_hmac) = 64", name="filer_hmac_length"),
        CheckConstraint(
            f"length(body) >= 1 AND length(body) <= {OBJECTION_MAX_CHARS}", name="body_length"
        ),
        CheckConstraint(f"length(answer) <= {ANSWER_MAX_CHARS}", name="answer_length"),
        CheckConstraint(
            "(answered_at IS NULL AND answered_by_id IS NULL AND answer = '')"
            " OR (answered_at IS NOT NULL AND answered_by_id IS NOT NULL AND answer <> '')",
            name="answer_complete",
        ),
        CheckConstraint("number >= 1", name="number_positive"),
        Index("ix_objection_round_answered", "round_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("council_notice.round_id"))
    # Public numbering (第 n 条) in filing order.
    number: Mapped[int]
    filer_hmac: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str] = mapped_column(Text, default="", server_default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notice: Mapped[CouncilNotice] = relationship(back_populates="objections")
