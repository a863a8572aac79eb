"""Helpers for tests of results, breakdowns and exports: residents voting through each
channel at a chosen time, and a counter of the SQL statements a block sends."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import event, select

from tests.conftest import TEST_PEPPER
from tests.factories import World, utc
from voting.domain import codes
from voting.extensions import db
from voting.models import Resident, VotingCode
from voting.services import rounds, station_desk, voting

PEPPER = TEST_PEPPER.encode()
BALLOT_TABLES = re.compile(r"\bballot(_choice)?\b", re.IGNORECASE)


def issue(world: World, round_id: int) -> dict[int, str]:
    """Issue the round's codes (once per round) and tell whose each one is, by its hash."""
    issued = {codes.code_hash(PEPPER, c): c for c in world.issue_codes(round_id, seed=round_id)}
    rows = db.session.execute(
        select(VotingCode.resident_id, VotingCode.code_hash).where(VotingCode.round_id == round_id)
    )
    return {resident_id: issued[digest] for resident_id, digest in rows if digest in issued}


def vote_by_code(
    codes_of: dict[int, str],
    residents: Sequence[Resident],
    at: datetime,
    choices: Sequence[int] | Mapping[int, int],
) -> None:
    """Each resident votes for ``choices`` with their own code at ``at``."""
    for resident in residents:
        login = voting.login_with_code(codes_of[resident.id], pepper=PEPPER, now=at)
        voting.cast_ballot(login, choices, now=at)


def by_phone(round_id: int, residents: Sequence[Resident], at: datetime) -> None:
    """Participations through the phone channel, written as the cast path writes them."""
    for resident in residents:
        voting.add_participation(round_id, resident.id, "sms", at)
    db.session.commit()


def at_station(
    world: World, round_id: int, residents: Sequence[Resident], at: datetime, *, assisted: int = 0
) -> None:
    """Check residents in at the desk; the first ``assisted`` of them with a helper."""
    for i, resident in enumerate(residents):
        helper = ("李华", "视力不便") if i < assisted else ("", "")
        station_desk.check_in(
            world.station_staff,
            round_id,
            resident.id,
            assisted_by=helper[0],
            assist_reason=helper[1],
            now=at,
        )


def closed_round(world: World, now, **overrides):  # type: ignore[no-untyped-def]
    """36 residents, 18 per community; 30 vote over two days in Beijing time, then close.

    Votes: B 24, A 14, C 6, D 0 — two seats, so B and A are advised.
    """
    round_id = world.open_round(now, seats=2, max_choices=2, **overrides)
    people = world.residents(36)
    codes_of = issue(world, round_id)
    a, b, c, _d = (x.id for x in world.candidates)
    nanxiao = [p for p in people if p.community_id == world.communities[0].id]
    jingfang = [p for p in people if p.community_id == world.communities[1].id]
    voters = nanxiao + jingfang[:12]  # 景芳社区: only 6 stay home
    day1, day2 = utc(2026, 5, 12, 2, 30), utc(2026, 5, 12, 16, 5)  # 12 May, 13 May 00:05
    vote_by_code(codes_of, voters[:14], day1, [a, b])
    vote_by_code(codes_of, voters[14:20], day1, [b])
    vote_by_code(codes_of, voters[20:24], day2, [b])
    vote_by_code(codes_of, voters[24:], day2, [c])
    rounds.close_round(world.official, round_id, reason="测试", now=now + timedelta(days=2))
    return round_id


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
