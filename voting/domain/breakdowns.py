"""Turnout breakdowns with small cells withheld (k-anonymity, k = 10).

A *dimension* is a list of cells that split one total, and that total is published
(participants by community, by channel, by day). The rule for one dimension:

1. **Primary suppression.** A cell is withheld when it describes fewer than k residents:
   ``0 < count < k``. A cell with a *base* (its residents on the roll, for turnout against
   the roll) is also withheld when ``0 < base < k`` or ``0 < base - count < k``: "only 3
   did not vote" singles people out as much as "only 3 voted". An empty cell (0) describes
   nobody and is shown.
2. **Complementary suppression.** Because the total is published, a single withheld cell
   could be recovered as the total minus the other cells. So when exactly one cell is
   withheld, the smallest other cell is withheld too, preferring a non-empty one (an empty
   complement would tell that the two together hold fewer than k). With two or more cells
   withheld a reader learns only their sum, never one of them.
3. **Nested cells** (the station's votes split into assisted and unassisted): when the
   parent cell is withheld, every child is withheld, so the parent cannot be rebuilt from
   its children; otherwise rules 1 and 2 apply to the children with the parent as total.

A dimension of one cell equals the published total and hides nothing; its cell follows
rule 1 for consistency. Rates (turnout, shares) are withheld with their count, since a
rate times a shown base gives the count back.

Who reads what: the public gets :func:`redact`-ed cells (no count where withheld); staff
pages may keep the exact counts and show the ``withheld`` flag next to them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Generic, TypeVar

K_ANONYMITY = 10
# Days listed with zero participations in between, at most; past this only days with
# participations are listed (a window typed a year too long should not draw 365 bars).
MAX_FILLED_DAYS = 62

K = TypeVar("K")
J = TypeVar("J")


@dataclass(frozen=True)
class Cell(Generic[K]):
    """One cell of a breakdown: ``count`` is None when withheld from this reader."""

    key: K
    count: int | None
    base: int | None = None
    withheld: bool = False

    @property
    def rate(self) -> float | None:
        """count / base, or None when either is unknown or the base is empty."""
        if self.count is None or not self.base:
            return None
        return self.count / self.base


def _small(n: int, k: int) -> bool:
    return 0 < n < k


def below_k(count: int, base: int | None = None, *, k: int = K_ANONYMITY) -> bool:
    """Rule 1: whether this cell describes fewer than k residents."""
    if _small(count, k):
        return True
    return base is not None and (_small(base, k) or _small(base - count, k))


def _complement(cells: Sequence[Cell[K]]) -> int | None:
    """Index of the cell to withhold with a lone withheld one (rule 2), if any."""
    open_cells = [(i, c.count or 0) for i, c in enumerate(cells) if not c.withheld]
    if not open_cells:
        return None
    non_empty = [item for item in open_cells if item[1] > 0]
    pool = non_empty or open_cells
    return min(pool, key=lambda item: (item[1], item[0]))[0]


def withhold(
    counts: Sequence[tuple[K, int]],
    bases: Mapping[K, int] | None = None,
    *,
    k: int = K_ANONYMITY,
) -> list[Cell[K]]:
    """Cells of one dimension, in the given order, with rules 1 and 2 applied.

    Counts stay exact; the ``withheld`` flag says what a public reader must not see.
    """
    cells = [Cell(key, n, None if bases is None else bases.get(key, 0), False) for key, n in counts]
    cells = [replace(c, withheld=below_k(c.count or 0, c.base, k=k)) for c in cells]
    if sum(c.withheld for c in cells) == 1:
        extra = _complement(cells)
        if extra is not None:
            cells[extra] = replace(cells[extra], withheld=True)
    return cells


def withhold_nested(
    parent: Cell[K], counts: Sequence[tuple[J, int]], *, k: int = K_ANONYMITY
) -> list[Cell[J]]:
    """Rule 3: the children of ``parent``, all withheld if the parent is."""
    if parent.withheld:
        return [Cell(key, n, None, True) for key, n in counts]
    return withhold(counts, k=k)


def redact(cells: Iterable[Cell[K]]) -> list[Cell[K]]:
    """The cells as the public sees them: no count (and so no rate) where withheld."""
    return [replace(c, count=None) if c.withheld else c for c in cells]


def local_days(per_minute: Iterable[tuple[datetime, int]], zone: tzinfo) -> Counter[date]:
    """Counts per minute (aware datetimes) summed per calendar day in ``zone``."""
    days: Counter[date] = Counter()
    for at, n in per_minute:
        days[at.astimezone(zone).date()] += n
    return days


def day_range(
    counts: Mapping[date, int], first: date, last: date, *, max_days: int = MAX_FILLED_DAYS
) -> list[tuple[date, int]]:
    """Every day from ``first`` to ``last`` (zeros filled in) plus any day with counts.

    A span longer than ``max_days`` lists only the days with counts.
    """
    days = set(counts)
    if first <= last and (last - first).days < max_days:
        days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return [(day, counts.get(day, 0)) for day in sorted(days)]
