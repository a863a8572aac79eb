"""Staff roles and what each may touch.

* ``station`` — liaison-station staff, bound to one station: submit and edit that station's
  candidates only, import the roll, issue voting codes.
* ``official`` — the street's NPC working committee: review candidates, set up, open and
  close rounds, export tallies.
* ``clerk`` — the residents' council clerk: record the council's vote and finalize, and
  the later satisfaction vote (满意度测评).
* ``supervisor`` — a member of the street's supervision group (督办小组: deputies, council
  members, residents): record supervision rounds on site and close answered suggestions.

Candidates move submitted → accepted | rejected. Station staff may edit a candidate while
it is submitted or rejected (editing a rejected one resubmits it); an accepted candidate is
frozen, since it may already stand on a ballot. Every review carries a written reason.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import Conflict, InvalidInput, NotPermitted


class Role(StrEnum):
    STATION = "station"
    OFFICIAL = "official"
    CLERK = "clerk"
    SUPERVISOR = "supervisor"


class CandidateStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class IdeaSource(StrEnum):
    SEMINAR = "seminar"
    DOOR_TO_DOOR = "door_to_door"
    ONLINE = "online"


def ensure_role(role: Role, *allowed: Role) -> None:
    """Raise NotPermitted unless ``role`` is one of ``allowed``."""
    if role not in allowed:
        raise NotPermitted("role", role=str(role))


def ensure_station_owns(
    role: Role, staff_station_id: int | None, candidate_station_id: int
) -> None:
    """Station staff may only touch their own station's candidates."""
    ensure_role(role, Role.STATION)
    if staff_station_id != candidate_station_id:
        raise NotPermitted("other_station")


def ensure_editable(status: CandidateStatus) -> None:
    """Accepted candidates are frozen."""
    if status is CandidateStatus.ACCEPTED:
        raise Conflict("candidate_frozen")


def review_outcome(accept: bool, reason: str) -> CandidateStatus:
    """The status a review gives; every review needs a written reason."""
    if not reason.strip():
        raise InvalidInput("review_reason_required")
    return CandidateStatus.ACCEPTED if accept else CandidateStatus.REJECTED
