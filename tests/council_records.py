"""Complete council meeting records and the two-person finalization, for the tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from voting.domain.council import Ballots, WinnerDetails
from voting.models import StaffUser
from voting.services import council

PROCEDURE = "差额票选，每位议事会成员最多选 2 项，得票多者入选。"


def winner_details(candidate_ids: Iterable[int], held_on: date) -> dict[int, WinnerDetails]:
    """A target, a unit and a completion date for each candidate."""
    return {
        cid: WinnerDetails("新增停车位30个", "凯旋街道城管科", held_on + timedelta(days=180))
        for cid in candidate_ids
    }


def council_input(
    candidate_ids: Iterable[int],
    *,
    selected: Iterable[int],
    reasons: Mapping[int, str] | None = None,
    held_on: date = date(2026, 5, 20),
    present: int = 25,
    votes: Mapping[int, int] | None = None,
    ballots: Ballots | None = None,
) -> council.CouncilInput:
    """A record that passes every rule when the votes and reasons fit."""
    ids = list(candidate_ids)
    chosen = frozenset(selected)
    return council.CouncilInput(
        held_on=held_on,
        place="凯旋街道会议室",
        members_expected=30,
        members_present=present,
        resolution="经议事会票选，确定以下项目。",
        votes=dict(votes) if votes is not None else {c: 12 if c in chosen else 2 for c in ids},
        selected=chosen,
        reasons=dict(reasons or {}),
        tellers="王计票、李监票",
        ballots=ballots or Ballots(present, present, present - 1),
        procedure=PROCEDURE,
        details=winner_details(chosen, held_on),
    )


def request_and_approve(
    requester: StaffUser, approver: StaffUser, round_id: int, now: datetime | None = None
) -> None:
    """One staff member requests finalization, a second approves it."""
    council.request_finalization(requester, round_id, now=now)
    council.approve(approver, round_id, now=now)
