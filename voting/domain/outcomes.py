"""Outcome rules for participatory budgeting, with exact outcomes.

Every rule takes a ``Profile`` (project costs, the budget, the approval ballots) and an explicit
``tie_break``: the sequence of all project ids, first = wins a tie. ``pabulib_tie_break(ids)``
(lexicographic on the id string, ``"10" < "9"``) is what pabutools 1.2.3 does and must be used
to replay a ``.pb`` file; a street round passes its own order (cheaper first, then ballot
position, as ``tally.rank_key`` does). Costs and budgets are ``fractions.Fraction`` or ``int``
and every outcome is the one exact arithmetic gives, ties included (MES computes in floats and
settles exactly what floats cannot, see below). The rules reproduce pabutools 1.2.3 (checked
on every file in ``shared/pabulib`` by ``tests/domain/test_outcomes.py``):

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

How MES is made fast (pure Python, outcome exact):

1. Voters with the same ballot are one *group* (Wrocław 2015's 131,778 choose-1 ballots are
   196 groups). Rules take a ``Profile`` (ballots as sets of ids) or an ``IndexedProfile``
   (ballots by project number, ``approvals.ApprovalIndex``: ``replay`` cuts it straight from
   a file's vote cells, with no set per ballot); MES works on the numbered form. Each project
   keeps its supporter groups, and, unless that list would be four times longer, its
   supporters once per voter (a group index repeated).
2. A run is computed in floating point (``equal_shares.MesRun``), each group's money one float.
   A project's ρ comes from its supporters' money sorted: the poorest pay all they have until
   the others can share the rest equally (``Σ min(money_i, ρ·cost) = cost``); whole runs of
   supporters below the current equal share are taken as poor at once. Where supporters are
   listed once per voter only their money is sorted (bare floats), fetched in the order of an
   earlier sort of the list, so the sort (in this run or the next Add1 run) meets nearly sorted
   values; the list itself is re-sorted every 16th time. Unaffordable projects are found
   before any sort, and a ρ is 1/n without a sweep when the poorest can clearly pay 1/n-th.
3. Lazy re-evaluation: a project's ρ can only grow as budgets shrink, so a heap holds each
   project's last ρ as a lower bound, keyed (ρ, tie rank). Only a project one of whose
   supporters paid since is recomputed; a fresh entry on top of the heap wins the round.
4. The outcome stays the exact one. Every decision that shapes it — which project wins a round,
   whether a project's supporters can pay for it — is taken on floats only when they differ
   by more than ``equal_shares.NEAR`` (10⁻⁹, relative; for money, 10⁻⁹ of a voter's starting
   budget per voter). Closer than that, it is settled exactly: a ρ that is 1/n, n supporters
   each paying an equal share and the others having nothing left, is known as such, so such
   ties (the common kind: equal costs and equal support) compare the n's; any other close
   call raises ``TooClose`` and the run is redone in exact rationals (``ExactRun``: money kept
   as ``Fraction`` per class of voters who paid for the same projects).
   A payment that comes that close to a voter's money does not change anything beyond float
   error either way (she pays all she has, or all but a crumb), but no ρ is then taken as
   exactly 1/n. The margin is wide: against the exact engine, the floats' ρ are off by at most
   2·10⁻¹³ (relative) on the corpus files at the budgets ``test_float_error_far_below_…``
   checks, and no run of any rule on any corpus file needs the exact engine.
5. Add1 without running every step. With the same winners so far, every voter's money grows
   with the starting budget t and every ρ shrinks. So a run at t₀ also describes every t in
   [t₀, t₁] if, replaying its winners at t₁, each winner's ρ at t₀ is at most every other
   project's ρ at t₁ (strictly below a project that would win the tie) and nothing else is
   affordable at t₁ at the end (a comparison too close to call counts as not proven).
   Consecutive winners that share no supporter form a block whose internal order may change
   without changing the set or the money after it; only outsiders must stay above the block's
   largest ρ. Each proof also notes its *slack*: per round, the gap between the winner's
   earlier ρ and the nearest other project's, over how much the winner's ρ fell between the
   two budgets (the others' fall about as fast). The next probe goes 0.8 of as far as that
   suggests (at most four times the last distance, at least two steps); a failed long probe is
   retried once at half the distance, then the next step is run. The slack only chooses where
   to probe; what is skipped is proven. A proof's probe is the true run at its budget (block
   members in its own order), and one that fails still did true MES rounds at its budget: it
   is kept and finished when the steps reach its budget (dropped if a proof passes it), so
   looking two steps ahead after each run costs next to nothing when it fails. On dense files
   (Praga-Północ, Toulouse) the order of the winners changes at most steps, so nearly every
   step is a run of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain
from typing import Generic, TypeVar

from .approvals import ApprovalIndex, index_groups
from .equal_shares import ExactRun, MesData, MesResult, MesRun, TooClose, run_mes

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
        for ballot, weight in self.groups:  # per distinct ballot, not per voter
            for project in ballot:
                counts[project] += weight
        return counts

    def indexed(self) -> IndexedProfile[P]:
        """The same profile with projects numbered in ``costs`` order."""
        ids = list(self.costs)
        position = {p: i for i, p in enumerate(ids)}
        return IndexedProfile(
            self.costs, self.budget, ids, index_groups(self.groups, position, len(ids))
        )


@dataclass(frozen=True)
class IndexedProfile(Generic[P]):
    """Costs, budget and approval ballots by number: ``ids[p]`` is project p of ``index``."""

    costs: Mapping[P, Fraction]
    budget: Fraction
    ids: Sequence[P]
    index: ApprovalIndex

    @property
    def voters(self) -> int:
        return self.index.voters

    def approvals(self) -> dict[P, int]:
        """Number of voters approving each project (zero included)."""
        counts = dict.fromkeys(self.costs, 0)
        counts.update(zip(self.ids, self.index.counts(), strict=True))
        return counts


AnyProfile = Profile[P] | IndexedProfile[P]


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
    return grouped_profile(costs, budget, Counter(map(frozenset, ballots)))


def grouped_profile(
    costs: Mapping[P, Number], budget: Number, groups: Mapping[frozenset[P], int]
) -> Profile[P]:
    """Build a ``Profile`` from each distinct approval set and how many voters cast it."""
    unknown = set(chain.from_iterable(groups)) - costs.keys()
    if unknown:
        raise ValueError(f"ballots name unknown projects: {sorted(map(str, unknown))}")
    return Profile(
        {p: Fraction(c) for p, c in costs.items()},
        Fraction(budget),
        tuple(groups.items()),
        sum(groups.values()),
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


def _mes_data(profile: AnyProfile[P], tie_break: Sequence[P]) -> tuple[MesData, list[P], list[P]]:
    """The engine's view of ``profile``: supported projects numbered in tie order."""
    indexed = profile.indexed() if isinstance(profile, Profile) else profile
    rank = _ranks(indexed.costs, tie_break)
    ids, costs, index = indexed.ids, indexed.costs, indexed.index
    supported = [p for p, groups in enumerate(index.groups) if groups]
    supported.sort(key=lambda p: rank[ids[p]])
    free = [ids[p] for p in supported if costs[ids[p]] == 0]  # funded before MES starts
    numbers = [p for p in supported if costs[ids[p]] > 0]
    ours = [-1] * len(ids)
    for j, p in enumerate(numbers):
        ours[p] = j
    groups = [index.groups[p] for p in numbers]
    costs_of = [costs[ids[p]] for p in numbers]
    data = MesData(costs_of, indexed.budget, groups, index.weights, index.ballots, ours)
    return data, [ids[p] for p in numbers], free


