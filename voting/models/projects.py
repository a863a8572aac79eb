"""Candidate projects (民生实事候选项目) submitted by liaison stations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.staff import CandidateStatus, IdeaSource
from ..extensions import db
from .images import StoredImage, image_checks
from .places import Community, Station
from .types import UTCDateTime, enum_check, enum_column, utcnow


class Candidate(db.Model):
    __tablename__ = "candidate"
    __table_args__ = (
        enum_check("status", CandidateStatus, "status"),
        enum_check("source", IdeaSource, "source"),
        CheckConstraint("cost_yuan >= 0", name="cost_nonnegative"),
        CheckConstraint("raised_by >= 0", name="raised_by_nonnegative"),
        # A reviewed candidate carries its reviewer, time and written reason.
        CheckConstraint(
            "(status = 'submitted') OR (reviewed_by_id IS NOT NULL AND reviewed_at IS NOT NULL"
            " AND review_reason <> '')",
            name="reviewed_with_reason",
        ),
        Index("ix_candidate_station_status", "station_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    title: Mapped[str] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(30))
    location: Mapped[str] = mapped_column(String(120))
    target: Mapped[str] = mapped_column(String(120), default="")
    cost_yuan: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(enum_column(IdeaSource))
    raised_by: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(
        enum_column(CandidateStatus), default=CandidateStatus.SUBMITTED.value
    )
    review_reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station: Mapped[Station] = relationship()
    community: Mapped[Community] = relationship()
    # Loaded on first use: most pages that load candidates (ballots, results, exports) never
    # show photos. A page listing many cards should ask for selectinload(Candidate.photos).
    photos: Mapped[list[CandidatePhoto]] = relationship(
        back_populates="candidate", order_by="CandidatePhoto.position"
    )

    @property
    def status_enum(self) -> CandidateStatus:
        return CandidateStatus(self.status)


class CandidatePhoto(StoredImage, db.Model):
    """A photo of the candidate's site, stored twice re-encoded: phone size and thumbnail."""

    __tablename__ = "candidate_photo"
    __table_args__ = (
        # Concurrent uploads to one candidate pick the same next position: one of them fails.
        UniqueConstraint("candidate_id", "position"),
        UniqueConstraint("candidate_id", "sha256"),
        CheckConstraint("position >= 1", name="position_positive"),
        *image_checks(),
        Index("ix_candidate_photo_sha256", "sha256"),
        Index("ix_candidate_photo_thumb_sha256", "thumb_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"))
    position: Mapped[int]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    candidate: Mapped[Candidate] = relationship(back_populates="photos")
