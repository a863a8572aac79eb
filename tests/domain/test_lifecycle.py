"""The life of a round: draft -> open -> closed -> finalized, and the voting window."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from voting.domain.errors import InvalidTransition, RoundNotOpen
from voting.domain.lifecycle import (
    Action,
    RoundStatus,
    check_close,
    check_window,
    ensure_can_vote,
    next_status,
    results_visible,
    voting_phase,
)

OPENS = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
CLOSES = datetime(2025, 3, 8, 20, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)

ALLOWED = {
    (RoundStatus.DRAFT, Action.OPEN): RoundStatus.OPEN,
    (RoundStatus.OPEN, Action.CLOSE): RoundStatus.CLOSED,
    (RoundStatus.CLOSED, Action.FINALIZE): RoundStatus.FINALIZED,
}
FORBIDDEN = [pair for pair in itertools.product(RoundStatus, Action) if pair not in ALLOWED]


def test_status_and_action_enums_complete():
    assert [s.value for s in RoundStatus] == ["draft", "open", "closed", "finalized"]
    assert [a.value for a in Action] == ["open", "close", "finalize"]
    assert len(FORBIDDEN) == 4 * 3 - 3


@pytest.mark.parametrize(("pair", "expected"), ALLOWED.items())
def test_next_status_allowed_pair_next_status(pair, expected):
    status, action = pair
    assert next_status(status, action) is expected


@pytest.mark.parametrize(("status", "action"), FORBIDDEN)
def test_next_status_forbidden_pair_raises_invalid_transition(status, action):
    with pytest.raises(InvalidTransition) as exc:
        next_status(status, action)
    assert exc.value.code == "invalid_transition"
    assert exc.value.params == {"status": status.value, "action": action.value}


@pytest.mark.parametrize("action", Action)
def test_next_status_finalized_every_action_raises(action):
    with pytest.raises(InvalidTransition):
        next_status(RoundStatus.FINALIZED, action)


# --- window ----------------------------------------------------------------------------


def test_check_window_positive_interval_passes():
    assert check_window(OPENS, CLOSES) is None
    assert check_window(OPENS, OPENS + TICK) is None


@pytest.mark.parametrize("closes_at", [OPENS, OPENS - TICK, OPENS - timedelta(days=1)])
def test_check_window_empty_or_reversed_raises_window_order(closes_at):
    with pytest.raises(InvalidTransition) as exc:
        check_window(OPENS, closes_at)
    assert exc.value.code == "window_order"


@pytest.mark.parametrize(
    ("status", "now", "expected"),
    [
        (RoundStatus.OPEN, OPENS - timedelta(days=1), "not_started"),
        (RoundStatus.OPEN, OPENS - TICK, "not_started"),
        (RoundStatus.OPEN, OPENS, "voting"),
        (RoundStatus.OPEN, OPENS + timedelta(days=3), "voting"),
        (RoundStatus.OPEN, CLOSES - TICK, "voting"),
        (RoundStatus.OPEN, CLOSES, "ended"),
        (RoundStatus.OPEN, CLOSES + timedelta(days=1), "ended"),
        (RoundStatus.DRAFT, OPENS + timedelta(days=3), "draft"),
        (RoundStatus.DRAFT, OPENS - TICK, "draft"),
        (RoundStatus.CLOSED, OPENS + timedelta(days=3), "closed"),
        (RoundStatus.CLOSED, CLOSES, "closed"),
        (RoundStatus.FINALIZED, OPENS + timedelta(days=3), "finalized"),
    ],
)
def test_voting_phase_status_and_clock_phase(status, now, expected):
    assert voting_phase(status, OPENS, CLOSES, now) == expected


def test_voting_phase_beijing_time_same_instant_same_phase():
    beijing = timezone(timedelta(hours=8))
    assert OPENS.astimezone(beijing).hour == 16
    assert voting_phase(RoundStatus.OPEN, OPENS, CLOSES, OPENS.astimezone(beijing)) == "voting"
    assert voting_phase(RoundStatus.OPEN, OPENS, CLOSES, CLOSES.astimezone(beijing)) == "ended"
    assert (
        voting_phase(RoundStatus.OPEN, OPENS.astimezone(beijing), CLOSES, OPENS - TICK)
        == "not_started"
    )


@pytest.mark.parametrize("now", [OPENS, OPENS + timedelta(hours=1), CLOSES - TICK])
def test_ensure_can_vote_inside_window_passes(now):
    assert ensure_can_vote(RoundStatus.OPEN, OPENS, CLOSES, now) is None


@pytest.mark.parametrize(
    ("status", "now", "phase"),
    [
        (RoundStatus.OPEN, OPENS - TICK, "not_started"),
        (RoundStatus.OPEN, CLOSES, "ended"),
        (RoundStatus.DRAFT, OPENS + timedelta(hours=1), "draft"),
        (RoundStatus.CLOSED, OPENS + timedelta(hours=1), "closed"),
        (RoundStatus.FINALIZED, OPENS + timedelta(hours=1), "finalized"),
    ],
)
def test_ensure_can_vote_outside_voting_raises_round_not_open_with_phase(status, now, phase):
    with pytest.raises(RoundNotOpen) as exc:
        ensure_can_vote(status, OPENS, CLOSES, now)
    assert exc.value.code == "round_not_open"
    assert exc.value.params == {"phase": phase, "opens_at": OPENS, "closes_at": CLOSES}


# --- closing ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "\t\n", "\u3000"])
def test_check_close_early_blank_reason_raises(reason):
    with pytest.raises(InvalidTransition) as exc:
        check_close(CLOSES, CLOSES - TICK, reason)
    assert exc.value.code == "early_close_needs_reason"


@pytest.mark.parametrize("now", [OPENS, CLOSES - TICK])
def test_check_close_early_with_reason_passes(now):
    assert check_close(CLOSES, now, "暴雨红色预警，投票点关闭") is None


@pytest.mark.parametrize("now", [CLOSES, CLOSES + timedelta(days=2)])
def test_check_close_at_or_after_closes_at_no_reason_passes(now):
    assert check_close(CLOSES, now, "") is None


# --- results ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "running_public", "expected"),
    [
        (RoundStatus.DRAFT, False, False),
        (RoundStatus.DRAFT, True, False),
        (RoundStatus.OPEN, False, False),
        (RoundStatus.OPEN, True, True),
        (RoundStatus.CLOSED, False, True),
        (RoundStatus.CLOSED, True, True),
        (RoundStatus.FINALIZED, False, True),
        (RoundStatus.FINALIZED, True, True),
    ],
)
def test_results_visible_status_and_setting_expected(status, running_public, expected):
    assert results_visible(status, running_public) is expected
