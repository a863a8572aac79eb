"""Every model, imported so the metadata is complete for Alembic and create_all."""

from ..extensions import Base
from .audit import AuditEvent
from .ballots import (
    Ballot,
    BallotChoice,
    OtpChallenge,
    PaperBallot,
    PaperEntry,
    Participation,
    VotingCode,
)
from .notices import CouncilNotice, Objection
from .places import Community, Station, Street
from .projects import Candidate, CandidatePhoto
from .residents import Resident
from .rounds import CouncilMeeting, RoundCandidate, RoundCommunity, VotingRound
from .staff import StaffUser
from .triggers import install as _install_triggers

_install_triggers(Base.metadata)

__all__ = [
    "AuditEvent",
    "Ballot",
    "BallotChoice",
    "Candidate",
    "CandidatePhoto",
    "Community",
    "CouncilMeeting",
    "CouncilNotice",
    "Objection",
    "OtpChallenge",
    "PaperBallot",
    "PaperEntry",
    "Participation",
    "Resident",
    "RoundCandidate",
    "RoundCommunity",
    "StaffUser",
    "Station",
    "Street",
    "VotingCode",
    "VotingRound",
]
