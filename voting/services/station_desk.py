"""The third channel, at the liaison station (联络站现场): check-in and paper ballots.

A resident without a phone brings their ID card. Staff type the number from the card; it is
matched through the keyed HMAC only and never stored or logged. Check-in records who took
part (a ``Participation`` with channel ``station``, the staff member and any assistance) in
one unit of work, the UNIQUE (round, resident) constraint being the guard against a second
ballot through any channel. The resident then fills in a paper ballot privately and drops it
in the box: nothing records which paper went to whom.

Each paper is entered twice, blind, by two different staff members. Matching readings are
counted (one anonymous ``Ballot``, or nothing for a spoiled paper, 废票); differing readings
go to an official, who reads the physical paper and records the authoritative third entry.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..domain import identity, lifecycle
from ..domain import staff as staff_rules
from ..domain.errors import (
    BallotRuleViolation,
    Conflict,
    InvalidInput,
    NotPermitted,
    RoundNotOpen,
    VotingError,
)
from ..domain.lifecycle import RoundStatus
from ..domain.staff import Role
from ..extensions import db
from ..models import (
    Ballot,
    Community,
    PaperBallot,
    PaperEntry,
    Participation,
    Resident,
    RoundCommunity,
    StaffUser,
    VotingRound,
)
from . import audit
from ._tx import begin_write, utcnow
from .voting import (
    add_ballot,
    add_participation,
    check_choices,
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
    if resident is None:
        raise InvalidInput("desk_not_on_roll")
    return _card(rnd, resident, now or utcnow())


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
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise previous_participation(round_id, resident_id) from None
    except VotingError:
        db.session.rollback()
        raise
    return now


# --- paper ballots -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One reading of a paper: the chosen candidate ids, or a spoiled paper (废票)."""

    invalid: bool
    choices: tuple[int, ...] = ()
    entry_no: int = 0
    entered_by: str = ""

    @property
    def stored(self) -> str:
        return ",".join(str(c) for c in self.choices)

    def same_as(self, other: Reading) -> bool:
        return (self.invalid, self.choices) == (other.invalid, other.choices)


def normalize_serial(raw: str) -> str:
    """The serial printed on the paper: folded, upper-cased, 1–30 of A–Z, 0–9 and '-'."""
    serial = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    if not serial or len(serial) > SERIAL_MAX or not set(serial) <= SERIAL_CHARS:
        raise InvalidInput("paper_serial_format", maximum=SERIAL_MAX)
    return serial


def _reading(round_id: int, choices: Collection[int], invalid: bool) -> Reading:
    """Validate a reading against the round's rule; a rule-breaking paper must be 废票."""
    if invalid:
        if choices:
            raise InvalidInput("paper_invalid_with_choices")
        return Reading(invalid=True)
    try:
        chosen = check_choices(round_id, list(choices))
    except BallotRuleViolation as err:
        raise BallotRuleViolation(f"paper_{err.code}", **err.params) from None
    return Reading(invalid=False, choices=tuple(sorted(chosen)))


def _ensure_can_enter(rnd: VotingRound, now: datetime) -> None:
    """Papers are entered while the round is open, also after its window has ended."""
    if rnd.status_enum is RoundStatus.OPEN and now >= rnd.opens_at:
        return
    if rnd.status_enum in (RoundStatus.CLOSED, RoundStatus.FINALIZED):
        raise RoundNotOpen("paper_round_closed")
    raise RoundNotOpen("paper_round_not_started")


