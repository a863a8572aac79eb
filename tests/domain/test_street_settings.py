"""The street's council settings: quorum at least 1/2 and below 1, objection days 1–30."""

from __future__ import annotations

import pytest

from voting.domain.street_settings import reduced, settings_problems


@pytest.mark.parametrize(("num", "den", "days"), [(1, 2, 1), (2, 3, 5), (3, 4, 30), (99, 100, 7)])
def test_settings_problems_valid_none(num, den, days):
    assert settings_problems(num, den, days) == []


@pytest.mark.parametrize(
    ("num", "den", "days", "problems"),
    [
        (1, 3, 5, [("quorum_bounds", "quorum_num")]),  # below a simple majority
        (49, 100, 5, [("quorum_bounds", "quorum_num")]),
        (1, 1, 5, [("quorum_bounds", "quorum_num")]),  # all members: never quorate
        (4, 3, 5, [("quorum_bounds", "quorum_num")]),
        (2, 0, 5, [("quorum_denominator", "quorum_den")]),
        (2, 3, 0, [("objection_days_range", "objection_days")]),
        (2, 3, 31, [("objection_days_range", "objection_days")]),
        (0, 3, 31, [("quorum_bounds", "quorum_num"), ("objection_days_range", "objection_days")]),
    ],
)
def test_settings_problems_out_of_range_named_by_field(num, den, days, problems):
    assert settings_problems(num, den, days) == problems


def test_reduced_lowest_terms():
    assert reduced(4, 6) == (2, 3)
    assert reduced(3, 4) == (3, 4)
