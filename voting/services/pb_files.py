"""Reading and checking a Pabulib ``.pb`` file before it becomes a round.

``read_pb_data`` reads the whole file (voter columns dropped as they are read) and checks what
a round can hold: approval, choose-1 and cumulative ballots (ordinal only as approval, on
request; scoring never), whole points of at least 1, project ids of at most 64 characters,
non-negative costs, a positive budget. Costs and the budget become whole units of the file's
currency: a fractional cost is rounded up and a fractional budget down, so the round never
affords more than the file did. Every refusal is a ``PbImportError`` naming the line.

The rest maps the file's META onto the round's settings: outcome rule, choices range, points,
window, names.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from ..domain.ballots import BallotKind
from ..domain.errors import InvalidInput
from ..domain.pabulib import (
    PabulibFormatError,
    PbElection,
    PbProject,
    format_number,
    open_pb,
    parse_number,
    parse_pb,
)
from ..domain.tally import OutcomeRule

Progress = Callable[[str, int, int], None]

BATCH = 5_000  # progress is reported every BATCH ballots
# META ``rule`` → the round's outcome rule; every greedy variant and anything else → greedy.
RULES_FROM_PABULIB = {
    "equalshares": OutcomeRule.MES,
    "equalshares/greedy": OutcomeRule.MES_GREEDY,
    "equalshares/add1": OutcomeRule.MES_ADD1,
    "equalshares/add1-comparison": OutcomeRule.MES_ADD1,
    "equalshares/add1/greedy": OutcomeRule.MES_ADD1_GREEDY,
}


class PbImportError(InvalidInput):
    """A ``.pb`` file that cannot be imported; ``reason`` says why and ``line`` where."""

    code = "pb_import"


@dataclass(frozen=True)
class PbData:
    """A checked file: META, projects with whole-unit costs, ballots as project indices."""

    meta: dict[str, str]
    projects: tuple[PbProject, ...]
    costs: tuple[int, ...]
    budget: int
    kind: BallotKind
    # (indices into ``projects``, points or None), in file order.
    ballots: list[tuple[tuple[int, ...], tuple[int, ...] | None]]
    rounded: int  # costs and budget that were not whole units
    duplicates: int  # repeated ids inside ballots, collapsed as pabutools does
    vote_type: str

    @property
    def choices(self) -> int:
        return sum(len(ids) for ids, _ in self.ballots)


class _LineCounter:
    """The file's lines, counting how many the CSV reader has taken (for error messages)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = lines
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            self.number += 1
            yield line


# --- reading -------------------------------------------------------------------------------


def read_pb_data(
    data: bytes, *, ordinal_as_approval: bool = False, progress: Progress | None = None
) -> PbData:
    """Read and check a whole ``.pb`` file; raise PbImportError naming the line."""
    text_ = _decode(data)
    counter = _LineCounter(io.StringIO(text_, newline=""))
    with _located(text_, counter):
        return _read(counter, ordinal_as_approval, progress)


def read_election(data: bytes) -> PbElection:
    """The whole election without voter columns, for replaying a rule; errors name the line."""
    text_ = _decode(data)
    counter = _LineCounter(io.StringIO(text_, newline=""))
    with _located(text_, counter):
        election = parse_pb(counter, voter_data=False)
        _budget(election.meta)
        return election


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PbImportError(reason="not_utf8", line=data[: exc.start].count(b"\n") + 1) from None


@contextmanager
def _located(text_: str, counter: _LineCounter) -> Iterator[None]:
    """Turn every reading error into a PbImportError carrying the line it is about."""
    try:
        yield
    except PabulibFormatError as exc:
        params = {k: v for k, v in exc.params.items() if k != "line"}
        raise PbImportError(line=counter.number, **params) from None
    except csv.Error as exc:
        raise PbImportError(reason="csv", line=counter.number, detail=str(exc)) from None
    except PbImportError as exc:
        if "line" not in exc.params:
            exc.params["line"] = _locate(text_, exc.params) or counter.number
        raise


