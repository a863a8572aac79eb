"""Outcome rules for participatory budgeting, in exact arithmetic.

Every rule takes a ``Profile`` (project costs, the budget, the approval ballots) and an explicit
``tie_break``: the sequence of all project ids, first = wins a tie. ``pabulib_tie_break(ids)``
(lexicographic on the id string, ``"10" < "9"``) is what pabutools 1.2.3 does and must be used
to replay a ``.pb`` file; a street round passes its own order (cheaper first, then ballot
position, as ``tally.rank_key`` does). All money is ``fractions.Fraction`` or ``int``, so ties
are exact ties. The rules reproduce pabutools 1.2.3 (checked on every file in
``shared/pabulib`` by ``tests/domain/test_outcomes.py``):

* ``greedy`` — ``greedy_utilitarian_welfare`` with an additive satisfaction: rank projects by
  score (number of supporters for cost satisfaction; total points or positional points for the
  type-specific variants), best first, ties by ``tie_break``; walk the ranking once and fund each
  project whose cost still fits in what is left, **skipping** one that does not and going on.
  Zero-score projects are still funded at the end if money is left; a zero-cost project with
  support comes first. ``threshold`` drops projects whose score (or ``threshold_scores``) is
  below Pabulib's ``min_project_score_threshold`` before the walk, as the cities do.
* ``mes`` — Method of Equal Shares with cost satisfaction (each supporter of a project gets
  utility = its cost). Every voter starts with budget / voters. In each round, for every project
  still possible, ρ is the least number such that the supporters can pay
  ``Σ min(budget_i, ρ·cost) = cost``; the project with the least ρ (ties by ``tie_break``) is
  funded and each supporter pays ``min(budget_i, ρ·cost)``. A project whose supporters hold
  less than its cost is dropped for good; projects nobody supports are never funded. Returns the
  projects in selection order.
* ``mes_add1`` — pabutools' ``voter_budget_increment=1`` ("Add1", equalshares.net): run MES with
  per-voter budget b, b+1, b+2, … (1 currency unit per step); return the first outcome that is
  exhaustive among supported projects (no unfunded supported project fits in what is left), or,
  as soon as an outcome costs more than the real budget, the outcome of the step before.
* ``mes_then_greedy`` / ``mes_add1_then_greedy`` — ``completion_by_rule_combination``: the MES
  outcome, then ``greedy`` (cost satisfaction, no threshold) from it on what is left.

How MES is made fast (pure Python, exact):

1. Voters with the same approval set are one *group* (Wrocław 2015's 131,778 choose-1 ballots
   are 196 groups). Each project keeps its supporter groups, and once per voter the group index
   (so that ``collections.Counter`` counts voters at C speed).
2. Voters who supported the same funded projects so far hold the same money (a funded project
   takes the same ρ·cost from each rich supporter and everything from a poor one), so a run
   keeps budget *classes*: the groups of a funded project move from their class to the class
   "after paying for it"; voters left with nothing share one class. Computing ρ counts a
   project's supporters per class, sorts the classes by money (floats, checked exactly where
   two values are too close to call) and sweeps them: the poorest pay all they have until the
   others can share the rest equally. Money stays exact (``Fraction``) per class, not per voter.
3. Lazy re-evaluation: a project's ρ can only grow as budgets shrink, so a heap holds each
   project's last ρ as a lower bound, keyed (ρ, tie rank). Only a project one of whose
   supporters paid since is recomputed; a fresh entry on top of the heap wins the round.
4. Add1 without running every step. With the same winners so far, every voter's money grows
   with the starting budget t and every ρ shrinks (ρ is the water level of
   ``Σ min(money_i, ρ·cost) = cost``). So a run at t₀ also describes every t in [t₀, t₁] if,
   replaying its winners at t₁, each winner's ρ at t₀ is at most every other project's ρ at t₁
   (strictly below a project that would win the tie) and nothing else is affordable at t₁ at
   the end. Consecutive winners that share no supporter form a block whose internal order may
   change without changing the set or the money after it; only outsiders must stay above the
   block's largest ρ. The loop probes 1, 2, 4, … steps ahead and skips what is proven (the
   probe is then the true run at its budget, block members in its own order); a probe that
   fails still did true MES rounds at its budget and is finished as the next step's run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

from .equal_shares import MesData, MesRun

P = TypeVar("P", bound=Hashable)
Number = Fraction | int


@dataclass(frozen=True)
class Profile(Generic[P]):
    """Costs, budget and approval ballots (identical ballots grouped with a multiplicity)."""

    costs: Mapping[P, Fraction]
    budget: Fraction
    groups: tuple[tuple[frozenset[P], int], ...]
    voters: int

    def approvals(self) -> dict[P, int]:
        """Number of voters approving each project (zero included)."""
        counts = dict.fromkeys(self.costs, 0)
        for ballot, weight in self.groups:
            for project in ballot:
                counts[project] += weight
        return counts


@dataclass(frozen=True)
class Outcome(Generic[P]):
    """Selected projects in selection order, their cost, and MES' final budget per voter."""

    selected: tuple[P, ...]
    total_cost: Fraction
    voter_budget: Fraction | None = None


