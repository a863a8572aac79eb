"""Reading and writing Pabulib ``.pb`` files (participatory-budgeting open data).

A ``.pb`` file has three ``;``-separated CSV tables in this order: ``META`` (``key;value``),
``PROJECTS`` (``project_id;cost;…``) and ``VOTES`` (``voter_id;vote;…``); each starts with its
title line and a header line. Reading follows pabutools 1.2.3 (the reference implementation,
``pabutools.election.pabulib``), so that replaying a file gives the reference outcome:

* UTF-8 with or without a BOM; LF, CRLF or mixed line endings; blank lines are skipped.
* Standard CSV quoting: a field holding ``;`` or ``"`` is quoted and ``"`` doubled
  (Wrocław 2017 has names with ``;``). Every cell is stripped; a cell ``none`` (any case) is
  missing. Columns are found by their header name, not their position.
* Project ids are strings (``"10" < "9"``). Costs and the budget are exact ``Fraction`` s read
  from integer or decimal text (``100000.0``, ``1656699.67``); a decimal comma is accepted
  there, as pabutools does. Points are exact too.
* Duplicate ids inside one ballot (Warszawa 2026 Grochów ``2107,2107,…``, Częstochowa
  ``579,579,579,579``) are collapsed the way pabutools collapses them: approval and choose-1
  ballots become sets (first position kept), ordinal ballots keep the first position, and
  cumulative/scoring ballots keep the first position with the **last** occurrence's points.
  ``PbVote.duplicates`` counts the entries dropped, so the file's own ``votes``/``score``
  columns (which count every occurrence) can be explained.
* The file's own ``selected`` column (0/1, or 2/3 for the special cases the file's comment
  explains) is kept as ``PbProject.selected``; every other column is kept as text in ``extra``.

``open_pb`` reads META and PROJECTS and returns the votes as a lazy iterator, so a caller can
stream a 100,000-ballot file; ``parse_pb``/``read_pb`` build the whole ``PbElection``.
``dump_pb`` writes a valid file from the same dataclasses (the META counts are set from the
data, costs and points are written as exact decimals), and parsing it gives the same data back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .errors import InvalidInput

SECTIONS = ("meta", "projects", "votes")
POINTS_TYPES = frozenset({"cumulative", "scoring"})
SET_TYPES = frozenset({"approval", "choose-1"})
VOTE_TYPES = SET_TYPES | POINTS_TYPES | {"ordinal"}


class PabulibFormatError(InvalidInput):
    """A ``.pb`` text that cannot be read (the params say which line and why)."""

    code = "pabulib_format"


@dataclass(frozen=True, slots=True)
class PbProject:
    """One row of PROJECTS: id, exact cost, the file's ``selected`` flag, other columns."""

    project_id: str
    cost: Fraction
    selected: int | None = None
    extra: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class PbVote:
    """One row of VOTES: the listed project ids (duplicates collapsed) and their points."""

    voter_id: str
    projects: tuple[str, ...]
    points: tuple[Fraction, ...] | None = None
    extra: dict[str, str] = field(default_factory=dict, hash=False)
    duplicates: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class PbElection:
    """A whole ``.pb`` file: META in file order, projects and votes in file order."""

    meta: dict[str, str] = field(hash=False)
    projects: tuple[PbProject, ...]
    votes: tuple[PbVote, ...]
    project_columns: tuple[str, ...] = ("project_id", "cost")
    vote_columns: tuple[str, ...] = ("voter_id", "vote")

    @property
    def vote_type(self) -> str:
        return self.meta.get("vote_type", "approval")

    @property
    def budget(self) -> Fraction:
        return parse_number(self.meta["budget"], decimal_comma=True)

    @property
    def threshold(self) -> Fraction | None:
        """The file's ``min_project_score_threshold``, if any."""
        value = self.meta.get("min_project_score_threshold")
        return None if value is None else parse_number(value)

    @property
    def costs(self) -> dict[str, Fraction]:
        return {p.project_id: p.cost for p in self.projects}

    @property
    def file_selected(self) -> frozenset[str]:
        """Ids the file marks ``selected`` = 1."""
        return frozenset(p.project_id for p in self.projects if p.selected == 1)


@dataclass(frozen=True, slots=True)
class PbStream:
    """META and PROJECTS read, VOTES still to come (one ``PbVote`` per row)."""

    meta: dict[str, str]
    projects: tuple[PbProject, ...]
    project_columns: tuple[str, ...]
    vote_columns: tuple[str, ...]
    votes: Iterator[PbVote]


def parse_number(text: str, *, decimal_comma: bool = False) -> Fraction:
    """An exact number from integer or decimal text (``"100000.0"`` → 100000)."""
    if decimal_comma:
        text = text.replace(",", ".")
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise PabulibFormatError(reason="not_a_number", value=text) from exc


