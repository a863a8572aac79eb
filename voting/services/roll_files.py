"""Reading a roll file — CSV (UTF-8) or XLSX (first sheet) — one row at a time.

Both formats yield the same rows: the Excel row or CSV line number, the cells by field name
as text, and the fields whose cell held a number Excel can no longer give back digit for
digit (an 18-digit ID number typed into a number cell becomes 3.30102194703183E+17).
An XLSX file is a zip archive: its entry count and declared uncompressed size are checked
against the limits before anything is parsed, and Python's zipfile never inflates an entry
past its declared size, so a zip bomb is refused without being expanded.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, NamedTuple
from xml.etree.ElementTree import ParseError

from flask import current_app
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ..domain.errors import InvalidInput

# Column headings accepted in the file, Chinese first.
COLUMNS = {
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "id_number"),
    "phone": ("手机号", "手机号码", "phone"),
    "community": ("社区", "community"),
    "building": ("楼栋", "楼幢", "building"),
    "unit": ("单元", "unit"),
    "room": ("房号", "室", "room"),
    "status": ("状态", "status"),
}
REQUIRED = ("name", "id_number", "community")

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 .xls format
EXCEL_MAX_ROW = 1_048_576
# Beyond 15 significant digits Excel keeps a number only approximately (and shows 1.1E+17).
EXACT_NUMBER_LIMIT = 1e15
XLSX_ERRORS = (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, ParseError, OSError)


@dataclass(frozen=True)
class Limits:
    """How large a roll file may be."""

    max_rows: int = 300_000
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_zip_entries: int = 1_000

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits set in the app configuration (defaults otherwise)."""
        return cls(
            max_rows=int(config.get("ROLL_MAX_ROWS", cls.max_rows)),
            max_uncompressed_bytes=int(
                config.get("ROLL_MAX_UNCOMPRESSED_BYTES", cls.max_uncompressed_bytes)
            ),
            max_zip_entries=int(config.get("ROLL_MAX_ZIP_ENTRIES", cls.max_zip_entries)),
        )

    @classmethod
    def current(cls) -> Limits:
        """The running app's limits."""
        return cls.from_config(current_app.config)


class RawRow(NamedTuple):
    """One data row as read: its line, its cells as text, the cells that held lossy numbers."""

    line: int
    values: dict[str, str]
    lossy: tuple[str, ...] = ()


@dataclass
class RollFile:
    """An opened roll file: its format, roughly how many rows, and the rows themselves."""

    kind: str
    estimated_rows: int
    rows: Iterator[RawRow]


@contextmanager
def open_roll(data: bytes, limits: Limits) -> Iterator[RollFile]:
    """Open ``data`` as XLSX (a zip archive) or else as UTF-8 CSV; refuse .xls and zip bombs."""
    if data.startswith(OLE_MAGIC):
        raise InvalidInput("roll_xls_legacy")
    if not data.startswith(ZIP_MAGIC):
        estimate = max(data.count(b"\n") - 1, 0)
        yield RollFile("csv", min(estimate, limits.max_rows), _csv_rows(data, limits))
        return
    check_zip(data, limits)
    with _open_workbook(data) as sheet:
        declared = sheet.max_row or 0
        sheet.reset_dimensions()  # some writers declare A1:A1; read what is really there
        estimate = min(max(declared - 1, 0), limits.max_rows)
        yield RollFile("xlsx", estimate, _xlsx_rows(sheet, limits))


def check_zip(data: bytes, limits: Limits) -> None:
    """Refuse an archive with too many entries or too much declared content, unextracted."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidInput("roll_bad_xlsx") from exc
    if len(entries) > limits.max_zip_entries:
        raise InvalidInput("roll_zip_entries", entries=len(entries), maximum=limits.max_zip_entries)
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_bytes:
        raise InvalidInput(
            "roll_zip_too_large",
            size=math.ceil(total / 2**20),
            maximum=limits.max_uncompressed_bytes // 2**20,
        )


@contextmanager
def _open_workbook(data: bytes) -> Iterator[Any]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; values are all we read.
            warnings.simplefilter("ignore", UserWarning)
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except XLSX_ERRORS as exc:
        raise InvalidInput("roll_bad_xlsx") from exc
    try:
        if not book.worksheets:
            raise InvalidInput("roll_no_sheet")
        yield book.worksheets[0]
    finally:
        book.close()


def _csv_rows(data: bytes, limits: Limits) -> Iterator[RawRow]:
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInput("roll_empty")
        mapping = map_header(header)
        rows = ((reader.line_num, row) for row in reader)
        yield from _records(rows, mapping, limits, _csv_cells)
    except UnicodeDecodeError as exc:
        raise InvalidInput("roll_encoding") from exc
    except csv.Error as exc:
        raise InvalidInput("roll_bad_csv", line=reader.line_num) from exc


def _xlsx_rows(sheet: Any, limits: Limits) -> Iterator[RawRow]:
    numbered = enumerate(sheet.iter_rows(values_only=True), start=1)
    try:
        mapping = _xlsx_header(numbered)
        yield from _records(numbered, mapping, limits, _xlsx_cells)
    except XLSX_ERRORS as exc:
        raise InvalidInput("roll_bad_xlsx") from exc


def _xlsx_header(numbered: Iterator[tuple[int, tuple[Any, ...]]]) -> dict[str, int]:
    """The first non-empty row is the header."""
    for _line, cells in numbered:
        texts = [_cell_text(value) or "" for value in cells]
        if any(texts):
            return map_header(texts)
    raise InvalidInput("roll_empty")


def _records(
    rows: Iterable[tuple[int, Any]],
    mapping: dict[str, int],
    limits: Limits,
    cells: Any,
) -> Iterator[RawRow]:
    """Skip empty rows, enforce the row limit, pick the mapped cells."""
    count = 0
    for line, row in rows:
        if line > EXCEL_MAX_ROW + 1:
            raise InvalidInput("roll_too_many_rows", maximum=limits.max_rows)
        record = cells(line, row, mapping)
        if record is None:
            continue
        count += 1
        if count > limits.max_rows:
            raise InvalidInput("roll_too_many_rows", maximum=limits.max_rows)
        yield record


def _csv_cells(line: int, row: list[str], mapping: dict[str, int]) -> RawRow | None:
    if not any(cell.strip() for cell in row):
        return None
    width = len(row)
    return RawRow(
        line, {name: (row[i].strip() if i < width else "") for name, i in mapping.items()}
    )


def _xlsx_cells(line: int, row: tuple[Any, ...], mapping: dict[str, int]) -> RawRow | None:
    width = len(row)
    values: dict[str, str] = {}
    lossy: list[str] = []
    for name, index in mapping.items():
        text = _cell_text(row[index]) if index < width else ""
        if text is None:
            lossy.append(name)
            text = ""
        values[name] = text
    if not lossy and not any(values.values()):
        return None
    return RawRow(line, values, tuple(lossy))


def _cell_text(value: object) -> str | None:
    """A cell as text; None for a number too large for Excel to have kept every digit."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _float_text(value: float) -> str | None:
    if not math.isfinite(value) or abs(value) >= EXACT_NUMBER_LIMIT:
        return None
    if value.is_integer():
        return str(int(value))  # 13905712468.0 → "13905712468", no ".0"
    return repr(value)


def map_header(header: list[str]) -> dict[str, int]:
    """Column index of each known field; refuse a header without the required columns."""
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
