"""Streets, their communities and the liaison stations."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Street(db.Model):
    __tablename__ = "street"
    __table_args__ = (
        # The council's quorum is strictly more than num/den of the members (default 2/3).
        CheckConstraint(
            "quorum_den >= 1 AND quorum_num >= 0 AND quorum_num < quorum_den", name="quorum_range"
        ),
        CheckConstraint("objection_days >= 1 AND objection_days <= 30", name="objection_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    district: Mapped[str] = mapped_column(String(60), default="")
    quorum_num: Mapped[int] = mapped_column(default=2, server_default="2")
    quorum_den: Mapped[int] = mapped_column(default=3, server_default="3")
    # Working days the 公示 stays open to objections after the council's decision.
    objection_days: Mapped[int] = mapped_column(default=5, server_default="5")

    communities: Mapped[list[Community]] = relationship(
        back_populates="street", order_by="Community.id"
    )


class Community(db.Model):
    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    name: Mapped[str] = mapped_column(String(60))

    street: Mapped[Street] = relationship(back_populates="communities")


class Station(db.Model):
    """A people's-congress deputies' liaison station (人大代表联络站)."""

    __tablename__ = "station"
    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    name: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(200), default="")
    hours: Mapped[str] = mapped_column(String(120), default="")

    street: Mapped[Street] = relationship()
