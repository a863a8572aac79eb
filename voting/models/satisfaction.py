"""The satisfaction vote (满意度测评): the street's grading rule and the council's counts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.satisfaction import Rating
from ..extensions import db
from .supervision import Implementation
from .types import UTCDateTime, enum_check, enum_column, utcnow


class SatisfactionRule(db.Model):
    """A street's own grading rule (JSON, see domain.satisfaction); absent = the usual rule."""

    __tablename__ = "satisfaction_rule"

    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), primary_key=True)
    rule_json: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SatisfactionMeeting(db.Model):
    """The council meeting that rates a round's completed projects, with the rule it used."""

    __tablename__ = "satisfaction_meeting"
    __table_args__ = (
        CheckConstraint("members_present >= 1", name="present_positive"),
        # The ratings carry members_present too, through this key, so a CHECK on each
        # rating row can hold its counts to the meeting's attendance.
        UniqueConstraint("round_id", "members_present"),
    )

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(120), default="")
    members_present: Mapped[int]
    # A snapshot: changing the street's rule later does not regrade a past meeting.
    rule_json: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ratings: Mapped[list[SatisfactionRating]] = relationship(
        back_populates="meeting", order_by="SatisfactionRating.implementation_id"
    )


class SatisfactionRating(db.Model):
    """One project's counts at the meeting and the grade the rule gave them."""

    __tablename__ = "satisfaction_rating"
    __table_args__ = (
        ForeignKeyConstraint(
            ["round_id", "members_present"],
            ["satisfaction_meeting.round_id", "satisfaction_meeting.members_present"],
            onupdate="CASCADE",
        ),
        enum_check("grade", Rating, "grade"),
        CheckConstraint(
            "satisfied >= 0 AND basic >= 0 AND dissatisfied >= 0", name="counts_nonnegative"
        ),
        CheckConstraint(
            "satisfied + basic + dissatisfied <= members_present", name="counts_within_present"
        ),
    )

    round_id: Mapped[int] = mapped_column(primary_key=True)
    implementation_id: Mapped[int] = mapped_column(
        ForeignKey("implementation.id"), primary_key=True
    )
    members_present: Mapped[int]
    satisfied: Mapped[int]
    basic: Mapped[int]
    dissatisfied: Mapped[int]
    grade: Mapped[str] = mapped_column(enum_column(Rating))

    meeting: Mapped[SatisfactionMeeting] = relationship(back_populates="ratings")
    implementation: Mapped[Implementation] = relationship()

    @property
    def grade_enum(self) -> Rating:
        return Rating(self.grade)
