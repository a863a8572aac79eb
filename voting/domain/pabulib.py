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

``read_pb(path, voter_data=False)`` — what replaying a file needs — does not read the VOTES rows
one by one. When the section has no quote, no NUL, no blank line, its lines all end alike
(LF or CRLF, no other CR) and every row has the header's number of cells — checked at once on
the file's bytes with everything but ``;``, CR and LF deleted: true of every corpus file —
it cuts the vote (and points) cells out of the text with one regular expression (after each
line break, the cells up to the wanted ones), counts the distinct cells, and reads each
distinct cell once, the way a row is read. A plain cell — a comma list of known ids — is just
split: all of them at once, every id mapped to its project's number in one pass (any piece
that is not a known id, such as a blank, a space or an empty cell, sends every cell to the row
reader's way of reading a cell; repeats collapse where ballots are made). Anything else is
read row by row, so both ways accept, refuse and read the same files. The counted view is
``PbElection.ballot_counts``, ``approval_groups``, ``approval_counts`` and ``approval_index``
(ballots by project number, built once); the per-voter ``PbVote`` s are read from the kept
text the first time ``votes`` is used (``PbVotes``, equal to the tuple of them).
``dump_pb`` writes a valid file from the same dataclasses (the META counts are set from the
data, costs and points are written as exact decimals), and parsing it gives the same data back.
"""

from __future__ import annotations

import csv
import io
import re
from codecs import BOM_UTF8
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from itertools import chain, repeat
from operator import add, itemgetter
from pathlib import Path
from typing import overload

from .approvals import ApprovalIndex, index_flat, index_groups
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


Ballot = tuple[tuple[str, ...], tuple[Fraction, ...] | None]
"""A vote without its voter: the projects listed (duplicates collapsed) and their points."""


@dataclass(frozen=True, slots=True)
class PbElection:
    """A whole ``.pb`` file: META in file order, projects and votes in file order."""

    meta: dict[str, str] = field(hash=False)
    projects: tuple[PbProject, ...]
    votes: Sequence[PbVote]  # a tuple, or ``PbVotes`` (built on first use) from ``read_pb``
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

    def ballot_counts(self) -> dict[Ballot, int]:
        """How many voters cast each distinct vote (projects in order, and their points)."""
        if isinstance(self.votes, PbVotes):
            return self.votes.tally.ballot_counts()
        return dict(Counter((vote.projects, vote.points) for vote in self.votes))

    def approval_groups(self) -> dict[frozenset[str], int]:
        """How many voters listed each distinct set of projects."""
        if isinstance(self.votes, PbVotes):
            return self.votes.tally.approval_groups()
        return dict(Counter(frozenset(vote.projects) for vote in self.votes))

    def approval_index(self) -> ApprovalIndex:
        """The distinct approval ballots, projects numbered in file order."""
        if isinstance(self.votes, PbVotes):
            return self.votes.tally.approval_index()
        position = {p.project_id: i for i, p in enumerate(self.projects)}
        return index_groups(self.approval_groups().items(), position, len(self.projects))

    def approval_counts(self) -> dict[str, int]:
        """How many voters listed each project (every project, zero included)."""
        if isinstance(self.votes, PbVotes):
            listed = self.votes.tally.counts()
            return {project_id: listed[p] for project_id, p in self.votes.tally.position.items()}
        counts = dict.fromkeys((p.project_id for p in self.projects), 0)
        counts.update(Counter(chain.from_iterable(vote.projects for vote in self.votes)))
        return counts


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
        ids = list(project_ids)
        self.projects = len(ids)
        self.position = {project_id: i for i, project_id in enumerate(ids)}
        self.known = frozenset(self.position)
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
        points = cells[self.points_col] if self.with_points else ""
        projects, values, dropped = self.ballot(cells[self.vote_col], points, number)
        extra = {}
        for i, name in self.extra_cols:
            value = cells[i].strip()
            if value.lower() != "none":
                extra[name] = value
        return PbVote(cells[self.voter_col].strip(), projects, values, extra, dropped)

    def ballot(
        self, vote: str, points: str, number: int
    ) -> tuple[tuple[str, ...], tuple[Fraction, ...] | None, int]:
        """The vote and points cells of one row read: (projects, points, entries dropped)."""
        ids = self._ids(vote, number)
        if self.with_points:
            values = self._points(points, len(ids), number)
            merged = dict(zip(ids, values, strict=True))  # first position, last points
            return tuple(merged), tuple(merged.values()), len(ids) - len(merged)
        unique = tuple(dict.fromkeys(ids))
        return unique, None, len(ids) - len(unique)

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
    """Read a ``.pb`` file (UTF-8, BOM tolerated, any line ending).

    With ``voter_data=False`` the votes are counted at once and kept as text (``PbVotes``).
    """
    if voter_data:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return parse_pb(handle, voter_data=True)
    raw = Path(path).read_bytes()
    text = raw.decode("utf-8-sig")  # as the text reader, newlines kept
    return _parse_counted(text, raw) or parse_pb(io.StringIO(text, newline=""), voter_data=False)


def _parse_counted(text: str, raw: bytes) -> PbElection | None:
    """META and PROJECTS read row by row, VOTES counted from ``raw`` (the bytes ``text`` was
    decoded from); None where the row-by-row reader must decide (quoted cells, NUL, blank
    lines, a wrong number of cells, anything it would reject), so that both readers accept
    the same files and read them the same way."""
    head = _head(text)
    try:
        end, meta, project_header, projects, vote_header = _read_head(head)
    except PabulibFormatError:
        if head is text:
            raise
        end, meta, project_header, projects, vote_header = _read_head(text)
    reader = _VoteReader(
        vote_header,
        meta.get("vote_type", "approval"),
        (p.project_id for p in projects),
        voter_data=False,
    )
    start = len(text[:end].encode()) + (len(BOM_UTF8) if raw.startswith(BOM_UTF8) else 0)
    tally = _count_votes(text, end, raw, start, reader)
    if tally is None:
        return None
    votes = PbVotes(text, end, reader, *tally)
    return PbElection(meta, projects, votes, tuple(project_header), tuple(vote_header))


def _head(text: str) -> str:
    """``text`` up to the end of the line after the first line starting ``VOTES`` (the title
    and the header), where nothing before is quoted: the row reader reads the same rows from
    it, without copying a whole big file. Otherwise the whole text."""
    title = text.find("\nVOTES")
    header = text.find("\n", title + 1) if title >= 0 else -1
    end = text.find("\n", header + 1) if header >= 0 else -1
    if end < 0 or '"' in text[:end]:
        return text
    return text[: end + 1]


def _read_head(
    text: str,
) -> tuple[int, dict[str, str], list[str], tuple[PbProject, ...], list[str]]:
    """Where VOTES rows start in ``text``, META, the PROJECTS header and rows, and the VOTES
    header."""
    handle = io.StringIO(text, newline="")
    rows = _rows(_without_bom(handle))
    meta, project_header = _read_meta(rows)
    projects, vote_header = _read_projects(rows, project_header)
    return handle.tell(), meta, project_header, projects, vote_header


_NOT_SEPARATORS = bytes(sorted(set(range(256)) - set(b";\r\n")))


def _count_votes(
    text: str, start: int, raw: bytes, raw_start: int, reader: _VoteReader
) -> tuple[int, _Tally] | None:
    """How many VOTES rows there are and their distinct votes counted, without reading them
    one by one: they are ``text`` from ``start`` on (after a line break), decoded from
    ``raw`` from ``raw_start`` on (UTF-8 bytes: a fast check of every row's cells)."""
    if raw.find(b'"', raw_start) >= 0 or raw.find(b"\0", raw_start) >= 0:
        return None
    crlf = raw.find(b"\r", raw_start) >= 0
    stop = len(raw)
    while stop > raw_start and raw[stop - 1] in b"\r\n":
        stop -= 1
    # With only ``;``, CR and LF kept, a file whose lines all end alike (LF or CRLF; no CR
    # elsewhere) and have the header's number of cells is one short line again and again.
    # Bytes: in UTF-8 no character but these has one of their bytes. (The whole file's
    # separators less the head's and the final line breaks: no copy of a large text.)
    separators = raw.translate(None, _NOT_SEPARATORS)
    head = len(raw[:raw_start].translate(None, _NOT_SEPARATORS))
    skeleton = separators[head : len(separators) - (len(raw) - stop)]
    cells, newline = b";" * (reader.width - 1), b"\r\n" if crlf else b"\n"
    lines, rest = divmod(len(skeleton) + len(newline), len(cells) + len(newline))
    if rest or stop == raw_start or skeleton != (cells + newline) * (lines - 1) + cells:
        return None
    columns = [reader.vote_col, reader.points_col] if reader.with_points else [reader.vote_col]
    pattern = _span_pattern(min(columns), max(columns), reader.width, crlf)
    end = len(text) - (len(raw) - stop)  # without the final line breaks
    counted = Counter(pattern.findall(text, start - 1, end))
    if counted.total() != lines:
        return None
    try:
        if reader.with_points:
            pairs: Counter[tuple[str, str]] = Counter()
            vote, points = reader.vote_col - min(columns), reader.points_col - min(columns)
            for span, n in counted.items():
                span_cells = span.split(";")
                pairs[span_cells[vote], span_cells[points]] += n
            tally = _Tally.read(reader, pairs)
        else:
            tally = _Tally.count(reader, counted)
    except PabulibFormatError:
        return None
    return lines, tally


@cache
def _span_pattern(first: int, last: int, width: int, crlf: bool) -> re.Pattern[str]:
    """After each line break, cells ``first`` … ``last`` of a line (their ``;`` kept), in
    text whose every line has ``width`` cells and ends with LF, or CRLF if ``crlf``.

    The line break is a literal the search skips to fast, and a cell is read up to the next
    ``;`` (the fastest loop of ``re``), or to the line's end for the last cell: faster than
    splitting the text at every ``;``."""
    cells = ["[^;]*"] * (last + 1)
    if last == width - 1:
        cells[last] = "[^\r]*" if crlf else ".*"  # ``.`` stops at LF
    spans = ";".join(cells[first:])
    return re.compile("\n" + "".join(cell + ";" for cell in cells[:first]) + f"({spans})")


class _Tally:
    """The distinct votes of a VOTES section and how many voters cast each.

    Either ``plain``: each distinct vote cell is a comma list of known ids without blanks or
    spaces, so splitting it (and collapsing repeats) is reading it; or ``read``: each
    distinct cell (with its points) read as ``_VoteReader`` reads a row, with its voters (two
    cells may read the same: they are added up in ``ballot_counts``, when first asked for).
    """

    def __init__(
        self,
        reader: _VoteReader,
        plain: dict[str, int] | None,
        read: list[tuple[Ballot, int]] | None,
        numbers: list[int] | None = None,
    ) -> None:
        self.position = reader.position
        self.projects = reader.projects
        self.plain = plain
        self.read_cells = read
        self.ballots: dict[Ballot, int] | None = None
        self.numbers = numbers  # the plain cells' ids one after the other, by number
        self._groups: dict[frozenset[str], int] | None = None
        self._index: ApprovalIndex | None = None
        self._counts: list[int] | None = None

    @classmethod
    def count(cls, reader: _VoteReader, cells: Counter[str]) -> _Tally:
        try:  # plain: every piece between commas is a known id
            numbers = list(map(reader.position.__getitem__, ",".join(cells).split(",")))
        except KeyError:  # a blank, a space, an empty cell or an unknown id: read each
            return cls.read(reader, Counter({(cell, ""): n for cell, n in cells.items()}))
        return cls(reader, dict(cells), None, numbers)

    @classmethod
    def read(cls, reader: _VoteReader, cells: Counter[tuple[str, str]]) -> _Tally:
        read = [(reader.ballot(vote, points, 0)[:2], n) for (vote, points), n in cells.items()]
        return cls(reader, None, read)

    def ballot_counts(self) -> dict[Ballot, int]:
        if self.ballots is None:
            read: list[tuple[Ballot, int]]
            if self.read_cells is None:
                read = [
                    ((tuple(dict.fromkeys(cell.split(","))), None), n)
                    for cell, n in (self.plain or {}).items()
                ]
            else:
                read = self.read_cells
            self.ballots = {}
            for ballot, n in read:
                self.ballots[ballot] = self.ballots.get(ballot, 0) + n
        return self.ballots

    def counts(self) -> list[int]:
        """How many voters list each project (by number), counted once."""
        if self._counts is None:
            if self.plain is None and self._index is None:  # no index needed for counting
                counts, position = [0] * self.projects, self.position
                for group, n in self.approval_groups().items():
                    for project_id in group:
                        counts[position[project_id]] += n
                self._counts = counts
            else:
                self._counts = self.approval_index().counts()
        return self._counts

    def approval_index(self) -> ApprovalIndex:
        """The approval ballots by number (a plain cell is one group), built once."""
        if self._index is None:
            count = self.projects
            if self.plain is None:
                groups = self.approval_groups().items()
                self._index = index_groups(groups, self.position, count)
            else:
                lengths = list(map(add, map(str.count, self.plain, repeat(",")), repeat(1)))
                numbers = self.numbers or []
                self._index = index_flat(numbers, lengths, list(self.plain.values()), count)
        return self._index

    def approval_groups(self) -> dict[frozenset[str], int]:
        if self._groups is None:
            self._groups = self._add_up_groups()
        return self._groups

    def _add_up_groups(self) -> dict[frozenset[str], int]:
        if self.read_cells is not None:  # their points left aside: no need to add them up
            keys = [frozenset(projects) for (projects, _), _ in self.read_cells]
            counts = list(map(itemgetter(1), self.read_cells))
        else:
            plain = self.plain or {}
            keys = list(map(frozenset, map(str.split, plain, repeat(","))))
            counts = list(plain.values())
        return _add_up(keys, counts)


def _add_up(keys: list[frozenset[str]], counts: list[int]) -> dict[frozenset[str], int]:
    """``keys`` with their ``counts``, equal keys added up."""
    added = dict(zip(keys, counts, strict=True))  # the last count of each key
    if len(added) < len(keys):
        repeated = {key for key, times in Counter(keys).items() if times > 1}
        for key in repeated:
            added[key] = 0
        for key, n in zip(keys, counts, strict=True):
            if key in repeated:
                added[key] += n
    return added


class PbVotes(Sequence[PbVote]):
    """The votes of a file read with ``voter_data=False``: counted at once, kept as text.

    The outcome rules need only how many voters cast each distinct vote (``tally``), so
    reading stops there; the per-voter ``PbVote`` s are read from the kept VOTES text the
    first time they are asked for. Equal to the tuple of those votes.
    """

    def __init__(
        self, text: str, start: int, reader: _VoteReader, count: int, tally: _Tally
    ) -> None:
        self._text, self._start = text, start  # the rows: ``text`` from ``start`` on
        self._reader = reader
        self._count = count
        self.tally = tally
        self._votes: tuple[PbVote, ...] | None = None

    def _all(self) -> tuple[PbVote, ...]:
        if self._votes is None:
            handle = io.StringIO(self._text, newline="")
            handle.seek(self._start)
            rows = _rows(handle)
            self._votes = tuple(_iter_votes(rows, self._reader))
        return self._votes

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> PbVote: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[PbVote, ...]: ...

    def __getitem__(self, index: int | slice) -> PbVote | tuple[PbVote, ...]:
        return self._all()[index]

    def __iter__(self) -> Iterator[PbVote]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PbVotes | tuple):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"PbVotes({self._count} votes)"


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
