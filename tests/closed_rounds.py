"""Rounds that went through voting and close (and the council), for the export tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from tests.conftest import TEST_PEPPER
from tests.council_records import council_input, request_and_approve
from tests.factories import World
from voting.extensions import db
from voting.models import VotingRound
from voting.services import council, rounds, voting

Choices = Sequence[int] | dict[int, int]


def cast(code: str, choices: Choices, now: datetime) -> None:
    login = voting.login_with_code(code, pepper=TEST_PEPPER.encode(), now=now)
    voting.cast_ballot(login, choices, now=now)


def ballots_for(world: World) -> list[list[int]]:
    """Six ballots over the first four candidates: a 4 votes, b 3, c 2, d 1; three alike."""
    a, b, c, d = (x.id for x in world.candidates[:4])
    return [[a, b], [b, a], [a, c], [a, b], [d], [c]]


def open_round_with_ballots(
    world: World, now: datetime, ballots: Sequence[Choices] | None = None, **round_options: object
) -> int:
    """An open round in which residents cast ``ballots`` (default: ``ballots_for(world)``)."""
    ballots = ballots_for(world) if ballots is None else ballots
    round_id = world.open_round(now, **round_options)
    world.residents(len(ballots))
    for code, choices in zip(world.issue_codes(round_id), ballots, strict=True):
        cast(code, choices, now)
    return round_id


def closed_round(
    world: World, now: datetime, ballots: Sequence[Choices] | None = None, **round_options: object
) -> VotingRound:
    """A round closed after its window with ``ballots`` cast in it."""
    round_id = open_round_with_ballots(world, now, ballots, **round_options)
    rounds.close_round(world.official, round_id, now=now + timedelta(days=14))
    db.session.expire_all()
    rnd = db.session.get(VotingRound, round_id)
    assert rnd is not None
    return rnd


def finalize(
    world: World, round_id: int, now: datetime, *, selected: set[int], reasons: dict[int, str]
) -> None:
    """The council selects ``selected``, explaining every departure from the advice."""
    rnd = db.session.get(VotingRound, round_id)
    assert rnd is not None
    data = council_input(
        [e.candidate_id for e in rnd.entries],
        selected=selected,
        reasons=reasons,
        held_on=date(2026, 5, 28),
        votes={e.candidate_id: 12 if e.candidate_id in selected else 1 for e in rnd.entries},
    )
    problems = council.save_record(world.clerk, round_id, data, now=now + timedelta(days=15))
    assert problems == [], problems
    request_and_approve(world.clerk, world.official, round_id, now=now + timedelta(days=15))
    db.session.expire_all()
