"""Counting the public vote and the advisory outcome.

Counts: one vote per candidate named on a ballot.

Ranking (the street default): more votes first; on equal votes the cheaper candidate
first (the same support for less money leaves more for the rest); on equal cost, the lower
ballot position, which the official fixes before the round opens. The order is total, so
every export, page and the council's papers show the same ranking.

Outcome rules:

* ``top_n``  — the first N candidates of the ranking, N being the round's seats.
* ``greedy`` — walk down the ranking and take each candidate whose cost still fits in what
  is left of the budget; one that does not fit is skipped and the next one tried; stop
  when N candidates are taken (CONSUL's and Stanford PB's greedy, with the seat cap the
  council works to).
* ``mes``, ``mes_greedy``, ``mes_add1``, ``mes_add1_greedy`` — the Method of Equal Shares
  with cost satisfaction and its completions (``outcomes``), over the ballots' approval sets
  (a cumulative ballot approves the candidates it gives points to). Ties go by the ranking
  above, so the street's tie-break holds for every rule. The selection, in MES' order, is
  cut at N candidates like greedy's.

Votes are points: one per candidate named on an approval or knapsack ballot, the points
given on a cumulative ballot.

The result is advice to the residents' council, which decides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from . import outcomes
from .ballots import CandidateRef
from .errors import InvalidInput


class OutcomeRule(StrEnum):
    TOP_N = "top_n"
    GREEDY = "greedy"
    MES = "mes"
    MES_GREEDY = "mes_greedy"
    MES_ADD1 = "mes_add1"
    MES_ADD1_GREEDY = "mes_add1_greedy"

    @property
    def needs_budget(self) -> bool:
        return self is not OutcomeRule.TOP_N

    @property
    def needs_ballots(self) -> bool:
        """Whether the rule reads the ballots' approval sets, not only the counts."""
        return self.value.startswith("mes")


_MES_RULES = {
    OutcomeRule.MES: outcomes.mes,
    OutcomeRule.MES_GREEDY: outcomes.mes_then_greedy,
    OutcomeRule.MES_ADD1: outcomes.mes_add1,
    OutcomeRule.MES_ADD1_GREEDY: outcomes.mes_add1_then_greedy,
}

# Identical approval sets with how many ballots cast them.
ApprovalGroups = Sequence[tuple[frozenset[int], int]]


@dataclass(frozen=True)
class TallyRow:
    """One candidate's line in the result."""

    candidate_id: int
    votes: int
    rank: int
    tied: bool
    selected: bool


@dataclass(frozen=True)
class TallyResult:
    """The counted round: rows in ranking order and the advisory selection."""

    ballots: int
    rows: tuple[TallyRow, ...]
    rule: OutcomeRule

    @property
    def selected_ids(self) -> frozenset[int]:
        return frozenset(row.candidate_id for row in self.rows if row.selected)


def count_votes(candidate_ids: Iterable[int], ballots: Iterable[Iterable[int]]) -> dict[int, int]:
    """Votes per candidate (zero for candidates nobody chose)."""
    counts: Counter[int] = Counter()
    for ballot in ballots:
        counts.update(ballot)
    return {cid: counts.get(cid, 0) for cid in candidate_ids}


def rank_key(candidate: CandidateRef, votes: int) -> tuple[int, int, int, int]:
    """Sort key of the street tie-break: votes desc, cost asc, position asc, id asc."""
    return (-votes, candidate.cost, candidate.position, candidate.id)


def rank(candidates: Sequence[CandidateRef], counts: Mapping[int, int]) -> list[CandidateRef]:
    """Candidates in ranking order."""
    return sorted(candidates, key=lambda c: rank_key(c, counts.get(c.id, 0)))


def select_top_n(ordered: Sequence[CandidateRef], seats: int) -> list[int]:
    """The first ``seats`` candidates of the ranking."""
    return [c.id for c in ordered[:seats]]


def select_greedy(
    ordered: Sequence[CandidateRef], budget: int, seats: int | None = None
) -> list[int]:
    """Greedy within ``budget``: skip what no longer fits, try the next; at most ``seats``."""
    chosen: list[int] = []
    remaining = budget
    for candidate in ordered:
        if seats is not None and len(chosen) >= seats:
            break
        if candidate.cost <= remaining:
            chosen.append(candidate.id)
            remaining -= candidate.cost
    return chosen


def select_mes(
    rule: OutcomeRule, ordered: Sequence[CandidateRef], budget: int, groups: ApprovalGroups
) -> tuple[int, ...]:
    """An equal-shares rule's selection, in selection order; ties by the street ranking."""
    profile = outcomes.Profile(
        {c.id: Fraction(c.cost) for c in ordered},
        Fraction(budget),
        tuple((frozenset(ids), n) for ids, n in groups if n),
        sum(n for _, n in groups),
    )
    return _MES_RULES[rule](profile, [c.id for c in ordered]).selected


def _select(
    rule: OutcomeRule,
    ordered: Sequence[CandidateRef],
    seats: int,
    budget: int | None,
    groups: ApprovalGroups | None,
) -> Sequence[int]:
    if rule is OutcomeRule.TOP_N:
        return select_top_n(ordered, seats)
    if budget is None:
        raise InvalidInput("greedy_needs_budget")
    if rule is OutcomeRule.GREEDY:
        return select_greedy(ordered, budget, seats)
    if groups is None:
        raise InvalidInput("mes_needs_ballots")
    return select_mes(rule, ordered, budget, groups)[:seats]


def tally(
    candidates: Sequence[CandidateRef],
    counts: Mapping[int, int],
    *,
    ballots: int,
    rule: OutcomeRule,
    seats: int,
    budget: int | None,
    groups: ApprovalGroups | None = None,
) -> TallyResult:
    """Rank the candidates and mark the rule's advisory selection.

    The MES rules need ``groups``, the ballots' approval sets.
    """
    ordered = rank(candidates, counts)
    selected = set(_select(rule, ordered, seats, budget, groups))
    rows = []
    for index, candidate in enumerate(ordered):
        votes = counts.get(candidate.id, 0)
        neighbours = ordered[max(index - 1, 0) : index + 2]
        tied = any(
            other.id != candidate.id and counts.get(other.id, 0) == votes for other in neighbours
        )
        rows.append(TallyRow(candidate.id, votes, index + 1, tied, candidate.id in selected))
    return TallyResult(ballots=ballots, rows=tuple(rows), rule=rule)
