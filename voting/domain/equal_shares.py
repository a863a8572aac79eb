"""The Method of Equal Shares engine behind ``outcomes.mes`` and ``outcomes.mes_add1``.

Cost satisfaction, exact money in per-class ``Fraction`` s, lazy ρ re-evaluation, and the
proof used to skip Add1 steps: the algorithm is described in the ``outcomes`` docstring.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Iterable
from fractions import Fraction


class MesData:
    """What every MES run on one election shares: costs, supporter groups, neighbours.

    Projects are numbered 0, 1, … in tie order (lower wins a tie); only projects with a
    positive cost and at least one supporter take part. ``groups`` gives each distinct ballot
    (the numbers of the projects it approves) with the number of voters who cast it.
    """

    def __init__(
        self, costs: list[Fraction], budget: Fraction, groups: Iterable[tuple[list[int], int]]
    ) -> None:
        self.costs = costs
        self.budget = budget
        self.ballots: list[list[int]] = []  # per group: the projects it approves
        self.groups: list[list[int]] = [[] for _ in costs]  # per project: its groups
        self.voters: list[list[int]] = [[] for _ in costs]  # the same, once per voter
        for ballot, weight in groups:
            if ballot:
                g = len(self.ballots)
                self.ballots.append(ballot)
                for j in ballot:
                    self.groups[j].append(g)
                    if weight == 1:
                        self.voters[j].append(g)
                    else:
                        self.voters[j].extend([g] * weight)
        self.support = [len(voters) for voters in self.voters]
        self._neighbours: dict[int, set[int]] = {}

    def neighbours(self, j: int) -> set[int]:
        """The projects that share a supporter with project j (j included)."""
        found = self._neighbours.get(j)
        if found is None:
            found = self._neighbours[j] = set().union(
                *map(self.ballots.__getitem__, self.groups[j])
            )
        return found

    def blocks(self, chosen: list[int]) -> list[list[int]]:
        """``chosen`` cut into runs of projects that pairwise share no supporter."""
        blocks: list[list[int]] = []
        for j in chosen:
            if blocks and not any(j in self.neighbours(k) for k in blocks[-1]):
                blocks[-1].append(j)
            else:
                blocks.append([j])
        return blocks

    def cost_of(self, chosen: Iterable[int]) -> Fraction:
        return sum((self.costs[j] for j in chosen), Fraction(0))

    def exhaustive(self, chosen: list[int]) -> bool:
        """No unfunded supported project fits in what ``chosen`` leaves."""
        left = self.budget - self.cost_of(chosen)
        taken = set(chosen)
        return all(c > left for j, c in enumerate(self.costs) if j not in taken)


_START, _BROKE = 0, 1  # the classes of every voter at the start, and of voters with no money
_NEAR = 1e-9  # floats this close (relatively) are compared exactly


class MesRun:
    """One MES run from per-voter budget ``t``, in money classes (``outcomes`` docstring)."""

    def __init__(self, data: MesData, t: Fraction) -> None:
        self.data = data
        self.group_class = [_START] * len(data.ballots)
        self.money: list[Fraction] = [t, Fraction(0)]
        self.fmoney: list[float] = [float(t), 0.0]
        count = len(data.costs)
        self.alive = [t * s >= c for c, s in zip(data.costs, data.support, strict=True)]
        self.dirty = [False] * count
        self.rho: list[Fraction] = [Fraction(1, s) for s in data.support]  # all rich: 1/n
        self.pay: list[Fraction] = [c / s for c, s in zip(data.costs, data.support, strict=True)]
        self.heap = [(rho, j) for j, rho in enumerate(self.rho) if self.alive[j]]
        heapq.heapify(self.heap)
        self.chosen: list[int] = []
        self.rhos: list[Fraction] = []  # the winners' ρ, round by round

    def run(self) -> list[int]:
        """Fund the least-ρ project until none is affordable; the projects in order."""
        while (winner := self._next()) is not None:
            self._fund(winner)
        return self.chosen

    def follows(self, chosen: list[int], rhos: list[Fraction]) -> bool:
        """Whether a run from a smaller budget picking ``chosen`` at ``rhos`` is also this one's.

        With the same winners so far, every voter's money grows with the starting budget and
        every ρ shrinks. So if each winner's ρ at the smaller budget is at most every other ρ
        here (strictly below those that win ties against it), and nothing else is affordable
        here at the end, every starting budget in between funds the same projects. Winners in
        a row that share no supporter form a block: any order among them gives the same set and
        the same money after them, so only the projects outside the block must stay above the
        block's largest ρ.
        """
        start = 0
        for block in self.data.blocks(chosen):
            end = start + len(block)
            if len(block) == 1 or not self._beats_all(set(block), max(rhos[start:end])):
                for winner, rho in zip(block, rhos[start:end], strict=True):
                    if not self._beats_all({winner}, rho):
                        return False
                    self._fund(winner)
            else:  # in this run's own order: the least ρ first, ties by rank
                for winner in sorted(block, key=lambda j: (self.rho[j], j)):
                    self._fund(winner)
            start = end
        extra = self._next()
        if extra is None:
            return True
        heapq.heappush(self.heap, (self.rho[extra], extra))  # left as found, for run()
        return False

    def _beats_all(self, insiders: set[int], rho: Fraction) -> bool:
        """No live project outside ``insiders`` has ρ below ``rho`` (or equal, winning a tie)."""
        last = max(insiders)
        held = []
        ok = True
        while self.heap and ok:
            low, j = self.heap[0]
            if low > rho or (low == rho and j > last):
                break
            heapq.heappop(self.heap)
            if not self.alive[j]:
                continue
            if j in insiders:
                held.append((low, j))
            elif self.dirty[j]:
                self._requeue(j)
            else:
                ok = False
                held.append((low, j))
        for entry in held:
            heapq.heappush(self.heap, entry)
        for j in insiders:
            if self.dirty[j]:
                self._evaluate(j)
        return ok and all(self.alive[j] for j in insiders)

    def _requeue(self, j: int) -> None:
        self._evaluate(j)
        if self.alive[j]:
            heapq.heappush(self.heap, (self.rho[j], j))

    def _next(self) -> int | None:
        """The live project with the least (ρ, tie rank), lazily re-evaluated."""
        while self.heap:
            rho, j = heapq.heappop(self.heap)
            if not self.alive[j]:
                continue
            if self.dirty[j]:
                self._requeue(j)
            elif self.rho[j] != rho:
                heapq.heappush(self.heap, (self.rho[j], j))
            else:
                return j
        return None

    def _members(self, j: int) -> Counter[int]:
        """Project j's supporters per money class."""
        return Counter(map(self.group_class.__getitem__, self.data.voters[j]))

    def _evaluate(self, j: int) -> None:
        self.dirty[j] = False
        members = self._members(j)
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
            if fmoney[c] < fpay * (1 - _NEAR):
                break
            if not money[c] < pay:
                return False
        for c in order[poor:]:
            if fmoney[c] > fpay * (1 + _NEAR):
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
        for k in self.data.neighbours(j):
            dirty[k] = True

    def _paid(self, c: int, pay: Fraction) -> int:
        """The class that class ``c`` becomes after paying ``min(money, pay)``."""
        if c == _BROKE or self.money[c] <= pay:
            return _BROKE
        money = self.money[c] - pay
        self.money.append(money)
        self.fmoney.append(float(money))
        return len(self.money) - 1
