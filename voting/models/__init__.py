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
from .satisfaction import SatisfactionMeeting, SatisfactionRating, SatisfactionRule
from .staff import StaffUser
from .supervision import (
    Implementation,
    Milestone,
    ProgressUpdate,
    ProjectPhoto,
    SpotCheck,
    Suggestion,
    SupervisionVisit,
    VisitParticipant,
)
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
    "Implementation",
    "Milestone",
    "OtpChallenge",
    "PaperBallot",
    "PaperEntry",
    "Participation",
    "ProgressUpdate",
    "ProjectPhoto",
    "Resident",
    "RoundCandidate",
    "RoundCommunity",
    "SatisfactionMeeting",
    "SatisfactionRating",
    "SatisfactionRule",
    "SpotCheck",
    "StaffUser",
    "Station",
    "Street",
    "Suggestion",
    "SupervisionVisit",
    "VisitParticipant",
    "VotingCode",
    "VotingRound",
]
