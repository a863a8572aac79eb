"""The open data of a closed round: everything needed to recompute its tally digest.

One zip, streamed, the same bytes on every download of the same round (no export time, no
audit head, entry times fixed to the close):

    README.txt       what the files are and how to rebuild the digest (docs/verify.md)
    round.csv        field,value — round id, title, window, rules, ballots, tally_digest
    candidates.csv   candidate_id, position, title, cost_yuan, votes, rank, rule_selected
    ballots.csv      choices, count — one row per distinct ballot, in the digest's order

``choices`` is the digest's ``<choices>`` field (``digest.ballot_key``): candidate ids
ascending, comma-separated, ``id*points`` where a cumulative ballot gives more than one point.
The CSV files are UTF-8 with a BOM, as the officials' export, so Excel shows the Chinese
titles; free text (titles, names) is neutralised against spreadsheet formulas, and none of
it enters the digest. Ballots are read grouped by content in SQL (``counting.ballot_groups``,
the very function close and ``tally verify`` use), so memory follows the number of distinct
ballots, not the number of ballots.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from werkzeug.exceptions import NotFound

from ..domain.digest import HEADER
from ..domain.lifecycle import RoundStatus
from ..models import VotingRound
from . import counting
from .results import neutralize
from .rounds import load_round

CANDIDATE_COLUMNS = (
    "candidate_id",
    "position",
    "title",
    "cost_yuan",
    "votes",
    "rank",
    "rule_selected",
)
BALLOT_COLUMNS = ("choices", "count")
ROWS_PER_CHUNK = 2_000
PUBLISHED = (RoundStatus.CLOSED, RoundStatus.FINALIZED)

README = """\
民生实事项目公开投票 · 开放数据 / open data of a public vote on livelihood projects

round.csv       本轮投票的基本信息和计票摘要 tally_digest（SHA-256）。
                The round: id, title, window, rules, number of ballots, tally_digest.
candidates.csv  每个候选项目：编号、投票序号、名称、估算金额（元）、得票、排名、是否按规则建议入选。
                One row per candidate: id, ballot position, title, cost in yuan, votes,
                rank, selected by the advisory rule (1/0).
ballots.csv     每种选票内容一行：所选项目编号（升序，逗号分隔；累计投票写作 编号*分数）和张数。
                One row per distinct ballot: the candidate ids it names, ascending and
                comma-separated (id*points for points above 1 on a cumulative ballot), and
                how many ballots had exactly that content. No names, no order, no times.

任何人都可以用这三个文件重新计算计票摘要（SHA-256），与公示、审计链上的摘要核对。
Anyone can recompute the digest from these files and compare it with the one on the notice
and in the audit chain. The canonical text, one line each, ending in a newline:

    voting-tally v1
    round <round_id>
    ballots <sum of count in ballots.csv>
    candidate <candidate_id> <cost_yuan> <votes>     ids ascending
    ballot <choices> <count>                         choices sorted as bytes

SHA-256 of that text (UTF-8) is the tally digest. A short script that does it with the
Python standard library, and recounts the votes from the ballots: tools/verify_digest.py in
the project's source, explained in docs/verify.md.
"""


def published_round(round_id: int) -> VotingRound:
    """The round if its results are public (closed or finalized); 404 otherwise."""
    rnd = load_round(round_id)
    if rnd.status_enum not in PUBLISHED:
        raise NotFound()
    return rnd


def round_rows(rnd: VotingRound) -> list[tuple[str, object]]:
    """round.csv: field, value."""
    return [
        ("format", HEADER),
        ("round_id", rnd.id),
        ("title", neutralize(rnd.title)),
        ("street", neutralize(rnd.street.name)),
        ("opens_at", rnd.opens_at.isoformat()),
        ("closes_at", rnd.closes_at.isoformat()),
        ("closed_at", rnd.closed_at.isoformat() if rnd.closed_at else ""),
        ("ballot_kind", rnd.ballot_kind),
        ("min_choices", rnd.min_choices),
        ("max_choices", rnd.max_choices),
        ("points_total", "" if rnd.points_total is None else rnd.points_total),
        ("budget_yuan", "" if rnd.budget_yuan is None else rnd.budget_yuan),
        ("seats", rnd.seats),
        ("outcome_rule", rnd.outcome_rule),
        ("ballots", rnd.ballot_count or 0),
        ("tally_digest", rnd.tally_digest or ""),
    ]


def candidate_rows(rnd: VotingRound) -> Iterator[tuple[object, ...]]:
    """candidates.csv rows, in ballot order, from the tally stored at close."""
    for e in rnd.entries:
        yield (
            e.candidate_id,
            e.position,
            neutralize(e.candidate.title),
            e.candidate.cost_yuan,
            e.public_votes or 0,
            e.public_rank or "",
            1 if e.rule_selected else 0,
        )


def ballot_rows(round_id: int) -> Iterator[tuple[str, int]]:
    """ballots.csv rows: (choices, count), sorted as the digest sorts them."""
    groups = counting.ballot_groups(round_id)
    for key in sorted(groups, key=lambda k: k.encode()):
        if groups[key]:
            yield key, groups[key]


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """A CSV file as UTF-8 chunks of a few thousand rows, BOM first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


class _Sink:
    """A write-only file for zipfile: it collects what is written until drained."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: ``drain`` hands the bytes on."""

    def close(self) -> None:
        """Nothing to close: the chunks are handed on as they come."""

    def drain(self) -> Iterator[bytes]:
        """What was written since the last drain, as one chunk (none if nothing was)."""
        if self._chunks:
            data = b"".join(self._chunks)
            self._chunks.clear()
            yield data


def _entry(name: str, stamp: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def open_data_zip(round_id: int, *, tz: str = "Asia/Shanghai") -> Iterator[bytes]:
    """The round's open-data zip as byte chunks, read from the database as it streams.

    It loads the round itself: rows a view loaded are detached by the time Flask runs a
    streamed body. A view calls ``published_round`` first, so a 404 comes before streaming.
    """
    rnd = published_round(round_id)
    stamp = (rnd.closed_at or rnd.closes_at).astimezone(ZoneInfo(tz))
    files: list[tuple[str, Iterable[bytes]]] = [
        ("README.txt", [README.encode()]),
        ("round.csv", csv_chunks(("field", "value"), round_rows(rnd))),
        ("candidates.csv", csv_chunks(CANDIDATE_COLUMNS, candidate_rows(rnd))),
        ("ballots.csv", csv_chunks(BALLOT_COLUMNS, ballot_rows(rnd.id))),
    ]
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compresslevel=6) as archive:
        for name, chunks in files:
            with archive.open(_entry(name, stamp), "w") as entry:
                for chunk in chunks:
                    entry.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()


def zip_filename(round_id: int) -> str:
    return f"round-{round_id}-open-data.zip"
