"""Checking a closed round's sealed tally against its ballot rows and the audit chain.

Three independent records must agree: the ballot rows (recounted now by ``counting.verify``),
what close stored on the round (counts per candidate, ballot count, digest), and the digest
the ``round.closed`` audit event carries (``round.imported`` for a Pabulib replay). The
sealed batches' Merkle roots in the chain are recomputed too, unless asked not to: that is
one query per 50 ballots. Whether the chain itself is intact is ``flask audit verify``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from ..domain.errors import Conflict
from ..domain.lifecycle import RoundStatus
from ..extensions import db
from ..models import AuditEvent, VotingRound
from . import counting, sealing
from .rounds import load_round

SEALING_EVENTS = ("round.closed", "round.imported")


@dataclass(frozen=True)
class SealedEvent:
    seq: int
    action: str
    digest: str | None


@dataclass(frozen=True)
class TallyCheck:
    round: VotingRound
    counted: counting.Verification
    event: SealedEvent | None  # the audit event that sealed the tally
    broken_batches: tuple[int, ...] | None  # None: not checked

    @property
    def event_agrees(self) -> bool:
        return self.event is not None and self.event.digest == self.counted.digest

    @property
    def ok(self) -> bool:
        return self.counted.ok and self.event_agrees and not self.broken_batches


def sealing_event(round_id: int) -> SealedEvent | None:
    """The newest audit event that sealed the round's tally, if any."""
    row = db.session.execute(
        select(AuditEvent.seq, AuditEvent.action, AuditEvent.payload)
        .where(
            AuditEvent.object_type == "round",
            AuditEvent.object_id == str(round_id),
            AuditEvent.action.in_(SEALING_EVENTS),
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    digest = json.loads(row.payload).get("tally_digest")
    return SealedEvent(row.seq, row.action, digest if isinstance(digest, str) else None)


def check_tally(round_id: int, *, batches: bool = True) -> TallyCheck:
    """Recount a closed round and compare; Conflict(round_not_closed) before close."""
    rnd = load_round(round_id)
    if rnd.status_enum not in (RoundStatus.CLOSED, RoundStatus.FINALIZED):
        raise Conflict("round_not_closed", status=rnd.status)
    return TallyCheck(
        round=rnd,
        counted=counting.verify(rnd),
        event=sealing_event(round_id),
        broken_batches=tuple(sealing.verify_batches(round_id)) if batches else None,
    )
