"""The 公示's objection period, and when the projects move on to implementation."""

from __future__ import annotations

from datetime import datetime

from ..domain import notice_period as rules
from ..domain.errors import Conflict
from ..domain.lifecycle import RoundStatus
from ..extensions import db
from ..models import CouncilNotice, VotingRound
from ._tx import utcnow


def notice_of(round_id: int) -> CouncilNotice | None:
    """The round's 公示, made when the council's decision was approved (None before)."""
    return db.session.get(CouncilNotice, round_id)


def objections_open(notice: CouncilNotice, now: datetime | None = None) -> bool:
    """True while residents may still file objections."""
    return rules.period_open(now or utcnow(), notice.objections_close_at)


def ensure_objections_open(round_id: int, now: datetime) -> None:
    """Raise Conflict unless the round has a 公示 whose objection period is running."""
    notice = notice_of(round_id)
    if notice is None:
        raise Conflict("notice_missing")
    if not objections_open(notice, now):
        raise Conflict("objection_period_over", closed_at=notice.objections_close_at)


def implementation_open(rnd: VotingRound, now: datetime | None = None) -> bool:
    """True when the council's decision is final and the objection period has ended.

    The implementation and supervision pages call this before letting projects move on.
    """
    if rnd.status_enum is not RoundStatus.FINALIZED:
        return False
    notice = notice_of(rnd.id)
    if notice is None:  # finalized before the 公示 existed: nothing is pending
        return True
    return not objections_open(notice, now)


def phase(rnd: VotingRound, now: datetime | None = None) -> str:
    """One of "none", "objections" (period running), "implementation" (after it)."""
    if rnd.status_enum is not RoundStatus.FINALIZED:
        return "none"
    return "implementation" if implementation_open(rnd, now) else "objections"
