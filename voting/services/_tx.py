"""Helpers shared by the services' units of work."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from ..domain.errors import Conflict
from ..extensions import SQLITE_IMMEDIATE, db


def utcnow() -> datetime:
    return datetime.now(UTC)


def begin_write() -> None:
    """Start the unit of work holding the write lock (SQLite: BEGIN IMMEDIATE).

    A read-only transaction already open (the request's user lookup, say) is ended first:
    on SQLite a deferred transaction that later writes may fail to upgrade its lock, and
    on PostgreSQL the write should see a fresh snapshot anyway.
    """
    session = db.session()
    if session.in_transaction():
        session.rollback()
    session.connection(execution_options=SQLITE_IMMEDIATE)


def commit() -> None:
    """Commit; a constraint race becomes a Conflict the user can retry."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict("concurrent_change") from exc