def _insert_paper(round_id: int, serial: str) -> None:
    """Create the paper's row unless it exists (two first entries may race)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    values = {"round_id": round_id, "serial": serial, "state": "pending", "resolution_note": ""}
    db.session.execute(dialect.insert(PaperBallot).values(**values).on_conflict_do_nothing())


def _locked_paper(round_id: int, serial: str) -> PaperBallot | None:
    query = (
        select(PaperBallot)
        .where(PaperBallot.round_id == round_id, PaperBallot.serial == serial)
        .execution_options(populate_existing=True)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.scalar(query)


def _ensure_unsettled(paper: PaperBallot) -> None:
    if paper.state in ("counted", "invalid"):
        raise Conflict("paper_already_counted", serial=paper.serial)
    if paper.state == "mismatch":
        raise Conflict("paper_in_reconciliation", serial=paper.serial)


def _entries(round_id: int, serial: str) -> list[PaperEntry]:
    return list(
        db.session.scalars(
            select(PaperEntry)
            .where(PaperEntry.round_id == round_id, PaperEntry.serial == serial)
            .order_by(PaperEntry.entry_no)
        )
    )


def _as_reading(entry: PaperEntry, name: str = "") -> Reading:
    choices = tuple(int(c) for c in entry.choices.split(",") if c)
    return Reading(entry.invalid, choices, entry.entry_no, name)


def _add_entry(
    round_id: int, serial: str, entry_no: int, actor: StaffUser, reading: Reading, now: datetime
) -> None:
    db.session.add(
        PaperEntry(
            round_id=round_id,
            serial=serial,
            entry_no=entry_no,
            entered_by_id=actor.id,
            choices=reading.stored,
            invalid=reading.invalid,
            entered_at=now,
        )
    )
    db.session.flush()


def _settle(paper: PaperBallot, reading: Reading, rng: random.Random | None) -> str:
    """Count the paper: an anonymous ballot, or nothing for a spoiled paper."""
    if reading.invalid:
        paper.state = "invalid"
    else:
        add_ballot(paper.round_id, frozenset(reading.choices), rng)
        paper.state = "counted"
    db.session.flush()
    return paper.state


def _second_reading(
    paper: PaperBallot, first: PaperEntry, reading: Reading, rng: random.Random | None
) -> str:
    if _as_reading(first).same_as(reading):
        return _settle(paper, reading, rng)
    paper.state = "mismatch"
    db.session.flush()
    return "mismatch"


def _entry_refusal(actor: StaffUser, round_id: int, serial: str) -> VotingError:
    """After a constraint race, the sentence that explains it."""
    state = db.session.scalar(
        select(PaperBallot.state).where(
            PaperBallot.round_id == round_id, PaperBallot.serial == serial
        )
    )
    if state in ("counted", "invalid"):
        return Conflict("paper_already_counted", serial=serial)
    if state == "mismatch":
        return Conflict("paper_in_reconciliation", serial=serial)
    mine = db.session.scalar(
        select(PaperEntry.id).where(
            PaperEntry.round_id == round_id,
            PaperEntry.serial == serial,
            PaperEntry.entered_by_id == actor.id,
        )
    )
    if mine is not None:
        return NotPermitted("paper_same_staff", serial=serial)
    return Conflict("concurrent_change")


def enter_paper(
    actor: StaffUser,
    round_id: int,
    serial: str,
    choices: Collection[int],
    *,
    invalid: bool = False,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> str:
    """Record one blind reading of a paper ballot.

    Returns "pending" after a first entry; after the second, "counted" or "invalid" when
    both readings agree, "mismatch" when they do not (the paper goes to an official).
    """
    now = _minute(now)
    serial = normalize_serial(serial)
    begin_write()
    try:
        rnd = _locked_round(actor, round_id, Role.STATION)
        _ensure_can_enter(rnd, now)
        _insert_paper(round_id, serial)
        paper = _locked_paper(round_id, serial)
        if paper is None:  # inserted just above; only a concurrent delete could do this
            raise Conflict("concurrent_change")
        _ensure_unsettled(paper)
        entries = _entries(round_id, serial)
        if any(e.entered_by_id == actor.id for e in entries):
            raise NotPermitted("paper_same_staff", serial=serial)
        reading = _reading(round_id, choices, invalid)
        _add_entry(round_id, serial, len(entries) + 1, actor, reading, now)
        outcome = _second_reading(paper, entries[0], reading, rng) if entries else "pending"
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _entry_refusal(actor, round_id, serial) from None
    except VotingError:
        db.session.rollback()
        raise
    return outcome


# --- reconciliation (officials) ------------------------------------------------------------


def mismatched_papers(actor: StaffUser, round_id: int) -> list[str]:
    """Serials of the round's papers whose two readings differ, for an official."""
    _read_round(actor, round_id, Role.OFFICIAL)
    return list(
        db.session.scalars(
            select(PaperBallot.serial)
            .where(PaperBallot.round_id == round_id, PaperBallot.state == "mismatch")
            .order_by(PaperBallot.serial)
        )
    )


def paper_readings(actor: StaffUser, round_id: int, serial: str) -> list[Reading]:
    """The two differing readings of one paper, side by side, for an official."""
    _read_round(actor, round_id, Role.OFFICIAL)
    serial = normalize_serial(serial)
    paper = db.session.get(PaperBallot, (round_id, serial))
    if paper is None or paper.state != "mismatch":
        raise Conflict("paper_not_in_reconciliation", serial=serial)
    rows = db.session.execute(
        select(PaperEntry, StaffUser.display_name)
        .join(StaffUser, StaffUser.id == PaperEntry.entered_by_id)
        .where(PaperEntry.round_id == round_id, PaperEntry.serial == serial)
        .order_by(PaperEntry.entry_no)
    ).all()
    return [_as_reading(entry, name) for entry, name in rows]


