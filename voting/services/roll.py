"""The resident roll: import from CSV, all or nothing.

ID numbers are validated (GB 11643 check digit) and stored only as a keyed HMAC plus their
last four characters; phones as a keyed HMAC plus their last four digits. Re-importing the
same file changes nothing; a resident already on the roll is updated in place.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..domain import identity
from ..domain.errors import InvalidInput
from ..extensions import db
from ..models import Community, Resident, Street
from . import audit
from ._tx import begin_write, commit, utcnow

# Column headings accepted in the file, Chinese first.
COLUMNS = {
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "id_number"),
    "phone": ("手机号", "手机号码", "phone"),
    "community": ("社区", "community"),
    "building": ("楼栋", "楼幢", "building"),
    "unit": ("单元", "unit"),
    "room": ("房号", "室", "room"),
}
REQUIRED = ("name", "id_number", "community")


@dataclass(frozen=True)
class RowError:
    line: int
    code: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    name: str
    id_hmac: str
    id_tail: str
    phone_hmac: str | None
    phone_last4: str
    community_id: int
    building: str
    unit: str
    room: str


def read_csv(data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row by field name) for a UTF-8 CSV (BOM optional)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("roll_encoding") from exc
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise InvalidInput("roll_empty")
    mapping = _map_header(header)
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        yield (
            reader.line_num,
            {
                name: (row[index].strip() if index < len(row) else "")
                for name, index in mapping.items()
            },
        )


def _map_header(header: list[str]) -> dict[str, int]:
    cleaned = [h.strip().lower() for h in header]
    mapping = {}
    for name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.lower() in cleaned:
                mapping[name] = cleaned.index(alias.lower())
                break
    missing = [name for name in REQUIRED if name not in mapping]
    if missing:
        raise InvalidInput("roll_missing_columns", columns=missing)
    return mapping


def _parse(
    rows: Iterable[tuple[int, dict[str, str]]], pepper: bytes, communities: dict[str, int]
) -> tuple[list[_Row], list[RowError]]:
    parsed, errors, seen = [], [], {}
    for line, row in rows:
        problem = _row_problem(row, communities)
        if problem:
            errors.append(RowError(line, problem))
            continue
        id_key = identity.id_hmac(pepper, row["id_number"])
        if id_key in seen:
            errors.append(RowError(line, "duplicate_in_file"))
            continue
        seen[id_key] = line
        phone = row.get("phone", "")
        parsed.append(
            _Row(
                line=line,
                name=row["name"],
                id_hmac=id_key,
                id_tail=identity.mask_tail(identity.normalize_id_number(row["id_number"])),
                phone_hmac=identity.phone_hmac(pepper, phone) if phone else None,
                phone_last4=identity.mask_tail(identity.normalize_phone(phone)) if phone else "",
                community_id=communities[row["community"]],
                building=row.get("building", ""),
                unit=row.get("unit", ""),
                room=row.get("room", ""),
            )
        )
    return parsed, errors


def _row_problem(row: dict[str, str], communities: dict[str, int]) -> str | None:
    if not row["name"] or len(row["name"]) > 40:
        return "name_missing"
    id_problem = identity.id_number_problem(row["id_number"])
    if id_problem:
        return id_problem
    if row.get("phone") and identity.phone_problem(row["phone"]):
        return "phone_format"
    if row["community"] not in communities:
        return "unknown_community"
    return None


def import_roll(
    data: bytes, *, street: Street, pepper: bytes, actor: str = "cli", now: datetime | None = None
) -> ImportReport:
    """Import a roll file for ``street``; any bad row aborts the whole import."""
    now = now or utcnow()
    communities = dict(
        db.session.execute(
            select(Community.name, Community.id).where(Community.street_id == street.id)
        ).all()
    )
    lines = list(read_csv(data))
    parsed, errors = _parse(lines, pepper, communities)
    report = ImportReport(rows=len(lines), errors=errors)
    if errors:
        raise InvalidInput("roll_rows", report=report)
    begin_write()
    existing = _existing_residents([p.id_hmac for p in parsed])
    for row in parsed:
        _upsert(existing.get(row.id_hmac), row, report, now)
    db.session.flush()
    audit.record(
        actor,
        "roll.imported",
        ("street", street.id),
        {"rows": report.rows, "created": report.created, "updated": report.updated},
        now=now,
    )
    commit()
    return report


def _existing_residents(keys: list[str], chunk: int = 5000) -> dict[str, Resident]:
    """Residents already on the roll, looked up in chunks (SQLite caps bound parameters)."""
    found: dict[str, Resident] = {}
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        found.update(
            (r.id_hmac, r)
            for r in db.session.scalars(select(Resident).where(Resident.id_hmac.in_(part)))
        )
    return found


def _upsert(resident: Resident | None, row: _Row, report: ImportReport, now: datetime) -> None:
    values = {
        "name": row.name,
        "id_tail": row.id_tail,
        "phone_hmac": row.phone_hmac,
        "phone_last4": row.phone_last4,
        "community_id": row.community_id,
        "building": row.building,
        "unit": row.unit,
        "room": row.room,
        "status": "active",
    }
    if resident is None:
        db.session.add(Resident(id_hmac=row.id_hmac, imported_at=now, **values))
        report.created += 1
    elif any(getattr(resident, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(resident, key, value)
        report.updated += 1
    else:
        report.unchanged += 1
