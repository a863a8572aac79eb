"""The Method of Equal Shares engine behind ``outcomes.mes`` and ``outcomes.mes_add1``.

Cost satisfaction throughout. ``MesData`` is what the runs on one election share (costs,
supporters per project, neighbours). A run is computed in floating point (``MesRun``, each
voter group's money a float) and, only where a decision depends on floats too close to call
(``TooClose``), again in exact rationals (``ExactRun``, money kept per class of voters who paid
for the same projects); ``run_mes`` does both. ``MesRun.follows`` is the proof that lets Add1
skip budget steps. The method and why the floats can be trusted are described in the
``outcomes`` docstring.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import repeat
from operator import itemgetter, mul

EXPAND = 4
"""A project's supporters are listed once per voter unless that is this many times longer."""

NEIGHBOUR_SCAN = 512
"""How many of a project's groups ``MesData.neighbours`` reads the ballots of."""

RESORT = 16
"""A project's supporters are sorted by money again after this many sorts of just the money."""

NEAR = 1e-9
"""Relative distance under which two floats are "too close to call" (see ``outcomes``)."""


class MesData:
    """What every MES run on one election shares: costs, supporter groups, neighbours.

    Projects are numbered 0, 1, … in tie order (lower wins a tie); only projects with a
    positive cost and at least one supporter take part. Voters who cast the same ballot form a
    *group* with a weight (how many they are). ``groups[j]`` lists project j's supporter groups
    (each once) and ``ballots[g]`` the projects group g supports: numbered as here, or, if
    ``ours`` is given, in another numbering that ``ours`` turns into this one (-1 for a
    project that takes no part).
    """

    def __init__(
        self,
        costs: list[Fraction],
        budget: Fraction,
        groups: list[list[int]],
        weights: Sequence[int],
        ballots: Sequence[Collection[int]],
        ours: Sequence[int] | None = None,
    ) -> None:
        self.costs = costs
        self.fcosts = [float(c) for c in costs]
        self.budget = budget
        self.groups = groups
        self.weights = weights
        self.ballots = ballots
        self._ours = ours
        weight = weights.__getitem__
        self.support = [sum(map(weight, groups_of)) for groups_of in groups]
        # What a ρ is computed from: per project its groups once per voter (counting them
        # counts voters), or, where that would be much longer, once each with their weights.
        self.members = [list(groups_of) for groups_of in groups]
        self._list_voters(ours)
        self.unsorted = [RESORT] * len(costs)  # per project: sorts of its money since its own
        # per project: its members' money in the order of their last sort
        self.gathers = [_gatherer(members_of) for members_of in self.members]
        self._neighbours: dict[int, set[int]] = {}
        self._asked: set[int] = set()  # projects whose neighbours were asked for once
        # costs and budget as integers over a common denominator, for quick exact sums
        unit = math.lcm(budget.denominator, *(c.denominator for c in costs))
        self._scaled = [int(c * unit) for c in costs]
        self._scaled_budget = int(budget * unit)

    def _list_voters(self, ours: Sequence[int] | None) -> None:
        """Where that is not much longer, list a project's supporters once per voter: each
        group that more than one voter cast is added again, once per further voter."""
        count = len(self.costs)
        expand = [
            n < EXPAND * len(groups_of)
            for groups_of, n in zip(self.groups, self.support, strict=True)
        ]
        weights, members = self.weights, self.members
        for g in [g for g, weight in enumerate(weights) if weight > 1]:
            for p in set(self.ballots[g]):
                j = p if ours is None else ours[p]
                if 0 <= j < count and expand[j]:
                    members[j].extend(repeat(g, weights[g] - 1))
        self.members = [
            members_of if expand_j else groups_of
            for members_of, groups_of, expand_j in zip(members, self.groups, expand, strict=True)
        ]

    def neighbours(self, j: int) -> set[int]:
        """The projects that share a supporter with project j (j included).

        Read from the ballots of j's first groups; a project not found there is looked for
        among the rest of j's groups (on big files nearly every project is found at once).
        """
        found = self._neighbours.get(j)
        if found is None:
            groups = self.groups[j]
            found = set().union(*_cut(self.ballots, groups[:NEIGHBOUR_SCAN]))
            if self._ours is not None:
                found = set(map(self._ours.__getitem__, found)) - {-1}
            if len(groups) > NEIGHBOUR_SCAN and len(found) < len(self.costs):
                rest = set(groups[NEIGHBOUR_SCAN:])
                others = (k for k in range(len(self.costs)) if k not in found)
                found.update(k for k in others if not rest.isdisjoint(self.groups[k]))
            self._neighbours[j] = found
        return found

    def touched(self, j: int) -> Iterable[int]:
        """The projects whose ρ funding j may change: its neighbours, or, the first time, simply
        all: a project is funded once a run, so only Add1's later runs use them again, and
        finding them costs more than the extra ρ save (on most files nearly every project is
        a neighbour; marking more projects for a new ρ is safe)."""
        found = self._neighbours.get(j)
        if found is None and j not in self._asked:
            self._asked.add(j)
            return range(len(self.costs))
        return found if found is not None else self.neighbours(j)

    def blocks(self, chosen: list[int]) -> list[list[int]]:
        """``chosen`` cut into runs of projects that pairwise share no supporter."""
        blocks: list[list[int]] = []
        for j in chosen:
            if blocks and not any(k in self.neighbours(j) for k in blocks[-1]):
                blocks[-1].append(j)
            else:
                blocks.append([j])
        return blocks

    def cost_of(self, chosen: Iterable[int]) -> Fraction:
        return sum((self.costs[j] for j in chosen), Fraction(0))

    def overspends(self, chosen: list[int]) -> bool:
        """Whether ``chosen`` costs more than the budget."""
        return sum(map(self._scaled.__getitem__, chosen)) > self._scaled_budget

    def exhaustive(self, chosen: list[int]) -> bool:
        """No unfunded supported project fits in what ``chosen`` leaves."""
        scaled = self._scaled
        left = self._scaled_budget - sum(map(scaled.__getitem__, chosen))
        taken = set(chosen)
        return all(c > left for j, c in enumerate(scaled) if j not in taken)


