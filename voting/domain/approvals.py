"""Approval ballots by number, the form the outcome rules count from.

Projects are numbers 0 … m-1 and voters who cast the same ballot form a *group*. Built once
per election (``pabulib`` cuts it straight out of a file's vote cells), it gives each
project's supporter groups without a set or a dict per ballot.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, islice, repeat
from operator import eq
from typing import TypeVar, overload

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class ApprovalIndex:
    """``weights[g]`` voters cast ballot g, which names the projects ``ballots[g]`` (a project
    named twice may appear twice); ``groups[p]`` lists the groups naming project p, each
    once, in ascending order."""

    groups: list[list[int]]
    weights: Sequence[int]
    ballots: Sequence[Sequence[int]]

    def counts(self) -> list[int]:
        """How many voters name each project."""
        weight = self.weights.__getitem__
        return [sum(map(weight, groups_of)) for groups_of in self.groups]

    @property
    def voters(self) -> int:
        """How many voters cast the ballots."""
        return sum(self.weights)


def index_ballots(
    ballots: Sequence[Sequence[int]], weights: Sequence[int], count: int
) -> ApprovalIndex:
    """The index of ``ballots`` (project numbers below ``count``) cast by ``weights`` voters."""
    flat = list(chain.from_iterable(ballots))
    return index_flat(flat, list(map(len, ballots)), weights, count)


def index_groups(
    groups: Iterable[tuple[Iterable[K], int]], position: Mapping[K, int], count: int
) -> ApprovalIndex:
    """The index of ``groups`` — (the keys a ballot lists, how many voters cast it) — with
    each key numbered by ``position`` (below ``count``)."""
    ballots: list[list[int]] = []
    weights: list[int] = []
    for keys, n in groups:
        ballots.append(list(map(position.__getitem__, keys)))
        weights.append(n)
    return index_ballots(ballots, weights, count)


def index_flat(
    flat: list[int], lengths: list[int], weights: Sequence[int], count: int
) -> ApprovalIndex:
    """The index of the ballots ``flat`` holds one after the other, of ``lengths``."""
    groups: list[list[int]] = [[] for _ in range(count)]
    appends = [groups_of.append for groups_of in groups]
    numbers = chain.from_iterable(map(repeat, range(len(lengths)), lengths))
    for p, g in zip(flat, numbers, strict=True):
        appends[p](g)
    for p, groups_of in enumerate(groups):  # a project named twice on a ballot: adjacent
        if any(map(eq, groups_of, islice(groups_of, 1, None))):
            groups[p] = list(dict.fromkeys(groups_of))
    ends = list(accumulate(lengths))
    return ApprovalIndex(groups, weights, Slices(flat, [0, *ends[:-1]], ends))


class Slices(Sequence[list[int]]):
    """``flat[starts[i]:ends[i]]`` for each i, cut when asked for."""

    def __init__(self, flat: list[int], starts: list[int], ends: list[int]) -> None:
        self._flat, self._starts, self._ends = flat, starts, ends

    def __len__(self) -> int:
        return len(self._ends)

    def __iter__(self) -> Iterator[list[int]]:
        flat = self._flat
        return map(flat.__getitem__, map(slice, self._starts, self._ends))

    @overload
    def __getitem__(self, index: int) -> list[int]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[int]]: ...

    def __getitem__(self, index: int | slice) -> list[int] | list[list[int]]:
        if isinstance(index, slice):
            return [
                self._flat[a:b] for a, b in zip(self._starts[index], self._ends[index], strict=True)
            ]
        return self._flat[self._starts[index] : self._ends[index]]

    def cut(self, indices: Sequence[int]) -> Iterator[list[int]]:
        """The slices at ``indices``, one after the other."""
        starts, ends = self._starts.__getitem__, self._ends.__getitem__
        return map(self._flat.__getitem__, map(slice, map(starts, indices), map(ends, indices)))
