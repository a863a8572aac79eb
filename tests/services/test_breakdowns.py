"""Turnout breakdowns from the database: days in Beijing time, channels, communities, and
what the queries touch (never the ballots) and how many there are (a constant)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from tests.factories import World, utc
from tests.voters import BALLOT_TABLES, at_station, by_phone, issue, statements, vote_by_code
from voting.extensions import db
from voting.models import Resident, VotingRound
from voting.services import rounds
from voting.services.breakdowns import round_breakdowns

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(app):
    return World(candidates=3)


def vote(world: World, codes_of: dict[int, str], people, at) -> None:  # type: ignore[no-untyped-def]
    vote_by_code(codes_of, people, at, [world.candidates[0].id])


def breakdowns_of(round_id: int, now, *, exact: bool):  # type: ignore[no-untyped-def]
    db.session.expire_all()
    rnd = db.session.get(VotingRound, round_id)
    return round_breakdowns(rnd, zone=SHANGHAI, now=now, exact=exact)


def test_days_split_at_midnight_beijing_time_not_utc(world, now):
    round_id = world.open_round(now)  # opens 2026-05-11 10:30 Beijing time
    people = world.residents(34)
    codes_of = issue(world, round_id)
    vote(world, codes_of, people[:10], utc(2026, 5, 12, 2, 30))  # 12 May 10:30
    vote(world, codes_of, people[10:22], utc(2026, 5, 12, 15, 59, 40))  # 12 May 23:59
    vote(world, codes_of, people[22:33], utc(2026, 5, 12, 16, 0))  # 13 May 00:00
    vote(world, codes_of, people[33:], utc(2026, 5, 13, 15, 0))  # 13 May 23:00

    parts = breakdowns_of(round_id, utc(2026, 5, 14, 1, 0), exact=True)
    assert [(c.key, c.count) for c in parts.days] == [
        (date(2026, 5, 11), 0),
        (date(2026, 5, 12), 22),
        (date(2026, 5, 13), 12),
        (date(2026, 5, 14), 0),  # today, so far
    ]
    assert parts.participants == 34
    assert not any(c.withheld for c in parts.days)


def test_days_ending_at_the_close(world, now):
    round_id = world.open_round(now)
    people = world.residents(10)
    codes_of = issue(world, round_id)
    vote(world, codes_of, people, now)
    rounds.close_round(world.official, round_id, reason="测试", now=now + timedelta(hours=1))
    # Long after the close the days still end at the day it closed.
    parts = breakdowns_of(round_id, now + timedelta(days=30), exact=False)
    assert [(c.key, c.count) for c in parts.days] == [
        (date(2026, 5, 11), 0),
        (date(2026, 5, 12), 10),
    ]


def test_channels_count_code_phone_station_and_assisted(world, now):
    round_id = world.open_round(now)
    people = world.residents(40)
    codes_of = issue(world, round_id)
    vote(world, codes_of, people[:12], now)
    by_phone(round_id, people[12:22], now)
    at_station(world, round_id, people[22:40], now, assisted=4)

    exact = breakdowns_of(round_id, now, exact=True)
    assert [(c.key, c.count, c.withheld) for c in exact.channels] == [
        ("code", 12, False),
        ("sms", 10, False),
        ("station", 18, False),
    ]
    # Four assisted is fewer than ten; the unassisted 14 go with them (18 - 14 = 4).
    assert [(c.key, c.count, c.withheld) for c in exact.station] == [
        ("assisted", 4, True),
        ("unassisted", 14, True),
    ]
    public = breakdowns_of(round_id, now, exact=False)
    assert [c.count for c in public.channels] == [12, 10, 18]
    assert [c.count for c in public.station] == [None, None]
    assert public.participants == 40


def test_a_small_channel_takes_the_next_smallest_and_the_station_split_with_it(world, now):
    round_id = world.open_round(now)
    people = world.residents(45)
    codes_of = issue(world, round_id)
    vote(world, codes_of, people[:30], now)
    by_phone(round_id, people[30:33], now)  # three by phone
    at_station(world, round_id, people[33:45], now, assisted=6)  # twelve at the station

    public = breakdowns_of(round_id, now, exact=False)
    assert [(c.key, c.count) for c in public.channels] == [
        ("code", 30),
        ("sms", None),
        ("station", None),  # else 45 - 30 - 12 = 3 by phone
    ]
    assert [c.count for c in public.station] == [None, None]
    assert public.participants == 45  # the total itself is always published


def test_communities_turnout_against_the_active_roll(world, now):
    round_id = world.open_round(now)
    people = world.residents(60)  # alternate: 30 in 南肖埠社区, 30 in 景芳社区
    codes_of = issue(world, round_id)
    nanxiao = [p for p in people if p.community_id == world.communities[0].id]
    jingfang = [p for p in people if p.community_id == world.communities[1].id]
    vote(world, codes_of, nanxiao[:12] + jingfang[:15], now)
    moved = nanxiao[-1].id
    db.session.execute(update(Resident).where(Resident.id == moved).values(status="moved_out"))
    db.session.commit()

    parts = breakdowns_of(round_id, now, exact=True)
    assert [(c.key, c.base, c.count, c.withheld) for c in parts.communities] == [
        ("南肖埠社区", 29, 12, False),
        ("景芳社区", 30, 15, False),
    ]
    assert parts.eligible == 59
    assert parts.communities[1].rate == pytest.approx(0.5)


def test_communities_with_few_non_voters_are_withheld_with_their_complement(world, now):
    round_id = world.open_round(now)
    people = world.residents(60)
    codes_of = issue(world, round_id)
    nanxiao = [p for p in people if p.community_id == world.communities[0].id]
    jingfang = [p for p in people if p.community_id == world.communities[1].id]
    vote(world, codes_of, nanxiao[:25] + jingfang[:12], now)  # only 5 of 南肖埠 did not

    public = breakdowns_of(round_id, now, exact=False)
    assert [(c.key, c.base, c.count, c.rate) for c in public.communities] == [
        ("南肖埠社区", 30, None, None),
        ("景芳社区", 30, None, None),
    ]
    assert (public.participants, public.eligible) == (37, 60)


def test_breakdowns_never_read_the_ballots_and_use_four_queries(world, now):
    round_id = world.open_round(now)
    people = world.residents(24)
    codes_of = issue(world, round_id)
    vote(world, codes_of, people[:12], now)
    db.session.expire_all()
    rnd = db.session.get(VotingRound, round_id)
    _ = rnd.closes_at  # loaded before counting
    with statements() as small:
        round_breakdowns(rnd, zone=SHANGHAI, now=now)
    vote(world, codes_of, people[12:], now + timedelta(days=2))
    db.session.expire_all()
    rnd = db.session.get(VotingRound, round_id)
    _ = rnd.closes_at
    with statements() as large:
        round_breakdowns(rnd, zone=SHANGHAI, now=now + timedelta(days=3))
    assert len(small) == len(large) == 4
    for sql in small + large:
        assert not BALLOT_TABLES.search(sql), sql


def test_days_of_a_window_ending_at_midnight_stop_the_day_before(world, now):
    # Opens 11 May 10:30, closes 14 May 00:00 Beijing time; still open, its window over.
    round_id = world.open_round(now, closes_at=utc(2026, 5, 13, 16, 0))
    people = world.residents(10)
    codes_of = issue(world, round_id)
    vote(world, codes_of, people, utc(2026, 5, 13, 15, 59))  # 13 May 23:59
    parts = breakdowns_of(round_id, utc(2026, 5, 20, 0, 0), exact=False)
    assert [(c.key, c.count) for c in parts.days] == [
        (date(2026, 5, 11), 0),
        (date(2026, 5, 12), 0),
        (date(2026, 5, 13), 10),
    ]