def _locate(text_: str, params: dict[str, object]) -> int | None:
    """The line of the META key or the (last) PROJECTS row an error names."""
    section, wanted = ("meta", params.get("key")) if "key" in params else ("projects", None)
    wanted = params.get("project", wanted)
    if wanted is None:
        return None
    found, current, header = None, "", None
    reader = csv.reader(io.StringIO(text_.removeprefix("\ufeff"), newline=""), delimiter=";")
    for row in reader:
        cells = [cell.strip() for cell in row]
        if len(cells) == 1 and cells[0].lower() in ("meta", "projects", "votes"):
            current, header = cells[0].lower(), None
        elif current == section and any(cells):
            if header is None:
                header = cells
                continue
            column = header.index("project_id") if "project_id" in header else 0
            if column < len(cells) and cells[column] == wanted:
                found = reader.line_num
    return found


def _read(counter: _LineCounter, ordinal_as_approval: bool, progress: Progress | None) -> PbData:
    stream = open_pb(counter, voter_data=False)
    meta, projects = stream.meta, stream.projects
    vote_type = meta.get("vote_type", "approval")
    if vote_type == "ordinal" and not ordinal_as_approval:
        raise PbImportError(reason="ordinal_refused", key="vote_type")
    if vote_type == "scoring":
        raise PbImportError(reason="scoring_refused", key="vote_type")
    costs, rounded = _costs(projects)
    budget, budget_rounded = _budget(meta)
    with_points = vote_type == "cumulative"
    index = {p.project_id: i for i, p in enumerate(projects)}
    total = _int_or_none(meta.get("num_votes")) or 0
    ballots: list[tuple[tuple[int, ...], tuple[int, ...] | None]] = []
    duplicates = 0
    for vote in stream.votes:
        ids = tuple(index[pid] for pid in vote.projects)
        points = _whole_points(vote.points) if with_points else None
        ballots.append((ids, points))
        duplicates += vote.duplicates
        if progress and len(ballots) % BATCH == 0:
            progress("read", len(ballots), max(total, len(ballots)))
    if progress:
        progress("read", len(ballots), len(ballots))
    kind = _kind(meta, with_points, costs, budget, ballots)
    return PbData(
        meta,
        projects,
        costs,
        budget,
        kind,
        ballots,
        rounded + budget_rounded,
        duplicates,
        vote_type,
    )


def _costs(projects: tuple[PbProject, ...]) -> tuple[tuple[int, ...], int]:
    """Whole-unit costs (a fractional cost is rounded up) and how many were rounded."""
    if not projects:
        raise PbImportError(reason="no_projects")
    seen: set[str] = set()
    for project in projects:
        if project.project_id in seen:
            raise PbImportError(reason="duplicate_project", project=project.project_id)
        seen.add(project.project_id)
        if len(project.project_id) > 64:
            raise PbImportError(reason="project_id_too_long", project=project.project_id[:70])
        if project.cost < 0:
            raise PbImportError(reason="negative_cost", project=project.project_id)
    costs = tuple(math.ceil(p.cost) for p in projects)
    return costs, sum(1 for p in projects if p.cost.denominator != 1)


def _budget(meta: dict[str, str]) -> tuple[int, int]:
    """The whole-unit budget (a fractional one is rounded down) and 1 if it was rounded."""
    if "budget" not in meta:
        raise PbImportError(reason="budget_missing", line=None)
    try:
        value = parse_number(meta["budget"], decimal_comma=True)
    except PabulibFormatError:
        raise PbImportError(reason="not_a_number", value=meta["budget"], key="budget") from None
    budget = math.floor(value)
    if budget <= 0:
        raise PbImportError(reason="budget_not_positive", value=meta["budget"], key="budget")
    return budget, int(value.denominator != 1)


def _whole_points(points: tuple[Fraction, ...] | None) -> tuple[int, ...]:
    values = points or ()
    for value in values:
        if value.denominator != 1 or value < 1:
            raise PbImportError(reason="points_not_whole", value=format_number(value))
    return tuple(int(v) for v in values)


