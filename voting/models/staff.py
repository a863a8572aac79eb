"""Staff accounts: station staff, officials and the council clerk."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.staff import Role
from ..extensions import db
from .places import Station, Street
from .types import UTCDateTime, enum_check, enum_column, utcnow


class StaffUser(UserMixin, db.Model):
    __tablename__ = "staff_user"
    __table_args__ = (
        enum_check("role", Role, "role"),
        # Station staff are bound to exactly one station; nobody else is.
        CheckConstraint(
            "(role = 'station') = (station_id IS NOT NULL)", name="station_iff_station_role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(enum_column(Role))
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # Changes on every password change or forced logout, so old session cookies stop working.
    session_nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    street: Mapped[Street] = relationship()
    station: Mapped[Station | None] = relationship()

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def role_enum(self) -> Role:
        return Role(self.role)
