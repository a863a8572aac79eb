"""Implementation and supervision (督办) of the council's selected projects."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.supervision import ImplementationStatus, MemberKind, SuggestionStatus
from ..extensions import db
from .images import StoredImage, image_checks
from .rounds import RoundCandidate
from .types import UTCDateTime, enum_check, enum_column, utcnow


class Implementation(db.Model):
    """How one selected project is being built: unit, leader, status, progress, money."""

    __tablename__ = "implementation"
    __table_args__ = (
        # One record per project the council selected in a round.
        ForeignKeyConstraint(
            ["round_id", "candidate_id"],
            ["round_candidate.round_id", "round_candidate.candidate_id"],
        ),
        UniqueConstraint("round_id", "candidate_id"),
        enum_check("status", ImplementationStatus, "status"),
        CheckConstraint("progress_percent >= 0 AND progress_percent <= 100", name="progress_range"),
        CheckConstraint("budget_spent_yuan >= 0", name="spent_nonnegative"),
        CheckConstraint("status <> 'planned' OR progress_percent = 0", name="planned_no_progress"),
        CheckConstraint(
            "(status = 'completed') = (actual_completion IS NOT NULL)"
            " AND (status <> 'completed' OR progress_percent = 100)",
            name="completed_consistent",
        ),
        CheckConstraint("responsible_unit <> ''", name="unit_required"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int]
    candidate_id: Mapped[int]
    responsible_unit: Mapped[str] = mapped_column(String(80))
    # The unit's leader in office (职务及姓名), as public notices of 民生实事 print it.
    unit_leader: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(
        enum_column(ImplementationStatus), default=ImplementationStatus.PLANNED.value
    )
    progress_percent: Mapped[int] = mapped_column(default=0)
    budget_spent_yuan: Mapped[int] = mapped_column(BigInteger, default=0)
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_completion: Mapped[date | None] = mapped_column(Date)
    actual_completion: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[RoundCandidate] = relationship(viewonly=True)
    milestones: Mapped[list[Milestone]] = relationship(order_by="Milestone.position")
    updates: Mapped[list[ProgressUpdate]] = relationship(order_by="ProgressUpdate.id.desc()")
    visits: Mapped[list[SupervisionVisit]] = relationship(
        order_by="(SupervisionVisit.held_on, SupervisionVisit.id)"
    )
    photos: Mapped[list[ProjectPhoto]] = relationship(order_by="ProjectPhoto.position")

    @property
    def status_enum(self) -> ImplementationStatus:
        return ImplementationStatus(self.status)


class Milestone(db.Model):
    __tablename__ = "milestone"
    __table_args__ = (
        UniqueConstraint("implementation_id", "position"),
        CheckConstraint("position >= 1", name="position_positive"),
        CheckConstraint("title <> ''", name="title_required"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    implementation_id: Mapped[int] = mapped_column(ForeignKey("implementation.id"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(80))
    planned_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)


class ProgressUpdate(db.Model):
    """One progress report, kept as history (the record holds the latest figures)."""

    __tablename__ = "progress_update"
    __table_args__ = (
        enum_check("status", ImplementationStatus, "status"),
        CheckConstraint("progress_percent >= 0 AND progress_percent <= 100", name="progress_range"),
        CheckConstraint("budget_spent_yuan >= 0", name="spent_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    implementation_id: Mapped[int] = mapped_column(ForeignKey("implementation.id"), index=True)
    status: Mapped[str] = mapped_column(enum_column(ImplementationStatus))
    progress_percent: Mapped[int]
    budget_spent_yuan: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SupervisionVisit(db.Model):
    """One supervision round (督办) on site by the street's supervision group."""

    __tablename__ = "supervision_visit"
    __table_args__ = (
        CheckConstraint("site <> '' AND findings <> ''", name="site_and_findings"),
        Index("ix_supervision_visit_implementation", "implementation_id", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    implementation_id: Mapped[int] = mapped_column(ForeignKey("implementation.id"))
    held_on: Mapped[date] = mapped_column(Date)
    site: Mapped[str] = mapped_column(String(120))
    findings: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    implementation: Mapped[Implementation] = relationship(back_populates="visits")
    participants: Mapped[list[VisitParticipant]] = relationship(order_by="VisitParticipant.id")
    spot_checks: Mapped[list[SpotCheck]] = relationship(order_by="SpotCheck.id")
    suggestions: Mapped[list[Suggestion]] = relationship(order_by="Suggestion.id")
    photos: Mapped[list[ProjectPhoto]] = relationship(
        order_by="ProjectPhoto.position", viewonly=True
    )


class VisitParticipant(db.Model):
    """A member who took part: a name and a kind, nothing else (no ID, no phone)."""

    __tablename__ = "visit_participant"
    __table_args__ = (
        enum_check("kind", MemberKind, "kind"),
        CheckConstraint("name <> ''", name="name_required"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("supervision_visit.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(enum_column(MemberKind))


class SpotCheck(db.Model):
    """One item of the quality spot-check (质量抽查): passed or not, with a note."""

    __tablename__ = "spot_check"
    __table_args__ = (CheckConstraint("item <> ''", name="item_required"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("supervision_visit.id"), index=True)
    item: Mapped[str] = mapped_column(String(80))
    passed: Mapped[bool]
    note: Mapped[str] = mapped_column(String(200), default="")


class Suggestion(db.Model):
    """A suggestion raised in a supervision round, tracked open → answered → closed."""

    __tablename__ = "suggestion"
    __table_args__ = (
        enum_check("status", SuggestionStatus, "status"),
        CheckConstraint("text <> ''", name="text_required"),
        # The timestamps and the answer follow the status, one way.
        CheckConstraint(
            "(status = 'open') = (answered_at IS NULL)"
            " AND (answered_at IS NULL) = (answered_by_id IS NULL)"
            " AND (answered_at IS NULL OR answer <> '')",
            name="answered_stamp",
        ),
        CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)"
            " AND (closed_at IS NULL) = (closed_by_id IS NULL)",
            name="closed_stamp",
        ),
        Index("ix_suggestion_visit", "visit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("supervision_visit.id"))
    text: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(
        enum_column(SuggestionStatus), default=SuggestionStatus.OPEN.value
    )
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[SupervisionVisit] = relationship(back_populates="suggestions")

    @property
    def status_enum(self) -> SuggestionStatus:
        return SuggestionStatus(self.status)


class ProjectPhoto(StoredImage, db.Model):
    """A photo of the works: a progress photo, or one taken in a supervision round."""

    __tablename__ = "project_photo"
    __table_args__ = (
        UniqueConstraint("implementation_id", "position"),
        UniqueConstraint("implementation_id", "sha256"),
        CheckConstraint("position >= 1", name="position_positive"),
        *image_checks(),
        Index("ix_project_photo_sha256", "sha256"),
        Index("ix_project_photo_thumb_sha256", "thumb_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    implementation_id: Mapped[int] = mapped_column(ForeignKey("implementation.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_visit.id"), index=True)
    position: Mapped[int]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