class TooClose(Exception):
    """A decision of a float run depends on two floats too close to call."""


@dataclass(frozen=True)
class MesResult:
    """A finished run: the projects in selection order, each winner's ρ as a float, and
    ``dens[i]`` > 0 when the i-th ρ is exactly 1 / dens[i] (0 when not known to be)."""

    chosen: list[int]
    rhos: list[float]
    dens: list[int]


def run_mes(data: MesData, t: Fraction) -> MesResult:
    """The MES run from per-voter budget t: in floats, or exactly where floats cannot tell."""
    try:
        run = MesRun(data, t)
        run.run()
    except TooClose:
        return ExactRun(data, t).result()
    return run.result()


def _key_less(a: float, da: int, ja: int, b: float, db: int, jb: int) -> bool | None:
    """Whether (ρ_a, ja) < (ρ_b, jb) for floats a, b (exactly 1/da, 1/db when da, db > 0);
    None when the floats are too close to call and the exact values are not known."""
    if a < b * (1 - NEAR):
        return True
    if a > b * (1 + NEAR):
        return False
    if da and db:
        return (db, ja) < (da, jb)
    return None


class MesRun:
    """One MES run from per-voter budget t, in floats, each voter group's money apart.

    Raises ``TooClose`` when a decision (which project wins a round, whether a project is
    affordable) depends on floats within ``NEAR`` of each other that it cannot settle exactly.
    """

    def __init__(self, data: MesData, t: Fraction) -> None:
        self.data = data
        ft = float(t)
        self.tol = NEAR * ft  # per-voter money below which floats are too close to call
        self.money = [ft] * len(data.ballots)
        # A payment came too close to a voter's money: a zero may be a tiny positive amount,
        # so no ρ is known to be exactly 1 / den any more.
        self.fuzzy = False
        count = len(data.costs)
        self.alive = [
            _affordable(c, fc, s, t, ft)
            for c, fc, s in zip(data.costs, data.fcosts, data.support, strict=True)
        ]
        self.dirty = [False] * count
        self.rho = [1.0 / s for s in data.support]  # all rich: 1/n
        self.den = list(data.support)
        self.pay = [c / s for c, s in zip(data.fcosts, data.support, strict=True)]
        self.heap = [(rho, j) for j, rho in enumerate(self.rho) if self.alive[j]]
        heapq.heapify(self.heap)
        self.chosen: list[int] = []
        self.rhos: list[float] = []  # the winners' ρ, round by round
        self.dens: list[int] = []
        self.slack = math.inf  # see ``_note_slack``

    def result(self) -> MesResult:
        return MesResult(self.chosen, self.rhos, self.dens)

    def run(self) -> list[int]:
        """Fund the least-ρ project until none is affordable; the projects in order."""
        while (winner := self._next()) is not None:
            self._fund(winner)
        return self.chosen

    def follows(self, earlier: MesResult) -> bool:
        """Whether a run from a smaller budget, ``earlier``, is also this one's.

        With the same winners so far, every voter's money grows with the starting budget and
        every ρ shrinks. So if each winner's ρ at the smaller budget is at most every other ρ
        here (strictly below those that win ties against it), and nothing else is affordable
        here at the end, every starting budget in between funds the same projects. Winners in
        a row that share no supporter form a block: any order among them gives the same set and
        the same money after them, so only the projects outside the block must stay above the
        block's largest ρ. A comparison too close to call counts as failed: this only proves.
        If it returns False the rounds done here are still true MES rounds at this budget.
        """
        rhos, dens = earlier.rhos, earlier.dens
        start = 0
        for block in self.data.blocks(earlier.chosen):
            end = start + len(block)
            top = max(range(start, end), key=rhos.__getitem__)
            if len(block) == 1 or not self._beats_all(set(block), rhos[top], dens[top]):
                for i, winner in enumerate(block, start):
                    if not self._beats_all({winner}, rhos[i], dens[i]):
                        return False
                    self._fund(winner)
                    self._note_slack(rhos[i], winner)
            else:
                order = self._order(block)
                if order is None:
                    return False
                for winner in order:
                    self._fund(winner)
                self._note_slack(rhos[top], block[top - start])
            start = end
        extra = self._next()
        if extra is None:
            return True
        heapq.heappush(self.heap, (self.rho[extra], extra))  # left as found, for run()
        return False

    def _note_slack(self, earlier: float, winner: int) -> None:
        """Keep ``slack`` up to date after ``winner``, proven with the earlier ρ ``earlier``,
        was funded.

        How much further the proof might reach, as a multiple of this probe's distance: the
        gap to the nearest other project over how much the winner's ρ fell over the distance
        (others' ρ fall about as fast). A guess for choosing the next probe, not a proof.
        """
        heap, alive, rho = self.heap, self.alive, self.rho
        while heap and (not alive[heap[0][1]] or heap[0][0] != rho[heap[0][1]]):
            heapq.heappop(heap)  # dead, or outdated: no longer of use
        fall = earlier - rho[winner]
        if fall > 0 and heap:
            self.slack = min(self.slack, (heap[0][0] - earlier) / fall)

    def _order(self, block: list[int]) -> list[int] | None:
        """The block in this run's own order (least ρ first), None if too close to call."""
        order = sorted(block, key=lambda j: (self.rho[j], j))
        rho, den = self.rho, self._dens()
        for a, b in zip(order, order[1:], strict=False):
            if not _key_less(rho[a], den[a], a, rho[b], den[b], b):
                return None
        return order

    def _dens(self) -> list[int]:
        return [0] * len(self.den) if self.fuzzy else self.den

    def _beats_all(self, insiders: set[int], rho: float, den: int) -> bool:
        """No live project outside ``insiders`` has (ρ, rank) below (rho, last insider)."""
        last = max(insiders)
        held = []
        ok = True
        heap, alive, dirty, mine = self.heap, self.alive, self.dirty, self._dens()
        bound = rho * (1 + NEAR)
        while heap and ok and heap[0][0] <= bound:
            low, j = heapq.heappop(heap)
            if not alive[j] or low != self.rho[j]:
                continue
            if j in insiders:
                held.append((low, j))
            elif dirty[j]:
                self._requeue(j)
            else:
                held.append((low, j))
                ok = _key_less(low, mine[j], j, rho, den, last) is False
        for entry in held:
            heapq.heappush(heap, entry)
        for j in insiders:
            if dirty[j]:
                self._requeue(j)
        return ok and all(alive[j] for j in insiders)

    def _requeue(self, j: int) -> None:
        self._evaluate(j)
        if self.alive[j]:
            heapq.heappush(self.heap, (self.rho[j], j))

    def _next(self) -> int | None:
        """The live project with the least (ρ, tie rank), lazily re-evaluated."""
        heap, alive, dirty, rho = self.heap, self.alive, self.dirty, self.rho
        while heap:
            low, j = heapq.heappop(heap)
            if not alive[j] or low != rho[j]:
                continue  # dead, or an outdated entry (j was pushed again when evaluated)
            if dirty[j]:
                self._requeue(j)
                continue
            return self._untie(j, low)
        return None

    def _untie(self, j: int, low: float) -> int:
        """``j`` wins unless a project too close to call exists; then decide exactly."""
        heap, alive, dirty, rho = self.heap, self.alive, self.dirty, self.rho
        bound = low * (1 + NEAR)
        tied = [j]
        while heap and heap[0][0] <= bound:
            other, k = heapq.heappop(heap)
            if not alive[k] or other != rho[k] or k in tied:
                continue
            if dirty[k]:
                self._requeue(k)
                continue
            tied.append(k)
        if len(tied) == 1:
            return j
        den = self._dens()
        if not all(den[p] for p in tied):
            raise TooClose
        best = min(tied, key=lambda p: (-den[p], p))  # ρ = 1/den: the largest den
        for p in tied:
            if p != best:
                heapq.heappush(heap, (rho[p], p))
        return best

    def _evaluate(self, j: int) -> None:
        """ρ from the supporters' money sorted: 1/n if the poorest can clearly pay an equal
        share; otherwise the poorest pay all they have until the others can share the rest."""
        self.dirty[j] = False
        data = self.data
        groups, get = data.members[j], self.money.__getitem__
        cost, n = data.fcosts[j], data.support[j]
        if n == len(groups):  # listed once per voter: the money alone will do
            data.unsorted[j] += 1
            if data.unsorted[j] >= RESORT:  # the groups sorted by money, their money is too
                data.unsorted[j] = 0
                groups.sort(key=get)
                data.gathers[j] = _gatherer(groups)
                held = list(data.gathers[j](self.money))
                if not self._can_pay(j, sum(held), n):
                    return
            else:
                # in the order of the last sort of the groups: nearly sorted
                stale = data.gathers[j](self.money)
                if not self._can_pay(j, sum(stale), n):
                    return
                held = sorted(stale)
            weights = None
        else:
            groups.sort(key=get)  # in the order of the last sort: nearly sorted already
            held = list(map(get, groups))
            weights = list(map(data.weights.__getitem__, groups))
            if not self._can_pay(j, sum(map(mul, held, weights)), n):
                return
        if held[0] > cost / n + self.tol:
            self._set(j, cost / n, n)  # every supporter pays the same: ρ = 1/n exactly
            return
        broke = bisect_right(held, 0.0)
        poor, paid, rich = _sweep(held, weights, cost, n, broke)
        pay = (cost - paid) / rich
        # ρ = 1/rich exactly if the poor have nothing and the poorest rich clearly can pay
        exact = poor == broke and held[poor] > pay + self.tol
        self._set(j, pay, rich if exact else 0)

    def _can_pay(self, j: int, total: float, n: int) -> bool:
        """Whether j's supporters, holding ``total``, can pay its cost; it dies if not."""
        cost = self.data.fcosts[j]
        if total < cost - self.tol * n:
            self.alive[j] = False
            return False
        if total <= cost + self.tol * n:
            raise TooClose
        return True

    def _set(self, j: int, pay: float, den: int) -> None:
        self.pay[j] = pay
        self.rho[j] = pay / self.data.fcosts[j]
        self.den[j] = den

    def _fund(self, j: int) -> None:
        self.alive[j] = False
        self.chosen.append(j)
        self.rhos.append(self.rho[j])
        self.dens.append(0 if self.fuzzy else self.den[j])
        pay, money = self.pay[j], self.money
        clear, close = pay + self.tol, pay - self.tol
        for g in self.data.groups[j]:
            m = money[g]
            if m > clear:
                money[g] = m - pay
            elif m:  # pays all it has, or all but a crumb: too close to tell what is left
                if m >= close:
                    self.fuzzy = True
                money[g] = m - pay if m > pay else 0.0
        dirty = self.dirty  # someone paid: the cost is positive
        for k in self.data.touched(j):
            dirty[k] = True


