"""Results for pages and exports: the stored tally after close, live counts before."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..domain import lifecycle
from ..domain.errors import NotPermitted
from ..domain.lifecycle import RoundStatus
from ..extensions import db
from ..models import Resident, RoundCandidate, RoundCommunity, VotingRound
from . import audit
from ._tx import begin_write, commit
from .rounds import count_round, load_round


@dataclass(frozen=True)
class ResultLine:
    entry: RoundCandidate
    votes: int
    rank: int
    selected: bool
    share: float  # of ballots cast, 0..1


@dataclass(frozen=True)
class RoundResults:
    round: VotingRound
    ballots: int
    eligible: int
    lines: list[ResultLine]
    final: bool  # counted at close (True) or running (False)

    @property
    def turnout_share(self) -> float:
        return self.ballots / self.eligible if self.eligible else 0.0


def eligible_count(round_id: int) -> int:
    """Active residents on the roll of the round's communities."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Resident)
            .join(RoundCommunity, RoundCommunity.community_id == Resident.community_id)
            .where(RoundCommunity.round_id == round_id, Resident.status == "active")
        )
        or 0
    )


def round_results(round_id: int, *, staff: bool = False) -> RoundResults:
    """Results if the public may see them (or ``staff`` asks); NotPermitted otherwise."""
    rnd = load_round(round_id)
    if not staff and not lifecycle.results_visible(rnd.status_enum, rnd.running_results_public):
        raise NotPermitted("results_hidden")
    by_id = {e.candidate_id: e for e in rnd.entries}
    if rnd.status_enum in (RoundStatus.CLOSED, RoundStatus.FINALIZED):
        ballots = rnd.ballot_count or 0
        rows = sorted(rnd.entries, key=lambda e: e.public_rank or 0)
        lines = [
            _line(e, e.public_votes or 0, e.public_rank or 0, bool(e.rule_selected), ballots)
            for e in rows
        ]
        final = True
    else:
        result = count_round(rnd)
        ballots = result.ballots
        lines = [
            _line(by_id[r.candidate_id], r.votes, r.rank, r.selected, ballots) for r in result.rows
        ]
        final = False
    return RoundResults(rnd, ballots, eligible_count(round_id), lines, final)


def _line(entry: RoundCandidate, votes: int, rank: int, selected: bool, ballots: int) -> ResultLine:
    return ResultLine(entry, votes, rank, selected, votes / ballots if ballots else 0.0)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> str:
    """Stop spreadsheet formula injection: prefix risky cells with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def tally_csv(round_id: int, *, actor_name: str, now: datetime) -> Iterator[str]:
    """The tally as CSV text, one chunk per row (UTF-8 BOM first, for Excel).

    It reads the counts stored at close (the live counts before), never the ballot rows.
    """
    results = round_results(round_id, staff=True)
    yield "\ufeff"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _tally_rows(results, actor_name, now):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _tally_rows(results: RoundResults, actor_name: str, now: datetime) -> Iterator[list[object]]:
    rnd = results.round
    header: list[object] = [
        "排名",
        "投票序号",
        "项目名称",
        "社区",
        "估算金额(元)",
        "得票",
        "得票率",
        "规则入选",
        "议事会得票",
        "议事会票选",
    ]
    yield header
    for line in results.lines:
        e = line.entry
        yield [
            line.rank,
            e.position,
            neutralize(e.candidate.title),
            neutralize(e.candidate.community.name),
            e.candidate.cost_yuan,
            line.votes,
            f"{line.share:.2%}",
            "是" if line.selected else "",
            "" if e.council_votes is None else e.council_votes,
            "是" if e.council_selected and rnd.status_enum is RoundStatus.FINALIZED else "",
        ]
    yield []
    yield ["投票活动", neutralize(rnd.title)]
    yield ["状态", rnd.status, "计票方式", "结束后计票" if results.final else "实时"]
    yield ["有效选票", results.ballots, "名册人数", results.eligible]
    if rnd.tally_digest:
        yield ["计票摘要(SHA-256)", rnd.tally_digest]
    yield ["审计链头哈希", audit.head_hash()]
    yield ["导出人", neutralize(actor_name), "导出时间(UTC)", now.isoformat()]


def record_export(actor, round_id: int, *, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Put the export in the audit chain (its own small unit of work)."""
    begin_write()
    audit.record(actor, "tally.exported", ("round", round_id), {"format": "csv"}, now=now)
    commit()
