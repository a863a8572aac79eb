"""Every model, imported so the metadata is complete for Alembic and create_all."""

from .audit import AuditEvent
from .ballots import Ballot, BallotChoice, Participation, VotingCode
from .places import Community, Station, Street
from .projects import Candidate
from .residents import Resident
from .rounds import CouncilMeeting, RoundCandidate, RoundCommunity, VotingRound
from .staff import StaffUser

__all__ = [
    "AuditEvent",
    "Ballot",
    "BallotChoice",
    "Candidate",
    "Community",
    "CouncilMeeting",
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