def _sweep(
    held: list[float], weights: list[int] | None, cost: float, n: int, broke: int
) -> tuple[int, float, int]:
    """(poor, paid, rich): the first ``poor`` groups of ``held`` (ascending) pay all they have,
    ``paid`` in all, and the ``rich`` voters left share the rest of ``cost``.

    A group holding less than what the rich would pay with the groups before it poor is
    poor too, so whole runs of groups below that are taken at once before the last steps.
    """
    poor, paid = broke, 0.0
    rich = n - (broke if weights is None else sum(weights[:broke]))
    while (cut := bisect_left(held, (cost - paid) / rich, poor)) > poor + 1:
        if weights is None:
            paid += sum(held[poor:cut])
            rich -= cut - poor
        else:
            paid += sum(map(mul, held[poor:cut], weights[poor:cut]))
            rich -= sum(weights[poor:cut])
        poor = cut
    while cost - paid > held[poor] * rich:
        weight = 1 if weights is None else weights[poor]
        paid += held[poor] * weight
        rich -= weight
        poor += 1
    return poor, paid, rich


def _gatherer(indices: list[int]) -> Callable[[list[float]], tuple[float, ...]]:
    """The values at ``indices`` as a tuple: ``itemgetter``, twice as fast as a ``map`` of
    ``list.__getitem__`` (which returns the value itself for a single index)."""
    if len(indices) == 1:
        (only,) = indices
        return lambda values: (values[only],)
    return itemgetter(*indices)


