"""A closed round as a Pabulib ``.pb`` file (participatory-budgeting open data), streamed.

``pb_export(round_id)`` reads the round and its per-project counts now (and refuses a round
that is not closed) and returns the file as a lazy iterator of lines: the ballots are read
from the database ``yield_per`` rows at a time, in ballot-id order, and written as they come,
so a million-ballot round never sits in memory. The CLI writes the lines to a file; a web
view can stream the same iterator as a download.

What the file holds (see ``docs/decisions.md``, "Pabulib import and export"):

* META: for a street round, the round's title, ``country`` China, ``unit`` the street,
  ``instance`` the year, the window's dates (Beijing time), the ballot rule and a comment
  saying what ``selected`` means; for a round imported from a Pabulib file, the file's META
  as stored in ``pb_meta``. In both, ``num_projects``, ``num_votes``, ``budget``,
  ``vote_type`` and ``rule`` are written from the round itself.
* PROJECTS: ``project_id`` (the Pabulib id of an imported project, else the candidate id),
  cost, votes (and score = points on cumulative rounds), name, category and ``selected`` =
  the round's advisory selection (``rule_selected``), not the council's decision.
* VOTES: ``voter_id`` 1, 2, … in ballot-id order (ballot ids are random), ``vote`` and, on
  cumulative rounds, ``points`` (most points first). Nothing else: no resident, no receipt,
  no ballot id, no time.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from operator import itemgetter
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..domain.ballots import BallotKind
from ..domain.errors import Conflict
from ..domain.lifecycle import RoundStatus
from ..domain.tally import OutcomeRule
from ..extensions import db
from ..models import Ballot, BallotChoice, RoundCandidate, VotingRound
from . import counting
from .rounds import load_round

# The round's outcome rule as the META ``rule`` (Pabulib's names where it has one).
PB_RULE_NAMES = {
    OutcomeRule.TOP_N: "top-n",
    OutcomeRule.GREEDY: "greedy",
    OutcomeRule.MES: "equalshares",
    OutcomeRule.MES_GREEDY: "equalshares/greedy",
    OutcomeRule.MES_ADD1: "equalshares/add1",
    OutcomeRule.MES_ADD1_GREEDY: "equalshares/add1/greedy",
}
YIELD_PER = 5_000
_SPECIAL = (";", '"', "\n", "\r")


@dataclass(frozen=True)
class PbExport:
    """An export ready to stream: what it holds, and its lines (each ending in ``\\n``)."""

    round_id: int
    projects: int
    ballots: int
    lines: Iterator[str]


@dataclass(frozen=True)
class _Project:
    candidate_id: int
    pb_id: str
    position: int


def iter_pb_lines(round_id: int, *, tz: str = "Asia/Shanghai") -> Iterator[str]:
    """The round's ``.pb`` file, line by line (raises Conflict now if it is not closed)."""
    return pb_export(round_id, tz=tz).lines


def pb_export(round_id: int, *, tz: str = "Asia/Shanghai", yield_per: int = YIELD_PER) -> PbExport:
    """Read the round's header data now; the ballots are read while the lines are taken."""
    rnd = load_round(round_id)
    if rnd.status_enum not in (RoundStatus.CLOSED, RoundStatus.FINALIZED):
        raise Conflict("round_not_closed", status=rnd.status)
    ballots = counting.ballot_total(round_id)
    projects = [
        _Project(e.candidate_id, e.external_id or str(e.candidate_id), e.position)
        for e in rnd.entries
    ]
    ids = [p.pb_id for p in projects]
    if len(set(ids)) != len(ids) or any("," in pid for pid in ids):
        raise Conflict("pb_ids_unwritable")
    cumulative = rnd.ballot_kind == BallotKind.CUMULATIVE
    meta = _imported_meta(rnd, ballots) if rnd.pb_meta else _street_meta(rnd, ballots, tz)
    head = [
        *_section("META", ["key", "value"], list(meta.items())),
        *_section("PROJECTS", *_project_table(rnd, cumulative)),
        "VOTES\n",
        _line(["voter_id", "vote", "points"] if cumulative else ["voter_id", "vote"]),
    ]
    lines = _lines(head, round_id, projects, cumulative, yield_per)
    return PbExport(round_id, len(projects), ballots, lines)


def _lines(
    head: list[str],
    round_id: int,
    projects: list[_Project],
    cumulative: bool,
    yield_per: int,
) -> Iterator[str]:
    yield from head
    yield from _vote_lines(round_id, projects, cumulative, yield_per)


def _vote_lines(
    round_id: int, projects: list[_Project], cumulative: bool, yield_per: int
) -> Iterator[str]:
    """One line per ballot, read ``yield_per`` rows at a time in ballot-id order."""
    order = {p.candidate_id: (p.position, p.pb_id) for p in projects}
    plain = not any(ch in p.pb_id for p in projects for ch in _SPECIAL)
    query = (
        select(Ballot.id, BallotChoice.candidate_id, BallotChoice.points)
        .outerjoin(BallotChoice, BallotChoice.ballot_id == Ballot.id)
        .where(Ballot.round_id == round_id)
        .order_by(Ballot.id)
    )
    rows = db.session.execute(query, execution_options={"yield_per": yield_per})
    for voter, (_, items) in enumerate(groupby(rows, key=itemgetter(0)), start=1):
        chosen = sorted((-points, *order[cid]) for _, cid, points in items if cid is not None)
        vote = ",".join(pid for _, _, pid in chosen)
        cells = [str(voter), vote]
        if cumulative:
            cells.append(",".join(str(-negative) for negative, _, _ in chosen))
        yield ";".join(cells) + "\n" if plain else _line(cells)