def _rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV rows (cells not yet stripped) and their 1-based row number."""
    for number, row in enumerate(csv.reader(lines, delimiter=";"), start=1):
        if len(row) > 1 or (row and row[0].strip()):
            yield number, row


def _title(cells: list[str]) -> str:
    return cells[0].strip().lower()


def _expect_title(rows: Iterator[tuple[int, list[str]]], title: str) -> list[str]:
    """Consume the section title and return its header line."""
    for number, cells in rows:
        if _title(cells) != title:
            raise PabulibFormatError(reason="expected_section", section=title, line=number)
        for _, header in rows:
            return [cell.strip() for cell in header]
    raise PabulibFormatError(reason="missing_section", section=title)


def _read_meta(rows: Iterator[tuple[int, list[str]]]) -> tuple[dict[str, str], list[str]]:
    """META rows as a dict, and the PROJECTS header that ends them."""
    _expect_title(rows, "meta")
    meta: dict[str, str] = {}
    for number, cells in rows:
        if _title(cells) == "projects":
            for _, header in rows:
                return meta, [cell.strip() for cell in header]
        if len(cells) < 2:
            raise PabulibFormatError(reason="meta_without_value", line=number)
        meta[cells[0].strip()] = cells[1].strip()
    raise PabulibFormatError(reason="missing_section", section="projects")


def _column(header: Sequence[str], name: str, section: str) -> int:
    try:
        return list(header).index(name)
    except ValueError:
        raise PabulibFormatError(reason="missing_column", column=name, section=section) from None


def _project(header: list[str], cells: list[str], number: int) -> PbProject:
    if len(cells) != len(header):
        raise PabulibFormatError(reason="wrong_cell_count", line=number)
    row = {
        key: value
        for key, value in zip(header, (cell.strip() for cell in cells), strict=True)
        if value.lower() != "none"
    }
    project_id = row.pop("project_id", "")
    cost = row.pop("cost", None)
    if not project_id or cost is None:
        raise PabulibFormatError(reason="project_without_id_or_cost", line=number)
    selected = row.pop("selected", None)
    try:
        flag = None if selected is None else int(Fraction(selected))
    except ValueError as exc:
        raise PabulibFormatError(reason="bad_selected", line=number) from exc
    return PbProject(project_id, parse_number(cost, decimal_comma=True), flag, row)


def _read_projects(
    rows: Iterator[tuple[int, list[str]]], header: list[str]
) -> tuple[tuple[PbProject, ...], list[str]]:
    """PROJECTS rows, and the VOTES header that ends them."""
    _column(header, "project_id", "projects")
    _column(header, "cost", "projects")
    projects: list[PbProject] = []
    for number, cells in rows:
        if _title(cells) == "votes":
            for _, vote_header in rows:
                return tuple(projects), [cell.strip() for cell in vote_header]
            break
        projects.append(_project(header, cells, number))
    raise PabulibFormatError(reason="missing_section", section="votes")


class _VoteReader:
    """Turns VOTES rows into ``PbVote`` s with pabutools' duplicate semantics."""

    def __init__(
        self, header: list[str], vote_type: str, project_ids: Iterable[str], voter_data: bool
    ) -> None:
        if vote_type not in VOTE_TYPES:
            raise PabulibFormatError(reason="unknown_vote_type", vote_type=vote_type)
        self.width = len(header)
        self.known = frozenset(project_ids)
        self.with_points = vote_type in POINTS_TYPES
        self.voter_col = _column(header, "voter_id", "votes")
        self.vote_col = _column(header, "vote", "votes")
        self.points_col = _column(header, "points", "votes") if self.with_points else -1
        skip = {self.voter_col, self.vote_col, self.points_col}
        self.extra_cols = [(i, name) for i, name in enumerate(header) if i not in skip]
        if not voter_data:
            self.extra_cols = []
        self.number_cache: dict[str, Fraction] = {}

    def read(self, number: int, cells: list[str]) -> PbVote:
        if len(cells) != self.width:
            raise PabulibFormatError(reason="wrong_cell_count", line=number)
        ids = self._ids(cells[self.vote_col], number)
        extra = {}
        for i, name in self.extra_cols:
            value = cells[i].strip()
            if value.lower() != "none":
                extra[name] = value
        voter_id = cells[self.voter_col].strip()
        if self.with_points:
            points = self._points(cells[self.points_col], len(ids), number)
            merged = dict(zip(ids, points, strict=True))  # first position, last points
            dropped = len(ids) - len(merged)
            return PbVote(voter_id, tuple(merged), tuple(merged.values()), extra, dropped)
        unique = tuple(dict.fromkeys(ids))
        return PbVote(voter_id, unique, None, extra, len(ids) - len(unique))

    def _ids(self, text: str, number: int) -> list[str]:
        ids = text.split(",")
        if " " in text:
            ids = [pid.strip() for pid in ids]
        if "" in ids:
            ids = [pid for pid in ids if pid]
        if not self.known.issuperset(ids):
            unknown = sorted(set(ids) - self.known)
            raise PabulibFormatError(reason="unknown_project", line=number, ids=unknown)
        return ids

    def _points(self, text: str, expected: int, number: int) -> list[Fraction]:
        parts = [part.strip() for part in text.split(",")] if text.strip() else []
        if len(parts) != expected:
            raise PabulibFormatError(reason="points_do_not_match_vote", line=number)
        cache = self.number_cache
        values = []
        for part in parts:
            value = cache.get(part)
            if value is None:
                value = cache[part] = parse_number(part)
            values.append(value)
        return values


