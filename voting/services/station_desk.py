"""The third channel, at the liaison station (联络站现场): check-in and paper ballots.

A resident without a phone brings their ID card. Staff type the number from the card; it is
matched through the keyed HMAC only and never stored or logged. Check-in records who took
part (a ``Participation`` with channel ``station``, the staff member and any assistance) in
one unit of work, the UNIQUE (round, resident) constraint being the guard against a second
ballot through any channel. The resident then fills in a paper ballot privately and drops it
in the box: nothing records which paper went to whom. Entering and counting the papers is
``services.paper_ballots``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain import identity, lifecycle
from ..domain import staff as staff_rules
from ..domain.errors import (
    Conflict,
    InvalidInput,
    NotPermitted,
    VotingError,
)
from ..domain.lifecycle import RoundStatus
from ..domain.staff import Role
from ..extensions import db
from ..models import (
    Community,
    Resident,
    RoundCommunity,
    StaffUser,
    VotingRound,
)
from . import audit
from ._tx import begin_write, commit, utcnow
from .voting import (
    add_participation,
    previous_participation,
    round_shared_lock,
)

CHANNEL = "station"
HELPER_MAX = 40  # Participation.assisted_by
REASON_MAX = 200  # Participation.assist_reason
NOTE_MAX = 500  # PaperBallot.resolution_note
SERIAL_MAX = 30  # PaperBallot.serial
SERIAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
UNSETTLED = ("pending", "mismatch")


# --- reading the desk's rounds and residents ---------------------------------------------


@dataclass(frozen=True)
class DeskRound:
    """A round the station desk can work on, with its phase now."""

    id: int
    title: str
    phase: str

    @property
    def check_in_open(self) -> bool:
        return self.phase == "voting"

    @property
    def entry_open(self) -> bool:
        return self.phase in ("voting", "ended")


@dataclass(frozen=True)
class ResidentCard:
    """What the desk shows after a lookup: no ID number, only its last four characters."""

    resident_id: int
    name: str
    id_tail: str
    community: str
    building: str
    unit: str
    room: str
    problem: str | None = None  # a message code; None means the resident may vote now
    voted_at: datetime | None = None
    channel: str | None = None

    @property
    def may_vote(self) -> bool:
        return self.problem is None


def _minute(now: datetime | None) -> datetime:
    """Times kept to the minute, as for every participation."""
    return (now or utcnow()).astimezone(UTC).replace(second=0, microsecond=0)


def _street_round(actor: StaffUser, rnd: VotingRound, *roles: Role) -> VotingRound:
    staff_rules.ensure_role(actor.role_enum, *roles)
    if rnd.street_id != actor.street_id:
        raise NotPermitted("other_street")
    return rnd


def _read_round(actor: StaffUser, round_id: int, *roles: Role) -> VotingRound:
    rnd = db.session.get(VotingRound, round_id)
    if rnd is None:
        raise Conflict("desk_round_unknown")
    return _street_round(actor, rnd, *roles)


def _locked_round(actor: StaffUser, round_id: int, *roles: Role) -> VotingRound:
    """The round under the lock close must wait for (inside the caller's unit of work)."""
    if db.session.get(VotingRound, round_id) is None:
        raise Conflict("desk_round_unknown")
    return _street_round(actor, round_shared_lock(round_id), *roles)


def _phase(rnd: VotingRound, now: datetime) -> str:
    return lifecycle.voting_phase(rnd.status_enum, rnd.opens_at, rnd.closes_at, now)


def desk_rounds(actor: StaffUser, *, now: datetime | None = None) -> list[DeskRound]:
    """Open rounds of the staff member's street, newest first, with their phase."""
    staff_rules.ensure_role(actor.role_enum, Role.STATION, Role.OFFICIAL)
    now = now or utcnow()
    rows = db.session.scalars(
        select(VotingRound)
        .where(
            VotingRound.street_id == actor.street_id,
            VotingRound.status == RoundStatus.OPEN.value,
        )
        .order_by(VotingRound.id.desc())
    )
    return [DeskRound(r.id, r.title, _phase(r, now)) for r in rows]


def desk_round(actor: StaffUser, round_id: int, *, now: datetime | None = None) -> DeskRound:
    """One round of the staff member's street (NotPermitted for another street's)."""
    rnd = _read_round(actor, round_id, Role.STATION, Role.OFFICIAL)
    return DeskRound(rnd.id, rnd.title, _phase(rnd, now or utcnow()))


def _in_scope(round_id: int, community_id: int) -> bool:
    found = db.session.scalar(
        select(RoundCommunity.community_id).where(
            RoundCommunity.round_id == round_id, RoundCommunity.community_id == community_id
        )
    )
    return found is not None


def _eligibility_problem(rnd: VotingRound, resident: Resident) -> str | None:
    if resident.status != "active":
        return "desk_moved_out"
    if not _in_scope(rnd.id, resident.community_id):
        return "desk_out_of_scope"
    return None


def find_resident(
    actor: StaffUser, round_id: int, raw_id: str, *, pepper: bytes, now: datetime | None = None
) -> ResidentCard:
    """Look a resident up by the ID number typed from their card (checked first, never kept)."""
    rnd = _read_round(actor, round_id, Role.STATION)
    problem = identity.id_number_problem(raw_id)
    if problem:
        raise InvalidInput(problem)
    resident = db.session.scalar(
        select(Resident)
        .join(Community, Community.id == Resident.community_id)
        .where(
            Resident.id_hmac == identity.id_hmac(pepper, raw_id),
            Community.street_id == actor.street_id,
        )
    )
    card = _card(rnd, resident, now or utcnow()) if resident else None
    _audit_lookup(actor, round_id, found=card is not None, now=now or utcnow())
    if card is None:
        raise InvalidInput("desk_not_on_roll")
    return card


def _audit_lookup(actor: StaffUser, round_id: int, *, found: bool, now: datetime) -> None:
    """Every look-up in the roll is a staff action on the audit chain (never the resident)."""
    begin_write()
    audit.record(actor, "desk.roll_lookup", ("round", round_id), {"found": found}, now=now)
    commit()


def resident_card(
    actor: StaffUser, round_id: int, resident_id: int, *, now: datetime | None = None
) -> ResidentCard:
    """The card of a resident already looked up (for the confirmation page)."""
    rnd = _read_round(actor, round_id, Role.STATION)
    resident = db.session.get(Resident, resident_id)
    if resident is None or resident.community.street_id != actor.street_id:
        raise InvalidInput("desk_not_on_roll")
    return _card(rnd, resident, now or utcnow())


def _card(rnd: VotingRound, resident: Resident, now: datetime) -> ResidentCard:
    card = ResidentCard(
        resident_id=resident.id,
        name=resident.name,
        id_tail=resident.id_tail,
        community=resident.community.name,
        building=resident.building,
        unit=resident.unit,
        room=resident.room,
    )
    previous = previous_participation(rnd.id, resident.id)
    if previous.params:
        return replace(
            card,
            problem="desk_already_voted",
            voted_at=previous.params["voted_at"],
            channel=previous.params["channel"],
        )
    problem = _eligibility_problem(rnd, resident)
    if problem is None and _phase(rnd, now) != "voting":
        problem = "desk_round_not_voting"
    return replace(card, problem=problem)


# --- check-in ----------------------------------------------------------------------------


def clean_assistance(assisted_by: str, assist_reason: str) -> tuple[str, str]:
    """Who helped and why: both or neither (raises InvalidInput)."""
    helper, reason = assisted_by.strip(), assist_reason.strip()
    if bool(helper) != bool(reason):
        raise InvalidInput("desk_assist_incomplete")
    if len(helper) > HELPER_MAX or len(reason) > REASON_MAX:
        raise InvalidInput("desk_assist_too_long", helper=HELPER_MAX, reason=REASON_MAX)
    return helper, reason


def _ensure_eligible(rnd: VotingRound, resident_id: int) -> None:
    resident = db.session.get(Resident, resident_id)
    if resident is None or resident.community.street_id != rnd.street_id:
        raise InvalidInput("desk_not_on_roll")
    problem = _eligibility_problem(rnd, resident)
    if problem:
        raise InvalidInput(problem)


def check_in(
    actor: StaffUser,
    round_id: int,
    resident_id: int,
    *,
    assisted_by: str = "",
    assist_reason: str = "",
    now: datetime | None = None,
) -> datetime:
    """Record that the resident takes part at the station; return the recorded time.

    Raises AlreadyVoted (with when and channel) if they took part through any channel.
    """
    now = _minute(now)
    helper, reason = clean_assistance(assisted_by, assist_reason)
    begin_write()
    try:
        rnd = _locked_round(actor, round_id, Role.STATION)
        lifecycle.ensure_can_vote(rnd.status_enum, rnd.opens_at, rnd.closes_at, now)
        previous = previous_participation(round_id, resident_id)
        if previous.params:  # the friendly check; the UNIQUE constraint is the guard
            raise previous
        _ensure_eligible(rnd, resident_id)
        add_participation(
            round_id,
            resident_id,
            CHANNEL,
            now,
            checked_in_by_id=actor.id,
            assisted_by=helper,
            assist_reason=reason,
        )
        # The staff member's act is on the chain; the resident is not (the participation row
        # already says who voted, and nothing here points to a paper).
        audit.record(
            actor, "desk.checked_in", ("round", round_id), {"assisted": bool(helper)}, now=now
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise previous_participation(round_id, resident_id) from None
    except VotingError:
        db.session.rollback()
        raise
    return now
