"""The life of a round: draft → open → closed → finalized, one way only.

* An official opens a draft round; opening freezes its rules and candidate list.
* Residents can vote while the round is open **and** the clock is inside its window
  ``opens_at <= now < closes_at``.
* An official closes an open round. Closing before ``closes_at`` is allowed only with a
  written reason (the reason goes into the audit trail).
* The council clerk finalizes a closed round; after that nothing changes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from .errors import InvalidTransition, RoundNotOpen


class RoundStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    FINALIZED = "finalized"


class Action(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    FINALIZE = "finalize"


TRANSITIONS: dict[tuple[RoundStatus, Action], RoundStatus] = {
    (RoundStatus.DRAFT, Action.OPEN): RoundStatus.OPEN,
    (RoundStatus.OPEN, Action.CLOSE): RoundStatus.CLOSED,
    (RoundStatus.CLOSED, Action.FINALIZE): RoundStatus.FINALIZED,
}


def next_status(current: RoundStatus, action: Action) -> RoundStatus:
    """The status after ``action``, or raise InvalidTransition."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise InvalidTransition(status=str(current), action=str(action)) from None


def check_window(opens_at: datetime, closes_at: datetime) -> None:
    """Raise InvalidTransition unless the window is a positive interval."""
    if closes_at <= opens_at:
        raise InvalidTransition("window_order")


def check_close(closes_at: datetime, now: datetime, reason: str) -> None:
    """Closing before the window ends needs a written reason."""
    if now < closes_at and not reason.strip():
        raise InvalidTransition("early_close_needs_reason")


def voting_phase(
    status: RoundStatus, opens_at: datetime, closes_at: datetime, now: datetime
) -> str:
    """One of "draft", "not_started", "voting", "ended", "closed", "finalized"."""
    if status is RoundStatus.OPEN:
        if now < opens_at:
            return "not_started"
        return "voting" if now < closes_at else "ended"
    return str(status)


def ensure_can_vote(
    status: RoundStatus, opens_at: datetime, closes_at: datetime, now: datetime
) -> None:
    """Raise RoundNotOpen (with the phase) unless a ballot may be cast now."""
    phase = voting_phase(status, opens_at, closes_at, now)
    if phase != "voting":
        raise RoundNotOpen(phase=phase, opens_at=opens_at, closes_at=closes_at)


def results_visible(status: RoundStatus, running_results_public: bool) -> bool:
    """Results are public once voting is closed, or during it if the round says so."""
    if status in (RoundStatus.CLOSED, RoundStatus.FINALIZED):
        return True
    return status is RoundStatus.OPEN and running_results_public
