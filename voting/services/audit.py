"""Appending to and verifying the audit chain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from ..domain.audit import GENESIS_HASH, AuditRecord, canonical_json, event_hash, first_break
from ..extensions import db
from ..models import AuditEvent, StaffUser

# Any constant: PostgreSQL serialises appends to the chain on this advisory lock.
_CHAIN_LOCK = 727_001


def record(
    actor: StaffUser | str,
    action: str,
    obj: tuple[str, Any],
    payload: dict[str, Any] | None = None,
    *,
    now: datetime,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (flush, no commit)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    head = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
    at = now.astimezone(UTC).replace(microsecond=0)
    actor_name = actor if isinstance(actor, str) else actor.username
    event = AuditEvent(
        seq=seq,
        at=at,
        actor_id=None if isinstance(actor, str) else actor.id,
        actor=actor_name,
        action=action,
        object_type=obj[0],
        object_id=str(obj[1]),
        payload=canonical_json(payload or {}),
        prev_hash=prev,
    )
    event.hash = event_hash(
        prev, seq, at.isoformat(), actor_name, action, obj[0], str(obj[1]), event.payload
    )
    db.session.add(event)
    db.session.flush()
    return event


def head_hash() -> str:
    """The hash of the newest event (what notices print), or the genesis hash."""
    value = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
    return value or GENESIS_HASH


def verify_chain() -> tuple[int, int | None]:
    """(number of events, sequence number of the first break or None)."""
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    records = [
        AuditRecord(
            e.seq,
            e.at.isoformat(),
            e.actor,
            e.action,
            e.object_type,
            e.object_id,
            e.payload,
            e.prev_hash,
            e.hash,
        )
        for e in rows
    ]
    return len(records), first_break(records)