def _line(cells: Sequence[str]) -> str:
    """One CSV line (``;``, quoted only where needed, LF)."""
    if not any(ch in cell for cell in cells for ch in _SPECIAL):
        return ";".join(cells) + "\n"
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerow(cells)
    return out.getvalue()


def _section(title: str, header: list[str], rows: list[Sequence[str]]) -> list[str]:
    return [f"{title}\n", _line(header), *(_line(row) for row in rows)]


def _project_table(rnd: VotingRound, cumulative: bool) -> tuple[list[str], list[list[str]]]:
    """PROJECTS: id, cost, votes (and score), name, category, selected; counted from rows."""
    counted = {
        cid: (n, points)
        for cid, n, points in db.session.execute(
            select(BallotChoice.candidate_id, func.count(), func.sum(BallotChoice.points))
            .where(BallotChoice.round_id == rnd.id)
            .group_by(BallotChoice.candidate_id)
        )
    }
    with_category = any(e.candidate.category for e in rnd.entries)
    header = ["project_id", "cost", "votes", *(["score"] if cumulative else []), "name"]
    header += ["category"] if with_category else []
    rows = []
    for entry in rnd.entries:
        votes, points = counted.get(entry.candidate_id, (0, 0))
        candidate = entry.candidate
        row = [entry.external_id or str(entry.candidate_id), str(candidate.cost_yuan), str(votes)]
        row += [str(int(points))] if cumulative else []
        row.append(_name(entry))
        row += [candidate.category or "None"] if with_category else []
        row.append("1" if entry.rule_selected else "0")
        rows.append(row)
    return [*header, "selected"], rows


def _name(entry: RoundCandidate) -> str:
    """The title; an imported project's full name, kept as its description's first paragraph."""
    candidate = entry.candidate
    if entry.external_id is not None and candidate.description:
        return candidate.description.partition("\n\n")[0]
    return candidate.title


def _budget(rnd: VotingRound) -> int:
    """The round's budget; a top-N round without one: the cost of what it selected."""
    if rnd.budget_yuan is not None:
        return rnd.budget_yuan
    selected = sum(e.candidate.cost_yuan for e in rnd.entries if e.rule_selected)
    return selected or sum(e.candidate.cost_yuan for e in rnd.entries) or 1


def _vote_type(rnd: VotingRound, stored: str = "") -> str:
    if rnd.ballot_kind == BallotKind.CUMULATIVE:
        return "cumulative"
    if stored == "choose-1" and rnd.max_choices == 1:
        return "choose-1"
    return "approval"


def _counts(rnd: VotingRound, ballots: int) -> dict[str, str]:
    return {
        "num_projects": str(len(rnd.entries)),
        "num_votes": str(ballots),
        "budget": str(_budget(rnd)),
    }


def _imported_meta(rnd: VotingRound, ballots: int) -> dict[str, str]:
    """The file's META as imported, with the counts, budget, vote type and rule of the round."""
    meta = {str(k): str(v) for k, v in json.loads(rnd.pb_meta).items()}
    meta.update(_counts(rnd, ballots))
    meta["vote_type"] = _vote_type(rnd, meta.get("vote_type", ""))
    meta["rule"] = PB_RULE_NAMES[OutcomeRule(rnd.outcome_rule)]
    return meta


def _street_meta(rnd: VotingRound, ballots: int, tz: str) -> dict[str, str]:
    """META of a street round, keys in the order of Pabulib's checker."""
    zone = ZoneInfo(tz)
    ended = min(rnd.closes_at, rnd.closed_at or rnd.closes_at) - timedelta(seconds=1)
    meta = {"description": rnd.title, "country": "China", "unit": rnd.street.name}
    if rnd.street.district:
        meta["district"] = rnd.street.district
    meta["instance"] = str(rnd.opens_at.astimezone(zone).year)
    meta.update(_counts(rnd, ballots))
    meta["vote_type"] = _vote_type(rnd)
    meta["rule"] = PB_RULE_NAMES[OutcomeRule(rnd.outcome_rule)]
    meta["date_begin"] = _day(rnd.opens_at, zone)
    meta["date_end"] = _day(max(ended, rnd.opens_at), zone)
    meta["min_length"], meta["max_length"] = str(rnd.min_choices), str(rnd.max_choices)
    meta.update(_ballot_limits(rnd))
    meta.update(language="zh", currency="CNY", comment=_comment(rnd))
    return meta


def _ballot_limits(rnd: VotingRound) -> dict[str, str]:
    if rnd.ballot_kind == BallotKind.KNAPSACK and rnd.budget_yuan is not None:
        limits = {"max_sum_cost": str(rnd.budget_yuan)}
        if rnd.min_spend_percent:
            low = math.ceil(rnd.budget_yuan * rnd.min_spend_percent / 100)
            limits = {"min_sum_cost": str(low), **limits}
        return limits
    if rnd.ballot_kind == BallotKind.CUMULATIVE and rnd.points_total is not None:
        return {"min_points": "1", "max_sum_points": str(rnd.points_total)}
    return {}


def _comment(rnd: VotingRound) -> str:
    rule = PB_RULE_NAMES[OutcomeRule(rnd.outcome_rule)]
    text = (
        f"#1: 民生实事票决 (residents' vote on livelihood projects), round {rnd.id}."
        f" selected = the advisory selection of rule {rule}, at most {rnd.seats} projects;"
        " the residents' council decides."
    )
    if rnd.budget_yuan is None:
        text += " #2: The round has no budget; budget is the cost of the selected projects."
    return text


def _day(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%d.%m.%Y}"
