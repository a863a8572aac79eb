"""Small cells withheld from breakdowns (k = 10), and minutes summed into local days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from voting.domain.breakdowns import (
    K_ANONYMITY,
    Cell,
    below_k,
    day_range,
    local_days,
    redact,
    withhold,
    withhold_nested,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def withheld_keys(cells) -> set[object]:  # type: ignore[no-untyped-def]
    return {c.key for c in cells if c.withheld}


def test_k_is_ten():
    assert K_ANONYMITY == 10


@pytest.mark.parametrize(
    ("count", "base", "expected"),
    [
        (0, None, False),  # nobody: nothing to single out
        (1, None, True),
        (9, None, True),
        (10, None, False),
        (9, 500, True),
        (250, 500, False),
        (495, 500, True),  # only 5 did not vote: as identifying as 5 who did
        (500, 500, False),  # everyone voted: the group is the whole (large) roll
        (490, 500, False),
        (0, 6, True),  # a roll of six residents says something about each of them
        (0, 0, False),
    ],
)
def test_below_k_counts_and_their_complement_on_the_roll(count, base, expected):
    assert below_k(count, base) is expected


def test_withhold_shows_every_cell_of_at_least_k():
    cells = withhold([("a", 10), ("b", 25), ("c", 0)])
    assert [(c.key, c.count, c.withheld) for c in cells] == [
        ("a", 10, False),
        ("b", 25, False),
        ("c", 0, False),
    ]


def test_withhold_one_small_cell_also_withholds_the_next_smallest():
    # Total 3 + 40 + 12 + 90 = 145 is published: 3 alone could be recovered by subtraction.
    cells = withhold([("a", 3), ("b", 40), ("c", 12), ("d", 90)])
    assert withheld_keys(cells) == {"a", "c"}
    public = redact(cells)
    shown = sum(c.count for c in public if c.count is not None)
    # What the reader can work out is the sum of the two withheld cells, not either one.
    assert 145 - shown == 15
    assert [c.count for c in public] == [None, 40, None, 90]


def test_withhold_complement_prefers_a_non_empty_cell():
    # An empty complement would give the small cell away: 145 - 0 - 140 = 5 for "a or b".
    cells = withhold([("a", 5), ("b", 0), ("c", 140), ("d", 30)])
    assert withheld_keys(cells) == {"a", "d"}


def test_withhold_complement_falls_back_to_an_empty_cell():
    cells = withhold([("a", 5), ("b", 0), ("c", 0)])
    assert withheld_keys(cells) == {"a", "b"}


def test_withhold_complement_ties_go_to_the_first_cell():
    cells = withhold([("a", 20), ("b", 4), ("c", 20)])
    assert withheld_keys(cells) == {"a", "b"}


def test_withhold_two_small_cells_need_no_complement():
    cells = withhold([("a", 3), ("b", 8), ("c", 200)])
    assert withheld_keys(cells) == {"a", "b"}


def test_withhold_single_cell_dimension_cannot_be_complemented():
    assert withheld_keys(withhold([("only", 4)])) == {"only"}


def test_withhold_with_bases_uses_the_roll_of_each_cell():
    counts = [("南肖埠社区", 120), ("景芳社区", 298), ("三里亭社区", 40)]
    bases = {"南肖埠社区": 400, "景芳社区": 300, "三里亭社区": 200}
    cells = withhold(counts, bases)
    # 景芳: only 2 did not vote; then the smallest other one goes too.
    assert withheld_keys(cells) == {"景芳社区", "三里亭社区"}
    assert [c.base for c in cells] == [400, 300, 200]
    assert cells[0].rate == pytest.approx(0.3)


def test_redact_keeps_base_and_drops_count_and_rate():
    [cell] = redact([Cell("x", 5, 300, True)])
    assert (cell.count, cell.base, cell.rate, cell.withheld) == (None, 300, None, True)
    [shown] = redact([Cell("y", 50, 200, False)])
    assert (shown.count, shown.rate) == (50, 0.25)


def test_rate_without_base_is_none():
    assert Cell("x", 12).rate is None
    assert Cell("x", 0, 0).rate is None


def test_withhold_nested_follows_a_withheld_parent():
    parent = Cell("station", 40, None, True)  # withheld as the complement elsewhere
    children = withhold_nested(parent, [("assisted", 15), ("unassisted", 25)])
    assert withheld_keys(children) == {"assisted", "unassisted"}


def test_withhold_nested_applies_the_rule_within_a_shown_parent():
    parent = Cell("station", 40)
    children = withhold_nested(parent, [("assisted", 6), ("unassisted", 34)])
    # station - unassisted would give assisted back, so both go.
    assert withheld_keys(children) == {"assisted", "unassisted"}
    shown = withhold_nested(parent, [("assisted", 12), ("unassisted", 28)])
    assert withheld_keys(shown) == set()


def test_local_days_sums_minutes_across_shanghai_midnight():
    minutes = [
        (datetime(2026, 5, 12, 15, 59, tzinfo=UTC), 3),  # 23:59 on 12 May in Hangzhou
        (datetime(2026, 5, 12, 16, 0, tzinfo=UTC), 4),  # 00:00 on 13 May
        (datetime(2026, 5, 12, 1, 0, tzinfo=UTC), 5),  # 09:00 on 12 May
        (datetime(2026, 5, 11, 23, 0, tzinfo=UTC), 1),  # 07:00 on 12 May, UTC's 11 May
    ]
    assert local_days(minutes, SHANGHAI) == {date(2026, 5, 12): 9, date(2026, 5, 13): 4}


def test_day_range_fills_the_window_with_zero_days():
    counts = {date(2026, 5, 12): 30, date(2026, 5, 14): 11}
    assert day_range(counts, date(2026, 5, 11), date(2026, 5, 14)) == [
        (date(2026, 5, 11), 0),
        (date(2026, 5, 12), 30),
        (date(2026, 5, 13), 0),
        (date(2026, 5, 14), 11),
    ]


def test_day_range_keeps_days_outside_the_window_and_skips_huge_windows():
    counts = {date(2026, 5, 20): 12}
    assert day_range(counts, date(2026, 5, 18), date(2026, 5, 19)) == [
        (date(2026, 5, 18), 0),
        (date(2026, 5, 19), 0),
        (date(2026, 5, 20), 12),
    ]
    assert day_range(counts, date(2026, 1, 1), date(2026, 12, 31)) == [(date(2026, 5, 20), 12)]
    assert day_range({}, date(2026, 5, 19), date(2026, 5, 18)) == []
