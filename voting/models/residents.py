"""The resident roll. No ID number or phone number is stored in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .places import Community
from .types import UTCDateTime, utcnow


class Resident(db.Model):
    __tablename__ = "resident"
    __table_args__ = (
        CheckConstraint("length(id_hmac) = 64", name="id_hmac_length"),
        CheckConstraint("status IN ('active', 'moved_out')", name="status"),
        Index("ix_resident_community_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    name: Mapped[str] = mapped_column(String(40))
    # Keyed HMAC of the normalized ID number: matching only, never reversible.
    id_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    id_tail: Mapped[str] = mapped_column(String(4))
    phone_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_last4: Mapped[str] = mapped_column(String(4), default="")
    building: Mapped[str] = mapped_column(String(20), default="")
    unit: Mapped[str] = mapped_column(String(20), default="")
    room: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(10), default="active")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community: Mapped[Community] = relationship()
