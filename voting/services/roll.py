"""The resident roll: import from CSV or XLSX, all or nothing, written in batches.

ID numbers are validated (GB 11643 check digit) and stored only as a keyed HMAC plus their
last four characters; phones as a keyed HMAC plus their last four digits. The whole file is
read and validated before anything is written; one bad row refuses the file. Then the rows
are compared with the roll batch by batch (one query per batch), new residents are inserted
and changed ones updated in bulk, and everything commits once at the end — so the roll is
never half-imported, even if the process dies. Re-importing the same file changes nothing.

An optional 状态 column marks residents 迁出 (moved out); a "full roll" of some communities
also marks their active residents who are missing from the file as moved out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, select, update

from ..domain import identity
from ..domain.errors import InvalidInput
from ..extensions import db
from ..models import Community, Resident, StaffUser, Street
from . import audit
from ._tx import begin_write, commit, utcnow
from .roll_files import COLUMNS, Limits, RawRow, open_roll

log = logging.getLogger(__name__)

BATCH_SIZE = 5_000
SAMPLE_ROWS = 5
READ_PROGRESS_EVERY = 2_000
NAME_MAX = 40
ADDRESS_MAX = 20  # the width of the building, unit and room columns
ACTIVE, MOVED_OUT = "active", "moved_out"
STATUS_WORDS = {
    "": ACTIVE,
    "在册": ACTIVE,
    "active": ACTIVE,
    "迁出": MOVED_OUT,
    "moved_out": MOVED_OUT,
    "moved out": MOVED_OUT,
}
# How Excel writes a number it could not keep whole: 3.30102E+17.
EXPONENT_FORM = re.compile(r"^[+-]?\d+(\.\d*)?[eE][+-]?\d+$")

# The stored fields compared on re-import, in _Row order after (line, id_hmac).
VALUE_FIELDS = (
    "name",
    "id_tail",
    "phone_hmac",
    "phone_last4",
    "community_id",
    "building",
    "unit",
    "room",
    "status",
)

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total); phase is "read" then "write"."""


@dataclass(frozen=True)
class RowError:
    """One bad row: its line (as Excel or a text editor numbers it) and why."""

    line: int
    code: str
    params: tuple[tuple[str, str | int], ...] = ()

    @property
    def details(self) -> dict[str, str | int]:
        """The message parameters (e.g. the line a duplicate first appeared on)."""
        return dict(self.params)


@dataclass(frozen=True)
class SampleRow:
    """A row as it will be stored, for the preview: the name masked, no ID, no phone."""

    name: str
    community: str
    building: str
    unit: str
    room: str
    status: str


@dataclass
class ImportReport:
    """What an import did, or a preview would do: counts, bad rows, masked samples."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    moved_out: int = 0  # active residents a 迁出 row moved out (also counted as updated)
    absent: int = 0  # active residents of a full-roll community missing from the file
    kind: str = "csv"
    errors: list[RowError] = field(default_factory=list)
    samples: list[SampleRow] = field(default_factory=list)

    @property
    def moved_out_total(self) -> int:
        """Everyone this import marks moved out, from 迁出 rows and from a full roll."""
        return self.moved_out + self.absent

    def counts(self) -> dict[str, int | str]:
        """The figures only (for the audit chain and the result page)."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "moved_out": self.moved_out,
            "absent_moved_out": self.absent,
            "format": self.kind,
        }


class _Row(NamedTuple):
    line: int
    id_hmac: str
    name: str
    id_tail: str
    phone_hmac: str | None
    phone_last4: str
    community_id: int
    building: str
    unit: str
    room: str
    status: str


@dataclass
class _Plan:
    """A validated file, ready to be compared with the roll and written."""

    rows: list[_Row]
    keys: dict[str, int]  # id_hmac → line
    full_roll: dict[int, str]  # community id → name
    report: ImportReport


class _Keyer:
    """identity.keyed_hash with the HMAC key schedule computed once, not once per row."""

    def __init__(self, pepper: bytes) -> None:
        self._base = hmac.new(pepper, digestmod=hashlib.sha256)

    def __call__(self, purpose: str, value: str) -> str:
        mac = self._base.copy()
        mac.update(f"{purpose}:{value}".encode())
        return mac.hexdigest()


def mask_name(name: str) -> str:
    """Surname and a mask: 王**."""
    return name[:1] + "*" * max(len(name) - 1, 1)


# --- reading and validating ---------------------------------------------------------------