def _cut(ballots: Sequence[Collection[int]], indices: list[int]) -> Iterator[Collection[int]]:
    """``ballots`` at ``indices``, one after the other."""
    cut = getattr(ballots, "cut", None)
    if cut is not None:
        return cut(indices)  # type: ignore[no-any-return]
    return map(ballots.__getitem__, indices)


def _affordable(cost: Fraction, fcost: float, support: int, t: Fraction, ft: float) -> bool:
    """Whether ``support`` voters holding t each can pay ``cost`` (exactly when close)."""
    total = ft * support
    if abs(total - fcost) > NEAR * fcost:
        return total > fcost
    return t * support >= cost


_START, _BROKE = 0, 1  # the classes of every voter at the start, and of voters with no money


class ExactRun:
    """One MES run from per-voter budget ``t`` in exact rationals, voters in money classes.

    Voters who supported the same funded projects so far hold the same money, so money is
    kept per class, not per voter: the groups of a funded project move from their class to the
    class "after paying for it"; voters left with nothing share one class.
    """

    def __init__(self, data: MesData, t: Fraction) -> None:
        self.data = data
        self.group_class = [_START] * len(data.ballots)
        self.money: list[Fraction] = [t, Fraction(0)]
        self.fmoney: list[float] = [float(t), 0.0]
        self.alive = [t * s >= c for c, s in zip(data.costs, data.support, strict=True)]
        self.dirty = [False] * len(data.costs)
        self.rho: list[Fraction] = [Fraction(1, s) for s in data.support]  # all rich: 1/n
        self.pay: list[Fraction] = [c / s for c, s in zip(data.costs, data.support, strict=True)]
        self.heap = [(rho, j) for j, rho in enumerate(self.rho) if self.alive[j]]
        heapq.heapify(self.heap)
        self.chosen: list[int] = []
        self.rhos: list[Fraction] = []  # the winners' ρ, round by round

    def result(self) -> MesResult:
        self.run()
        dens = [rho.denominator if rho.numerator == 1 else 0 for rho in self.rhos]
        return MesResult(self.chosen, [float(rho) for rho in self.rhos], dens)

    def run(self) -> list[int]:
        """Fund the least-ρ project until none is affordable; the projects in order."""
        while (winner := self._next()) is not None:
            self._fund(winner)
        return self.chosen

    def _next(self) -> int | None:
        """The live project with the least (ρ, tie rank), lazily re-evaluated."""
        while self.heap:
            rho, j = heapq.heappop(self.heap)
            if not self.alive[j]:
                continue
            if self.dirty[j]:
                self._evaluate(j)
                if self.alive[j]:
                    heapq.heappush(self.heap, (self.rho[j], j))
            elif self.rho[j] != rho:
                heapq.heappush(self.heap, (self.rho[j], j))
            else:
                return j
        return None

    def _evaluate(self, j: int) -> None:
        self.dirty[j] = False
        members: Counter[int] = Counter()
        classes, weights = self.group_class, self.data.weights
        for g in self.data.groups[j]:
            members[classes[g]] += weights[g]
        order = sorted(members, key=self.fmoney.__getitem__)
        swept = self._sweep(j, members, order)
        if swept is not None and not self._split_holds(order, *swept):
            order.sort(key=self.money.__getitem__)  # floats too close to call: go exact
            swept = self._sweep(j, members, order)
        if swept is None:
            self.alive[j] = False
            return
        self.pay[j] = swept[0]
        self.rho[j] = swept[0] / self.data.costs[j]

    def _sweep(
        self, j: int, members: Counter[int], order: list[int]
    ) -> tuple[Fraction, int] | None:
        """(payment of a rich supporter, number of poor classes), or None if unaffordable.

        The poorest classes pay all they have until the others can share the rest equally.
        """
        remaining = self.data.costs[j]
        weight = self.data.support[j]
        money = self.money
        for poor, c in enumerate(order):
            if remaining <= money[c] * weight:
                return remaining / weight, poor
            w = members[c]
            remaining -= w * money[c]
            weight -= w
        return None

    def _split_holds(self, order: list[int], pay: Fraction, poor: int) -> bool:
        """Exact check of the float-sorted split where floats are too close to trust."""
        money, fmoney, fpay = self.money, self.fmoney, float(pay)
        for c in reversed(order[:poor]):
            if fmoney[c] < fpay * (1 - NEAR):
                break
            if not money[c] < pay:
                return False
        for c in order[poor:]:
            if fmoney[c] > fpay * (1 + NEAR):
                break
            if not money[c] >= pay:
                return False
        return True

    def _fund(self, j: int) -> None:
        self.alive[j] = False
        self.chosen.append(j)
        self.rhos.append(self.rho[j])
        pay = self.pay[j]
        groups, classes = self.data.groups[j], self.group_class
        olds = list(map(classes.__getitem__, groups))
        split = {old: self._paid(old, pay) for old in set(olds)}
        if all(new == old for old, new in split.items()):
            return
        deque(map(classes.__setitem__, groups, map(split.__getitem__, olds)), maxlen=0)
        dirty = self.dirty
        for k in self.data.touched(j):
            dirty[k] = True

    def _paid(self, c: int, pay: Fraction) -> int:
        """The class that class ``c`` becomes after paying ``min(money, pay)``."""
        if c == _BROKE or self.money[c] <= pay:
            return _BROKE
        money = self.money[c] - pay
        self.money.append(money)
        self.fmoney.append(float(money))
        return len(self.money) - 1