def _as_outcome(
    data: MesData, ids: list[P], free: list[P], chosen: list[int], t: Fraction | None
) -> Outcome[P]:
    return Outcome((*free, *(ids[j] for j in chosen)), data.cost_of(chosen), t)


def mes(profile: AnyProfile[P], tie_break: Sequence[P]) -> Outcome[P]:
    """Method of Equal Shares with cost satisfaction, projects in selection order."""
    data, ids, free = _mes_data(profile, tie_break)
    if not profile.voters:
        return Outcome(tuple(free), Fraction(0), None)
    t = profile.budget / profile.voters
    return _as_outcome(data, ids, free, run_mes(data, t).chosen, t)


def mes_add1(
    profile: AnyProfile[P], tie_break: Sequence[P], *, increment: Number = 1
) -> Outcome[P]:
    """MES with the Add1 completion (pabutools' ``voter_budget_increment``)."""
    data, ids, free = _mes_data(profile, tie_break)
    if not profile.voters:
        return Outcome(tuple(free), Fraction(0), None)
    step = Fraction(increment)
    t = profile.budget / profile.voters
    run = run_mes(data, t)
    previous: tuple[list[int], Fraction | None] = ([], None)
    stride = _Stride()
    ahead: dict[Fraction, MesRun] = {}  # failed long probes, to be finished if reached
    while True:
        if data.overspends(run.chosen):
            # Only a one-step probe can change the set, so ``previous`` ran at t - step.
            return _as_outcome(data, ids, free, *previous)
        if data.exhaustive(run.chosen):
            return _as_outcome(data, ids, free, run.chosen, t)
        previous = (run.chosen, t)
        t, run = _add1_step(data, t, step, run, stride, ahead)