class _Parser:
    """Validates rows one by one, keeping the good ones compactly and every error."""

    def __init__(self, pepper: bytes, communities: dict[str, int]) -> None:
        self.keyer = _Keyer(pepper)
        self.communities = communities
        self.count = 0
        self.rows: list[_Row] = []
        self.keys: dict[str, int] = {}
        self.errors: list[RowError] = []

    def feed(self, raw: RawRow) -> None:
        self.count += 1
        problem = _row_problem(raw, self.communities)
        if problem is not None:
            self.errors.append(RowError(raw.line, *problem))
            return
        number = identity.normalize_id_number(raw.values["id_number"])
        key = self.keyer("id", number)
        first = self.keys.get(key)
        if first is not None:
            self.errors.append(RowError(raw.line, "duplicate_in_file", (("first", first),)))
            return
        self.keys[key] = raw.line
        self.rows.append(self._row(raw, key, number))

    def _row(self, raw: RawRow, key: str, number: str) -> _Row:
        values = raw.values
        phone = identity.normalize_phone(values.get("phone", ""))
        return _Row(
            line=raw.line,
            id_hmac=key,
            name=values["name"],
            id_tail=number[-4:],
            phone_hmac=self.keyer("phone", phone) if phone else None,
            phone_last4=phone[-4:],
            community_id=self.communities[values["community"]],
            # Buildings, units and rooms repeat across the roll: share one string each.
            building=sys.intern(values.get("building", "")),
            unit=sys.intern(values.get("unit", "")),
            room=sys.intern(values.get("room", "")),
            status=STATUS_WORDS[values.get("status", "").lower()],
        )


Problem = tuple[str, tuple[tuple[str, str | int], ...]]


def _row_problem(raw: RawRow, communities: dict[str, int]) -> Problem | None:
    if raw.lossy:
        return _lossy_problem(raw.lossy)
    return _person_problem(raw.values) or _place_problem(raw.values, communities)


def _lossy_problem(lossy: tuple[str, ...]) -> Problem:
    if "id_number" in lossy:
        return ("id_as_number", ())
    if "phone" in lossy:
        return ("phone_as_number", ())
    return ("cell_as_number", (("column", COLUMNS[lossy[0]][0]),))


def _person_problem(values: dict[str, str]) -> Problem | None:
    name = values["name"]
    if not name:
        return ("name_missing", ())
    if len(name) > NAME_MAX:
        return ("name_too_long", ())
    if EXPONENT_FORM.match(values["id_number"]):
        return ("id_as_number", ())
    id_problem = identity.id_number_problem(values["id_number"])
    if id_problem:
        return (id_problem, ())
    phone = values.get("phone", "")
    if phone and EXPONENT_FORM.match(phone):
        return ("phone_as_number", ())
    if phone and identity.phone_problem(phone):
        return ("phone_format", ())
    return None


def _place_problem(values: dict[str, str], communities: dict[str, int]) -> Problem | None:
    if values["community"] not in communities:
        return ("unknown_community", ())
    if any(len(values.get(name, "")) > ADDRESS_MAX for name in ("building", "unit", "room")):
        return ("address_too_long", ())
    if values.get("status", "").lower() not in STATUS_WORDS:
        return ("status_unknown", ())
    return None


def _communities(street_id: int) -> dict[str, int]:
    return dict(
        db.session.execute(
            select(Community.name, Community.id).where(Community.street_id == street_id)
        ).all()
    )


def _full_roll(
    communities: dict[str, int], names: Collection[str], everyone: bool
) -> dict[int, str]:
    """The communities whose complete roll the file is, by id."""
    if everyone:
        return {cid: name for name, cid in communities.items()}
    unknown = [name for name in names if name not in communities]
    if unknown:
        raise InvalidInput("full_roll_unknown_community", community="、".join(unknown))
    return {communities[name]: name for name in names}


def _read(
    data: bytes,
    street_id: int,
    pepper: bytes,
    full_roll: tuple[Collection[str], bool],
    progress: Progress | None,
) -> _Plan:
    """Read and validate the whole file; nothing is written."""
    communities = _communities(street_id)
    full = _full_roll(communities, *full_roll)
    parser = _Parser(pepper, communities)
    with open_roll(data, Limits.current()) as roll:
        for raw in roll.rows:
            parser.feed(raw)
            if progress and parser.count % READ_PROGRESS_EVERY == 0:
                progress("read", parser.count, max(roll.estimated_rows, parser.count))
        kind = roll.kind
    if progress:
        progress("read", parser.count, parser.count)
    report = ImportReport(rows=parser.count, kind=kind, errors=parser.errors)
    names = {cid: name for name, cid in communities.items()}
    report.samples = [_sample(row, names) for row in parser.rows[:SAMPLE_ROWS]]
    if not report.errors:
        _check_full_roll_covered(full, parser.rows)
    return _Plan(parser.rows, parser.keys, full, report)


def _sample(row: _Row, community_names: dict[int, str]) -> SampleRow:
    return SampleRow(
        mask_name(row.name),
        community_names[row.community_id],
        row.building,
        row.unit,
        row.room,
        row.status,
    )


