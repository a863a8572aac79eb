"""Replaying a Pabulib file with an outcome rule, ties broken as pabutools 1.2.3 breaks them.

``replay(election, rule, threshold=...)`` runs one of ``RULES`` on a parsed ``.pb`` file:

* ``greedy`` — greedy by number of supporters (pabutools' ``Cost_Sat`` greedy);
* ``greedy-points`` — greedy by total points (cumulative files; Katowice, Murcki);
* ``greedy-positional`` — greedy by positional points k…1 (ordinal files; Kraków);
* ``mes``, ``mes-greedy``, ``mes-add1``, ``mes-add1-greedy`` — Method of Equal Shares with cost
  satisfaction and its completions (see ``outcomes``).

A ballot supports every project it lists (duplicates collapsed, as ``pabulib`` reads them).
``threshold=True`` applies the file's ``min_project_score_threshold`` to the greedy rules, as
Pabulib's ``greedy-threshold`` does: the score is the number of supporters, or the total points
on cumulative and scoring files.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    return outcomes.approval_profile(
        election.costs, election.budget, (vote.projects for vote in election.votes)
    )


def _scores(election: PbElection, rule: str) -> Mapping[str, outcomes.Number]:
    if rule == "greedy-points":
        listed = ((v.projects, v.points or ()) for v in election.votes)
        return outcomes.points_scores(listed)
    if rule == "greedy-positional":
        return outcomes.positional_scores(v.projects for v in election.votes)
    return profile_of(election).approvals()


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
    return mes_rules[rule](profile_of(election), tie)
