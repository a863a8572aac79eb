"""Replaying a Pabulib file with an outcome rule, ties broken as pabutools 1.2.3 breaks them.

``replay(election, rule, threshold=...)`` runs one of ``RULES`` on a parsed ``.pb`` file:

* ``greedy`` — greedy by number of supporters (pabutools' ``Cost_Sat`` greedy);
* ``greedy-points`` — greedy by total points (cumulative files; Katowice, Murcki);
* ``greedy-positional`` — greedy by positional points k…1 (ordinal files; Kraków);
* ``mes``, ``mes-greedy``, ``mes-add1``, ``mes-add1-greedy`` — Method of Equal Shares with cost
  satisfaction and its completions (see ``outcomes``).

A ballot supports every project it lists (duplicates collapsed, as ``pabulib`` reads them).
Scores and profiles come from the file's distinct votes and how many voters cast each
(``PbElection.ballot_counts`` / ``approval_index`` / ``approval_counts``), never voter by
voter, so a file read with ``voter_data=False`` is replayed without its rows being read; the
MES rules get the ballots by project number (``indexed_of``), cut from the vote cells once.
``threshold=True`` applies the file's ``min_project_score_threshold`` to the greedy rules, as
Pabulib's ``greedy-threshold`` does: the score is the number of supporters, or the total points
on cumulative and scoring files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from fractions import Fraction

from . import outcomes
from .pabulib import POINTS_TYPES, PbElection

RULES = (
    "greedy",
    "mes",
    "mes-greedy",
    "mes-add1",
    "mes-add1-greedy",
    "greedy-points",
    "greedy-positional",
)


def profile_of(election: PbElection) -> outcomes.Profile[str]:
    """The approval profile of a file: a ballot approves every project it lists."""
    return outcomes.grouped_profile(election.costs, election.budget, election.approval_groups())


def indexed_of(election: PbElection) -> outcomes.IndexedProfile[str]:
    """The approval profile of a file by number, cut from the vote cells without a set each."""
    ids = [p.project_id for p in election.projects]
    return outcomes.IndexedProfile(election.costs, election.budget, ids, election.approval_index())


def _points(election: PbElection) -> dict[str, outcomes.Number]:
    """Total points per project (cumulative and scoring files)."""
    weighted: Counter[tuple[str, int, int]] = Counter()  # (project, points as n/d): voters
    for (projects, points), n in election.ballot_counts().items():
        for project, value in zip(projects, points or (), strict=True):
            weighted[project, value.numerator, value.denominator] += n
    totals: dict[str, outcomes.Number] = {}
    for (project, numerator, denominator), n in weighted.items():
        total: outcomes.Number = numerator * n
        if denominator != 1:
            total = Fraction(total, denominator)
        totals[project] = totals.get(project, 0) + total
    return totals


def _positional(election: PbElection) -> dict[str, int]:
    """Positional points per project: k for first place on a k-long ranking, …, 1 for last."""
    totals: dict[str, int] = {}
    for (projects, _), n in election.ballot_counts().items():
        for place, project in enumerate(projects):
            totals[project] = totals.get(project, 0) + (len(projects) - place) * n
    return totals


def _scores(election: PbElection, rule: str) -> Mapping[str, outcomes.Number]:
    if rule == "greedy-points":
        return _points(election)
    if rule == "greedy-positional":
        return _positional(election)
    return election.approval_counts()


def _threshold_scores(election: PbElection) -> Mapping[str, outcomes.Number]:
    """Pabulib's threshold counts points on cumulative/scoring files, supporters otherwise."""
    if election.vote_type in POINTS_TYPES:
        return _scores(election, "greedy-points")
    return _scores(election, "greedy")


def replay(election: PbElection, rule: str, *, threshold: bool = False) -> outcomes.Outcome[str]:
    """Outcome of ``rule`` (one of ``RULES``) on a file, ties broken as pabutools does."""
    tie = outcomes.pabulib_tie_break(election.costs)
    if rule.startswith("greedy"):
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}")
        limit = election.threshold if threshold else None
        chosen = outcomes.greedy(
            election.costs,
            election.budget,
            _scores(election, rule),
            tie,
            threshold=limit,
            threshold_scores=_threshold_scores(election) if limit is not None else None,
        )
        return outcomes.Outcome(tuple(chosen), outcomes.total_cost(election.costs, chosen))
    if threshold:
        raise ValueError("the score threshold applies to the greedy rules only")
    mes_rules = {
        "mes": outcomes.mes,
        "mes-greedy": outcomes.mes_then_greedy,
        "mes-add1": outcomes.mes_add1,
        "mes-add1-greedy": outcomes.mes_add1_then_greedy,
    }
    if rule not in mes_rules:
        raise ValueError(f"unknown rule {rule!r}")
    return mes_rules[rule](indexed_of(election), tie)