def resolve_paper(
    actor: StaffUser,
    round_id: int,
    serial: str,
    choices: Collection[int],
    *,
    invalid: bool = False,
    note: str,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> str:
    """An official records the authoritative reading (entry 3); return "counted" or "invalid"."""
    now = now or utcnow()
    serial = normalize_serial(serial)
    note = note.strip()
    if not note:
        raise InvalidInput("paper_note_required")
    if len(note) > NOTE_MAX:
        raise InvalidInput("paper_note_too_long", maximum=NOTE_MAX)
    begin_write()
    try:
        rnd = _locked_round(actor, round_id, Role.OFFICIAL)
        _ensure_can_enter(rnd, now)
        paper = _locked_paper(round_id, serial)
        if paper is None or paper.state != "mismatch":
            raise Conflict("paper_not_in_reconciliation", serial=serial)
        reading = _reading(round_id, choices, invalid)
        _add_entry(round_id, serial, 3, actor, reading, _minute(now))
        outcome = _settle(paper, reading, rng)
        paper.resolved_by_id, paper.resolution_note = actor.id, note
        payload = {"round": round_id, "serial": serial, "outcome": outcome, "note": note}
        audit.record(
            actor, "paper.reconciled", ("paper_ballot", f"{round_id}:{serial}"), payload, now=now
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("concurrent_change") from None
    except VotingError:
        db.session.rollback()
        raise
    return outcome


# --- statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeskStats:
    """Participation by channel, station assistance, paper states, and the invariant."""

    by_channel: dict[str, int]
    assisted: int
    ballots: int
    papers: dict[str, int]
    helpers: list[tuple[str, int]] = field(default_factory=list)
    entries_by_staff: list[tuple[str, int]] = field(default_factory=list)

    @property
    def participations(self) -> int:
        return sum(self.by_channel.values())

    @property
    def uncounted(self) -> int:
        """Papers entered but not yet counted: waiting for a second entry or reconciliation."""
        return self.papers["pending"] + self.papers["mismatch"]

    @property
    def accounted(self) -> int:
        return self.ballots + self.papers["invalid"] + self.uncounted

    @property
    def gap(self) -> int:
        """Participations not (yet) matched by a ballot or a paper; negative is an alarm."""
        return self.participations - self.accounted

    @property
    def holds(self) -> bool:
        return self.gap == 0


def _counts(column, *where) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rows = db.session.execute(select(column, func.count()).where(*where).group_by(column))
    return {key: n for key, n in rows}


def round_stats(round_id: int) -> DeskStats:
    """Per-channel participations, assistance, paper states and the participation invariant."""
    channels = _counts(Participation.channel, Participation.round_id == round_id)
    papers = _counts(PaperBallot.state, PaperBallot.round_id == round_id)
    assisted = db.session.scalar(
        select(func.count())
        .select_from(Participation)
        .where(
            Participation.round_id == round_id,
            Participation.channel == CHANNEL,
            Participation.assisted_by != "",
        )
    )
    ballots = db.session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.round_id == round_id)
    )
    helpers = db.session.execute(
        select(Participation.assisted_by, func.count().label("n"))
        .where(Participation.round_id == round_id, Participation.assisted_by != "")
        .group_by(Participation.assisted_by)
        .order_by(func.count().desc(), Participation.assisted_by)
        .limit(10)
    ).all()
    entries = db.session.execute(
        select(StaffUser.display_name, func.count())
        .join(PaperEntry, PaperEntry.entered_by_id == StaffUser.id)
        .where(PaperEntry.round_id == round_id)
        .group_by(StaffUser.id, StaffUser.display_name)
        .order_by(func.count().desc(), StaffUser.display_name)
    ).all()
    return DeskStats(
        by_channel={c: channels.get(c, 0) for c in ("code", "sms", CHANNEL)},
        assisted=assisted or 0,
        ballots=ballots or 0,
        papers={s: papers.get(s, 0) for s in ("pending", "mismatch", "counted", "invalid")},
        helpers=[(name, n) for name, n in helpers],
        entries_by_staff=[(name, n) for name, n in entries],
    )


def paper_counts_for_close(round_id: int) -> tuple[int, int]:
    """(废票 papers, papers not yet counted) — what closing must allow for and wait on."""
    papers = _counts(PaperBallot.state, PaperBallot.round_id == round_id)
    return papers.get("invalid", 0), papers.get("pending", 0) + papers.get("mismatch", 0)