def _int_or_none(value: str | None) -> int | None:
    try:
        return None if value is None else int(Fraction(value.strip()))
    except (ValueError, ZeroDivisionError):
        return None


def _kind(
    meta: dict[str, str],
    with_points: bool,
    costs: tuple[int, ...],
    budget: int,
    ballots: list[tuple[tuple[int, ...], tuple[int, ...] | None]],
) -> BallotKind:
    """Cumulative with points; knapsack when ballots are capped at the budget; else approval."""
    if with_points:
        return BallotKind.CUMULATIVE
    cap = meta.get("max_sum_cost")
    try:
        capped = cap is not None and math.floor(parse_number(cap, decimal_comma=True)) == budget
    except PabulibFormatError:
        capped = False
    if capped and all(sum(costs[i] for i in ids) <= budget for ids, _ in ballots):
        return BallotKind.KNAPSACK
    return BallotKind.APPROVAL


# --- the round's settings ------------------------------------------------------------------


def outcome_rule_of(meta: dict[str, str]) -> OutcomeRule:
    """The round's outcome rule for the file's META ``rule``."""
    return RULES_FROM_PABULIB.get(meta.get("rule", "").strip().lower(), OutcomeRule.GREEDY)


def choices_range(meta: dict[str, str], data: PbData) -> tuple[int, int]:
    """(min_choices, max_choices): META min/max_length, widened to what the ballots hold."""
    lengths = [len(ids) for ids, _ in data.ballots] or [1]
    low = max(1, min(_int_or_none(meta.get("min_length")) or 1, min(lengths)))
    high = max(_int_or_none(meta.get("max_length")) or 0, max(lengths), low)
    return low, high


def points_total(meta: dict[str, str], data: PbData) -> int | None:
    """A cumulative round's points: META max_sum_points, or the largest ballot if more."""
    if data.kind is not BallotKind.CUMULATIVE:
        return None
    largest = max((sum(p or ()) for _, p in data.ballots), default=1)
    return max(_int_or_none(meta.get("max_sum_points")) or 0, largest, 1)


def meta_day(value: str | None) -> date | None:
    """A META date: ``dd.mm.yyyy`` or a bare year (its first day); None if neither."""
    value = (value or "").strip()
    parts = value.split(".")
    try:
        if len(parts) == 3:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
        if len(parts) == 1 and len(value) == 4:
            return date(int(value), 1, 1)
    except ValueError:
        return None
    return None


def window(meta: dict[str, str], now: datetime) -> tuple[datetime, datetime]:
    """opens_at / closes_at: the file's first day at 00:00 UTC to the day after its last."""
    begin, end = meta_day(meta.get("date_begin")), meta_day(meta.get("date_end"))
    if end is not None and len((meta.get("date_end") or "").strip()) == 4:
        end = date(end.year, 12, 31)  # a bare year ends on its last day
    closes_at = _utc(end) + timedelta(days=1) if end else None
    opens_at = _utc(begin) if begin else None
    if opens_at is None:
        opens_at = (closes_at or now) - timedelta(days=1)
    if closes_at is None or closes_at <= opens_at:
        closes_at = opens_at + timedelta(days=1)
    return opens_at, closes_at


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def clip(value: str, length: int) -> str:
    """``value`` cut to ``length`` characters, the cut marked with …."""
    value = " ".join(value.split())
    return value if len(value) <= length else value[: length - 1] + "…"


def street_name_of(meta: dict[str, str], fallback: str) -> str:
    words = [meta.get(k, "").strip() for k in ("country", "unit", "instance")]
    return clip("Pabulib: " + (" ".join(w for w in words if w) or fallback), 60)


def round_title_of(meta: dict[str, str], fallback: str) -> str:
    words = [meta.get(k, "").strip() for k in ("unit", "instance", "subunit")]
    return clip(" ".join(w for w in words if w) or fallback, 80)
