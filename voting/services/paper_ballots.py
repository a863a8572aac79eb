"""Paper ballots at the station: blind double entry, reconciliation, statistics.

Each paper from the station box is entered twice, blind, by two different staff members.
Matching readings are counted (one anonymous ``Ballot``, or nothing for a spoiled paper,
废票); differing readings go to an official, who reads the physical paper and records the
authoritative third entry. Nothing links a paper to the resident who filled it in.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..domain.ballots import BallotKind
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
from ..models import Ballot, PaperBallot, PaperEntry, Participation, StaffUser, VotingRound
from . import audit
from ._tx import begin_write, utcnow
from .station_desk import (
    CHANNEL,
    NOTE_MAX,
    SERIAL_CHARS,
    SERIAL_MAX,
    _locked_round,
    _minute,
    _read_round,
)
from .voting import add_ballot, check_choices

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
    """Papers are entered while the round is open, also after its window has ended.

    Paper entry reads crosses (one point each): a cumulative round is voted online only.
    """
    if rnd.ballot_kind == BallotKind.CUMULATIVE:
        raise InvalidInput("paper_cumulative")
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
        add_ballot(paper.round_id, dict.fromkeys(reading.choices, 1), rng)
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
