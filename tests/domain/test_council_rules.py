"""Council rules: working days, the street's quorum, ballot figures, the two-person rule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from voting.domain import council, notice_period
from voting.domain.council import Ballots, CouncilRecord, WinnerDetails
from voting.domain.errors import InvalidInput, NotPermitted

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_add_working_days_from_friday_skips_weekend():
    assert notice_period.add_working_days(date(2026, 5, 15), 1) == date(2026, 5, 18)  # Fri → Mon
    assert notice_period.add_working_days(date(2026, 5, 15), 5) == date(2026, 5, 22)


def test_add_working_days_from_saturday_counts_from_monday():
    assert notice_period.add_working_days(date(2026, 5, 16), 5) == date(2026, 5, 22)


def test_add_working_days_zero_refused():
    with pytest.raises(ValueError, match="at least 1"):
        notice_period.add_working_days(date(2026, 5, 15), 0)


def test_objections_close_at_local_midnight_after_last_working_day():
    # Tuesday 10:30 Beijing (02:30 UTC): five working days → next Tuesday, closes Wed 00:00.
    close = notice_period.objections_close_at(datetime(2026, 5, 12, 2, 30, tzinfo=UTC), 5, SHANGHAI)
    assert close == datetime(2026, 5, 20, 0, 0, tzinfo=SHANGHAI)
    assert notice_period.period_open(datetime(2026, 5, 19, 15, 59, tzinfo=UTC), close)
    assert not notice_period.period_open(datetime(2026, 5, 19, 16, 0, tzinfo=UTC), close)


def test_has_quorum_is_strictly_more_than_the_street_fraction():
    assert not council.has_quorum(30, 20)  # exactly 2/3 is not enough
    assert council.has_quorum(30, 21)
    half = council.quorum_of(1, 2)
    assert not council.has_quorum(30, 15, half)
    assert council.has_quorum(30, 16, half)


@pytest.mark.parametrize(("num", "den"), [(3, 3), (1, 0), (-1, 3), (4, 3)])
def test_quorum_of_out_of_range_refused(num, den):
    with pytest.raises(InvalidInput):
        council.quorum_of(num, den)


@pytest.mark.parametrize(
    ("ballots", "problem"),
    [
        (None, "ballots_missing"),
        (Ballots(26, 25, 24), "ballots_issued_range"),
        (Ballots(25, 25, 26), "ballots_order"),
        (Ballots(24, 25, 20), "ballots_order"),
        (Ballots(25, 24, -1), "ballots_issued_range"),
    ],
)
def test_ballot_problems_reports_each_broken_order(ballots, problem):
    assert council.ballot_problems(ballots, 25) == [(problem, None)]


def test_ballot_problems_valid_figures_none():
    assert council.ballot_problems(Ballots(25, 24, 23), 25) == []


def _record(**overrides) -> CouncilRecord:  # type: ignore[no-untyped-def]
    values = {
        "members_expected": 30,
        "members_present": 25,
        "votes": {1: 20, 2: 18, 3: 5},
        "selected": frozenset({1, 2}),
        "ballots": Ballots(25, 25, 24),
        "tellers": "王、李",
        "procedure": "差额票选",
        "held_on": date(2026, 5, 20),
        "details": {
            1: WinnerDetails("新增停车位30个", "城管科", date(2026, 11, 30)),
            2: WinnerDetails("充电桩20个", "城管科", date(2026, 10, 31)),
        },
    }
    values.update(overrides)
    return CouncilRecord(**values)  # type: ignore[arg-type]


def _problems(record: CouncilRecord, ids=frozenset({1, 2, 3}), quorum=Fraction(2, 3)):  # type: ignore[no-untyped-def]
    return council.record_problems(
        record, seats=2, candidate_ids=ids, public_selected=frozenset({1, 2}), quorum=quorum
    )


def test_record_problems_complete_record_none():
    assert _problems(_record()) == []


def test_record_problems_votes_beyond_valid_ballots():
    problems = _problems(_record(votes={1: 25, 2: 20, 3: 4}))
    assert ("votes_range", 1) in problems
    assert ("votes_total", None) in problems  # 49 > 24 valid × 2 seats


def test_record_problems_not_more_candidates_than_seats():
    assert ("not_competitive", None) in _problems(
        _record(votes={1: 2, 2: 2}), ids=frozenset({1, 2})
    )


def test_record_problems_street_quorum_applies():
    record = _record(members_present=16, ballots=Ballots(16, 16, 16), votes={1: 10, 2: 9})
    assert ("no_quorum", None) in _problems(record)
    assert ("no_quorum", None) not in _problems(record, quorum=Fraction(1, 2))


def test_record_problems_winner_details_required():
    details = {1: WinnerDetails("", " ", None), 2: WinnerDetails("x", "y", date(2026, 5, 1))}
    problems = _problems(_record(details=details, tellers=" ", procedure=""))
    assert {
        ("target_missing", 1),
        ("unit_missing", 1),
        ("completion_missing", 1),
        ("completion_before_meeting", 2),
        ("tellers_missing", None),
        ("procedure_missing", None),
    } <= set(problems)


@pytest.mark.parametrize(("approver", "requester", "recorder"), [(1, 1, 2), (2, 1, 2)])
def test_ensure_second_person_requester_or_recorder_refused(approver, requester, recorder):
    with pytest.raises(NotPermitted) as exc:
        council.ensure_second_person(approver, requester, recorder)
    assert exc.value.code == "same_person"


def test_ensure_second_person_third_person_allowed():
    assert council.ensure_second_person(3, 1, 2) is None  # no NotPermitted raised