@dataclass
class _Stride:
    """How many steps ahead the next Add1 probe looks.

    At least two (a probe that fails is kept, to be finished as the true run at its budget
    when the steps reach it, so it costs about nothing more). After a proof the next probe
    goes ``SLACK_TRUST`` of as far as the proof's slack suggests (``jump × (slack + 1)``
    steps on from the proven run), at most four times the last distance; a failed probe of
    more than two steps is retried once at half the distance, then the next step is run, and
    the probe after it looks two steps ahead again.
    """

    jump: int = 2
    retried: bool = False

    def proved(self, slack: float) -> None:
        guess = min(self.jump * (slack + 1) * SLACK_TRUST, MAX_JUMP)  # slack may be inf
        self.jump = max(2, min(4 * self.jump, int(guess)))
        self.retried = False

    def failed(self) -> None:
        if self.jump > 2 and not self.retried:
            self.jump //= 2
            self.retried = True
        else:
            self.jump, self.retried = 1, False

    def stepped(self) -> None:
        """The next step was run (not proven): look further again."""
        self.jump, self.retried = 2, False


SLACK_TRUST = 0.8
"""The share of the distance a proof's slack suggests that the next probe goes."""

MAX_JUMP = 256
"""The most steps one probe looks ahead."""


def _add1_step(
    data: MesData,
    t: Fraction,
    step: Fraction,
    run: MesResult,
    stride: _Stride,
    ahead: dict[Fraction, MesRun],
) -> tuple[Fraction, MesResult]:
    """The next Add1 run after ``run`` at t, and its budget.

    A probe ``stride.jump`` steps ahead that follows ``run`` proves the steps between fund the
    same projects. Whether it does or not, what it did is a true MES run so far: a probe that
    fails is kept in ``ahead`` and finished when the steps reach its budget (dropped if a
    proof passes it). One step ahead there is nothing between to prove: that is just run.
    """
    while True:
        if t + step in ahead:
            stride.stepped()
            return t + step, _finish(data, t + step, ahead.pop(t + step))
        jump = stride.jump
        probe = MesRun(data, t + step * jump)
        if jump == 1:  # no step between to prove: the run itself
            stride.stepped()
            return t + step, _finish(data, t + step, probe)
        try:
            if probe.follows(run):
                stride.proved(probe.slack)
                for later in [b for b in ahead if b <= t + step * jump]:
                    del ahead[later]  # passed over
                return t + step * jump, probe.result()
            stride.failed()
            ahead[t + step * jump] = probe
        except TooClose:
            stride.failed()


def _finish(data: MesData, t: Fraction, probe: MesRun) -> MesResult:
    """The run at t that ``probe`` (a true MES run so far) began."""
    try:
        probe.run()
    except TooClose:
        return ExactRun(data, t).result()
    return probe.result()


def mes_then_greedy(profile: AnyProfile[P], tie_break: Sequence[P]) -> Outcome[P]:
    """MES, then greedy by number of supporters on what is left."""
    return _complete(profile, tie_break, mes(profile, tie_break))


def mes_add1_then_greedy(
    profile: AnyProfile[P], tie_break: Sequence[P], *, increment: Number = 1
) -> Outcome[P]:
    """MES with Add1, then greedy by number of supporters on what is left."""
    return _complete(profile, tie_break, mes_add1(profile, tie_break, increment=increment))


def _complete(profile: AnyProfile[P], tie_break: Sequence[P], first: Outcome[P]) -> Outcome[P]:
    chosen = greedy(
        profile.costs, profile.budget, profile.approvals(), tie_break, start=first.selected
    )
    return Outcome(tuple(chosen), total_cost(profile.costs, chosen), first.voter_budget)