def _iter_votes(rows: Iterator[tuple[int, list[str]]], reader: _VoteReader) -> Iterator[PbVote]:
    for number, cells in rows:
        yield reader.read(number, cells)


def open_pb(lines: Iterable[str], *, voter_data: bool = True) -> PbStream:
    """Read META and PROJECTS from ``lines`` now; the votes come lazily from ``.votes``.

    With ``voter_data=False`` the optional voter columns (age, sex, …) are not kept.
    """
    rows = _rows(_without_bom(lines))
    meta, project_header = _read_meta(rows)
    projects, vote_header = _read_projects(rows, project_header)
    reader = _VoteReader(
        vote_header,
        meta.get("vote_type", "approval"),
        (p.project_id for p in projects),
        voter_data,
    )
    return PbStream(
        meta, projects, tuple(project_header), tuple(vote_header), _iter_votes(rows, reader)
    )


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    iterator = iter(lines)
    for first in iterator:
        yield first.removeprefix("\ufeff")
        break
    yield from iterator


def parse_pb(lines: Iterable[str], *, voter_data: bool = True) -> PbElection:
    """The whole election from the lines of a ``.pb`` file (or ``text.splitlines()``)."""
    stream = open_pb(lines, voter_data=voter_data)
    return PbElection(
        stream.meta,
        stream.projects,
        tuple(stream.votes),
        stream.project_columns,
        stream.vote_columns,
    )


def read_pb(path: str | Path, *, voter_data: bool = True) -> PbElection:
    """Read a ``.pb`` file (UTF-8, BOM tolerated, any line ending)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return parse_pb(handle, voter_data=voter_data)


def parse_pb_text(text: str) -> PbElection:
    """The whole election from the text of a ``.pb`` file."""
    return parse_pb(io.StringIO(text, newline=""))


def format_number(value: Fraction | int) -> str:
    """Exact decimal text of a number with a terminating decimal expansion (1/4 → 0.25)."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    value = abs(value)
    digits = 0
    scaled = value
    while scaled.denominator != 1:
        if digits > 40:
            raise ValueError(f"{value} has no exact decimal form")
        scaled *= 10
        digits += 1
    whole, frac = divmod(scaled.numerator, 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}"


def _ordered_columns(first: Sequence[str], wanted: Iterable[str]) -> list[str]:
    columns = list(first)
    for name in wanted:
        if name not in columns:
            columns.append(name)
    return columns


def _project_row(project: PbProject, columns: Sequence[str]) -> list[str]:
    values = dict(project.extra)
    values["project_id"] = project.project_id
    values["cost"] = format_number(project.cost)
    if project.selected is not None:
        values["selected"] = str(project.selected)
    return [values.get(name, "None") for name in columns]


def _vote_row(vote: PbVote, columns: Sequence[str]) -> list[str]:
    bad = [pid for pid in vote.projects if "," in pid]
    if bad:
        raise ValueError(f"project ids with a comma cannot be written: {bad}")
    values = dict(vote.extra)
    values["voter_id"] = vote.voter_id
    values["vote"] = ",".join(vote.projects)
    if vote.points is not None:
        values["points"] = ",".join(format_number(p) for p in vote.points)
    return [values.get(name, "None") for name in columns]


def _meta_rows(election: PbElection) -> list[list[str]]:
    meta = dict(election.meta)
    meta["num_projects"] = str(len(election.projects))
    meta["num_votes"] = str(len(election.votes))
    return [["key", "value"], *([key, value] for key, value in meta.items())]


def dump_pb(election: PbElection) -> str:
    """A valid ``.pb`` text for ``election`` (LF line endings, minimal quoting)."""
    project_columns = _ordered_columns(
        ("project_id", "cost"),
        [
            *election.project_columns,
            *(key for p in election.projects for key in p.extra),
            *(["selected"] if any(p.selected is not None for p in election.projects) else []),
        ],
    )
    with_points = any(v.points is not None for v in election.votes)
    vote_columns = _ordered_columns(
        ("voter_id", "vote", *(("points",) if with_points else ())),
        [*election.vote_columns, *(key for v in election.votes for key in v.extra)],
    )
    if not with_points and "points" in vote_columns:
        vote_columns.remove("points")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["META"])
    writer.writerows(_meta_rows(election))
    writer.writerow(["PROJECTS"])
    writer.writerow(project_columns)
    writer.writerows(_project_row(p, project_columns) for p in election.projects)
    writer.writerow(["VOTES"])
    writer.writerow(vote_columns)
    writer.writerows(_vote_row(v, vote_columns) for v in election.votes)
    return out.getvalue()