def approval_profile(
    costs: Mapping[P, Number], budget: Number, ballots: Iterable[Iterable[P]]
) -> Profile[P]:
    """Build a ``Profile``; a ballot is the set of projects it lists (duplicates collapse)."""
    grouped: Counter[frozenset[P]] = Counter(map(frozenset, ballots))
    unknown = {p for ballot in grouped for p in ballot} - costs.keys()
    if unknown:
        raise ValueError(f"ballots name unknown projects: {sorted(map(str, unknown))}")
    return Profile(
        {p: Fraction(c) for p, c in costs.items()},
        Fraction(budget),
        tuple(grouped.items()),
        sum(grouped.values()),
    )


def pabulib_tie_break(ids: Iterable[str]) -> list[str]:
    """Pabulib's and pabutools' tie order: lexicographic on the id string."""
    return sorted(ids)


def _ranks(ids: Iterable[P], tie_break: Sequence[P]) -> dict[P, int]:
    rank = {p: i for i, p in enumerate(tie_break)}
    missing = [p for p in ids if p not in rank]
    if missing:
        raise ValueError(f"tie_break does not order {sorted(map(str, missing))}")
    return rank


def total_cost(costs: Mapping[P, Fraction], selected: Iterable[P]) -> Fraction:
    """Sum of the costs of ``selected``."""
    return sum((costs[p] for p in selected), Fraction(0))


def greedy(
    costs: Mapping[P, Number],
    budget: Number,
    scores: Mapping[P, Number],
    tie_break: Sequence[P],
    *,
    start: Sequence[P] = (),
    threshold: Number | None = None,
    threshold_scores: Mapping[P, Number] | None = None,
) -> list[P]:
    """Greedy by score within ``budget``: skip what no longer fits, try the next."""
    rank = _ranks(costs, tie_break)
    cut = scores if threshold_scores is None else threshold_scores
    taken = set(start)
    eligible = [
        p for p in costs if p not in taken and (threshold is None or cut.get(p, 0) >= threshold)
    ]

    def key(p: P) -> tuple[bool, Number, int]:
        score = scores.get(p, 0)
        return (not (costs[p] == 0 and score > 0), -score, rank[p])

    remaining = Fraction(budget) - sum((Fraction(costs[p]) for p in start), Fraction(0))
    chosen = list(start)
    for project in sorted(eligible, key=key):
        if costs[project] <= remaining:
            chosen.append(project)
            remaining -= costs[project]
    return chosen


def points_scores(
    ballots: Iterable[tuple[Sequence[P], Sequence[Number]]],
) -> dict[P, Number]:
    """Total points per project (cumulative and scoring ballots)."""
    totals: dict[P, Number] = {}
    for projects, points in ballots:
        for project, value in zip(projects, points, strict=True):
            totals[project] = totals.get(project, 0) + value
    return totals


def positional_scores(ballots: Iterable[Sequence[P]]) -> dict[P, int]:
    """Positional points per project: k for first place on a k-long ranking, …, 1 for last."""
    totals: dict[P, int] = {}
    for ranking in ballots:
        for place, project in enumerate(ranking):
            totals[project] = totals.get(project, 0) + len(ranking) - place
    return totals