def _check_full_roll_covered(full: dict[int, str], rows: list[_Row]) -> None:
    """A "complete roll" without a single row for a community is a mistake, not a move-out."""
    present = {row.community_id for row in rows}
    missing = [name for cid, name in full.items() if cid not in present]
    if missing:
        raise InvalidInput("full_roll_community_empty", community="、".join(missing))


# --- comparing and writing ----------------------------------------------------------------

_COMPARED = (Resident.id, Resident.id_hmac, *(getattr(Resident, f) for f in VALUE_FIELDS))


def _apply(
    plan: _Plan, *, now: datetime, write: bool, batch_size: int, progress: Progress | None
) -> None:
    """Compare the plan with the roll batch by batch; with ``write``, also write each batch."""
    rows = plan.rows
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        inserts, updates = _compare_batch(batch, plan.report, now)
        if write:
            write_batch(inserts, updates)
        if progress:
            progress("write", start + len(batch), len(rows))
    plan.report.absent = _absent(plan, write=write)


def _compare_batch(
    batch: list[_Row], report: ImportReport, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split a batch into rows to insert and rows to update; count the unchanged."""
    found = db.session.execute(
        select(*_COMPARED).where(Resident.id_hmac.in_([row.id_hmac for row in batch]))
    ).all()
    existing = {stored.id_hmac: tuple(stored) for stored in found}
    inserts, updates = [], []
    for row in batch:
        values = tuple(row)[2:]
        stored = existing.get(row.id_hmac)
        if stored is None:
            inserts.append({"id_hmac": row.id_hmac, "imported_at": now, **_fields(values)})
        elif stored[2:] != values:
            if stored[-1] == ACTIVE and row.status == MOVED_OUT:
                report.moved_out += 1
            updates.append({"id": stored[0], **_fields(values)})
        else:
            report.unchanged += 1
    report.created += len(inserts)
    report.updated += len(updates)
    return inserts, updates


def _fields(values: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(VALUE_FIELDS, values, strict=True))


def write_batch(inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
    """Insert one batch's new residents and update its changed ones (executemany, no commit)."""
    if inserts:
        # The Core table, not the ORM entity: no per-row ORM bookkeeping, one executemany.
        db.session.execute(insert(Resident.__table__), inserts)
    if updates:
        db.session.execute(update(Resident), updates)


def _absent(plan: _Plan, *, write: bool, chunk: int = 5_000) -> int:
    """Active residents of the full-roll communities missing from the file (marked if write)."""
    if not plan.full_roll:
        return 0
    current = db.session.execute(
        select(Resident.id, Resident.id_hmac).where(
            Resident.community_id.in_(list(plan.full_roll)), Resident.status == ACTIVE
        )
    ).all()
    absent = [resident_id for resident_id, key in current if key not in plan.keys]
    if write:
        for start in range(0, len(absent), chunk):
            db.session.execute(
                update(Resident)
                .where(Resident.id.in_(absent[start : start + chunk]))
                .values(status=MOVED_OUT)
                .execution_options(synchronize_session=False)
            )
    return len(absent)


# --- the two entry points -----------------------------------------------------------------


def preview_roll(
    data: bytes,
    *,
    street_id: int,
    pepper: bytes,
    full_roll: Collection[str] = (),
    full_roll_all: bool = False,
) -> ImportReport:
    """What importing ``data`` would do — counts, bad rows, masked samples; writes nothing."""
    plan = _read(data, street_id, pepper, (full_roll, full_roll_all), None)
    if not plan.report.errors:
        _apply(plan, now=utcnow(), write=False, batch_size=BATCH_SIZE, progress=None)
    return plan.report


def _lock_street(street_id: int) -> None:
    """One roll import per street at a time (PostgreSQL; SQLite's write lock already is).

    Without it, two imports of the same file could both find a resident missing and both
    insert them; the second would then fail on the UNIQUE ID key halfway through.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Street.id).where(Street.id == street_id).with_for_update())


def import_roll(
    data: bytes,
    *,
    street: Street,
    pepper: bytes,
    actor: StaffUser | str = "cli",
    now: datetime | None = None,
    full_roll: Collection[str] = (),
    full_roll_all: bool = False,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import a roll file for ``street`` in one transaction; any bad row aborts the whole import."""
    now = now or utcnow()
    plan = _read(data, street.id, pepper, (full_roll, full_roll_all), progress)
    if plan.report.errors:
        raise InvalidInput("roll_rows", report=plan.report)
    street_id = street.id
    begin_write()
    committed = False
    try:
        _lock_street(street_id)
        _apply(plan, now=now, write=True, batch_size=batch_size, progress=progress)
        payload = {**plan.report.counts(), "full_roll": sorted(plan.full_roll)}
        audit.record(actor, "roll.imported", ("street", street_id), payload, now=now)
        commit()
        committed = True
    finally:
        if not committed:  # whatever stopped us, leave the roll exactly as it was
            db.session.rollback()
    log.info("roll imported: %s", plan.report.counts())
    return plan.report
