"""One hierarchy of domain errors.

Each error carries a machine ``code`` and parameters; the web layer turns them into a
translated sentence. Nothing here knows about HTTP.
"""

from __future__ import annotations

from typing import Any


class VotingError(Exception):
    """Base of every rule the service refuses to break."""

    code = "voting_error"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        self.code = code or self.code
        self.params = params
        super().__init__(self.code, params)


class InvalidInput(VotingError):
    """Input that breaks a rule of shape or range (bad ID number, negative cost…)."""

    code = "invalid_input"


class BallotRuleViolation(VotingError):
    """A ballot that breaks the round's ballot rule."""

    code = "ballot_rule"


class AlreadyVoted(VotingError):
    """The resident has already cast a ballot in this round."""

    code = "already_voted"


class RoundNotOpen(VotingError):
    """Voting is not possible now: the round is not open or outside its window."""

    code = "round_not_open"


class InvalidCode(VotingError):
    """A voting code that does not exist, is mistyped or has expired."""

    code = "invalid_code"


class InvalidTransition(VotingError):
    """A lifecycle step that the round's current state does not allow."""

    code = "invalid_transition"


class NotPermitted(VotingError):
    """The staff member's role or station does not allow this action."""

    code = "not_permitted"


class Conflict(VotingError):
    """The object changed state in a way that forbids this action (frozen, finalized…)."""

    code = "conflict"
