"""Staff accounts and places (streets, communities, stations)."""

from __future__ import annotations

import secrets
from functools import cache

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.errors import InvalidInput
from ..domain.staff import Role
from ..extensions import db
from ..models import Community, StaffUser, Station, Street
from . import audit
from ._tx import begin_write, commit, utcnow

MIN_PASSWORD_LENGTH = 10


@cache
def _dummy_hash() -> str:
    """A real hash to check when the username is unknown, so both paths cost the same."""
    return generate_password_hash(secrets.token_hex(16))


def ensure_street(name: str, district: str = "") -> Street:
    """The street with this name, created if missing (commits)."""
    begin_write()
    street = db.session.scalar(select(Street).where(Street.name == name))
    if street is None:
        street = Street(name=name, district=district)
        db.session.add(street)
        db.session.flush()
        audit.record("cli", "street.created", ("street", street.id), {"name": name}, now=utcnow())
    commit()
    return street


def ensure_community(street: Street, name: str) -> Community:
    """The street's community with this name, created if missing (commits)."""
    begin_write()
    community = db.session.scalar(
        select(Community).where(Community.street_id == street.id, Community.name == name)
    )
    if community is None:
        community = Community(street_id=street.id, name=name)
        db.session.add(community)
        db.session.flush()
        audit.record(
            "cli", "community.created", ("community", community.id), {"name": name}, now=utcnow()
        )
    commit()
    return community


def ensure_station(
    street: Street, name: str, *, community: Community | None, address: str, hours: str
) -> Station:
    """The street's liaison station with this name, created or updated (commits)."""
    begin_write()
    station = db.session.scalar(
        select(Station).where(Station.street_id == street.id, Station.name == name)
    )
    if station is None:
        station = Station(street_id=street.id, name=name)
        db.session.add(station)
    station.community_id = community.id if community else None
    station.address, station.hours = address, hours
    db.session.flush()
    audit.record("cli", "station.saved", ("station", station.id), {"name": name}, now=utcnow())
    commit()
    return station


def create_staff(
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    street: Street,
    station: Station | None = None,
) -> StaffUser:
    """Create a staff account with a hashed password (commits)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password_too_short", minimum=MIN_PASSWORD_LENGTH)
    if (role is Role.STATION) != (station is not None):
        raise InvalidInput("station_role_mismatch")
    begin_write()
    if db.session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        db.session.rollback()
        raise InvalidInput("username_taken", username=username)
    user = StaffUser(
        username=username,
        display_name=display_name,
        role=role.value,
        password_hash=generate_password_hash(password),
        street_id=street.id,
        station_id=station.id if station else None,
        session_nonce=secrets.token_hex(8),
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "cli",
        "staff.created",
        ("staff", user.id),
        {"username": username, "role": role.value},
        now=utcnow(),
    )
    commit()
    return user


def authenticate(username: str, password: str) -> StaffUser | None:
    """The active account if the password matches; the same work either way."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    stored = user.password_hash if user else _dummy_hash()
    if not check_password_hash(stored, password) or user is None or not user.active:
        return None
    return user


def find_station(street: Street, name: str) -> Station | None:
    return db.session.scalar(
        select(Station).where(Station.street_id == street.id, Station.name == name)
    )


def find_street(name: str | None = None) -> Street | None:
    """The named street, or the only street when no name is given."""
    query = select(Street)
    if name:
        query = query.where(Street.name == name)
    streets = db.session.scalars(query.limit(2)).all()
    return streets[0] if len(streets) == 1 else None