def greedy_outcome(
    profile: Profile[P], tie_break: Sequence[P], *, threshold: Number | None = None
) -> Outcome[P]:
    """Greedy by number of supporters (pabutools' greedy with Cost_Sat)."""
    chosen = greedy(
        profile.costs, profile.budget, profile.approvals(), tie_break, threshold=threshold
    )
    return Outcome(tuple(chosen), total_cost(profile.costs, chosen))


def _mes_data(profile: Profile[P], tie_break: Sequence[P]) -> tuple[MesData, list[P], list[P]]:
    """The engine's view of ``profile``: supported projects numbered in tie order."""
    rank = _ranks(profile.costs, tie_break)
    approvals = profile.approvals()
    supported = sorted((p for p in profile.costs if approvals[p] > 0), key=rank.__getitem__)
    free = [p for p in supported if profile.costs[p] == 0]
    ids = [p for p in supported if profile.costs[p] > 0]
    index = {p: j for j, p in enumerate(ids)}
    groups = (([index[p] for p in ballot if p in index], n) for ballot, n in profile.groups)
    data = MesData([profile.costs[p] for p in ids], profile.budget, groups)
    return data, ids, free


def _as_outcome(
    data: MesData, ids: list[P], free: list[P], chosen: list[int], t: Fraction | None
) -> Outcome[P]:
    return Outcome((*free, *(ids[j] for j in chosen)), data.cost_of(chosen), t)


def mes(profile: Profile[P], tie_break: Sequence[P]) -> Outcome[P]:
    """Method of Equal Shares with cost satisfaction, projects in selection order."""
    data, ids, free = _mes_data(profile, tie_break)
    if not profile.voters:
        return Outcome(tuple(free), Fraction(0), None)
    t = profile.budget / profile.voters
    return _as_outcome(data, ids, free, MesRun(data, t).run(), t)


def mes_add1(profile: Profile[P], tie_break: Sequence[P], *, increment: Number = 1) -> Outcome[P]:
    """MES with the Add1 completion (pabutools' ``voter_budget_increment``)."""
    data, ids, free = _mes_data(profile, tie_break)
    if not profile.voters:
        return Outcome(tuple(free), Fraction(0), None)
    step = Fraction(increment)
    t = profile.budget / profile.voters
    run = MesRun(data, t)
    run.run()
    previous: tuple[list[int], Fraction | None] = ([], None)
    jump = 1
    while True:
        if data.cost_of(run.chosen) > data.budget:
            # Only a one-step probe can change the set, so ``previous`` ran at t - step.
            return _as_outcome(data, ids, free, *previous)
        if data.exhaustive(run.chosen):
            return _as_outcome(data, ids, free, run.chosen, t)
        previous = (run.chosen, t)
        # A probe ``jump`` steps ahead that follows this run proves the steps between fund
        # the same projects. Whether it does or not, what it did is a true MES run so far.
        probe = MesRun(data, t + step * jump)
        if probe.follows(run.chosen, run.rhos):
            t, run, jump = t + step * jump, probe, jump * 2
        elif jump == 1:
            probe.run()
            t, run = t + step, probe
        else:
            jump = 1


def mes_then_greedy(profile: Profile[P], tie_break: Sequence[P]) -> Outcome[P]:
    """MES, then greedy by number of supporters on what is left."""
    return _complete(profile, tie_break, mes(profile, tie_break))


def mes_add1_then_greedy(
    profile: Profile[P], tie_break: Sequence[P], *, increment: Number = 1
) -> Outcome[P]:
    """MES with Add1, then greedy by number of supporters on what is left."""
    return _complete(profile, tie_break, mes_add1(profile, tie_break, increment=increment))


def _complete(profile: Profile[P], tie_break: Sequence[P], first: Outcome[P]) -> Outcome[P]:
    chosen = greedy(
        profile.costs, profile.budget, profile.approvals(), tie_break, start=first.selected
    )
    return Outcome(tuple(chosen), total_cost(profile.costs, chosen), first.voter_budget)
