"""Plain factory functions with keyword defaults. They go through the services where the
services are the only way a thing comes to exist (candidates, rounds, codes)."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache

from werkzeug.security import generate_password_hash

from voting.domain import identity
from voting.domain.ballots import BallotKind
from voting.domain.identity import id_check_char
from voting.domain.staff import IdeaSource, Role
from voting.domain.tally import OutcomeRule
from voting.extensions import db
from voting.models import Community, Resident, StaffUser, Station, Street
from voting.services import codes as codes_service
from voting.services import intake, rounds

from .conftest import TEST_PEPPER

PASSWORD = "correct-horse-battery"


@cache
def _password_hash() -> str:
    return generate_password_hash(PASSWORD)


def make_street(
    *, name: str = "凯旋街道", communities: tuple[str, ...] = ("南肖埠社区", "景芳社区")
) -> Street:
    street = Street(name=name, district="上城区")
    db.session.add(street)
    db.session.flush()
    for community in communities:
        db.session.add(Community(street_id=street.id, name=community))
    db.session.commit()
    return street


def make_station(street: Street, *, name: str = "南肖埠人大代表联络站") -> Station:
    station = Station(
        street_id=street.id, name=name, address="南肖埠社区党群服务中心", hours="周一至周五"
    )
    db.session.add(station)
    db.session.commit()
    return station


def make_staff(
    street: Street, role: Role, *, station: Station | None = None, username: str | None = None
) -> StaffUser:
    user = StaffUser(
        username=username or f"{role.value}-{secrets.token_hex(3)}",
        display_name="测试",
        password_hash=_password_hash(),
        role=role.value,
        street_id=street.id,
        station_id=station.id if station else None,
        session_nonce=secrets.token_hex(8),
    )
    db.session.add(user)
    db.session.commit()
    return user


def candidate_input(community_id: int, **overrides: object) -> intake.CandidateInput:
    values: dict[str, object] = {
        "title": "增设停车位",
        "summary": "在空地增设停车位",
        "description": "利用闲置空地增设停车位。",
        "category": "停车出行",
        "community_id": community_id,
        "location": "3幢北侧空地",
        "target": "新增停车位30个",
        "cost_yuan": 280_000,
        "source": IdeaSource.SEMINAR,
        "raised_by": 37,
    }
    values.update(overrides)
    return intake.CandidateInput(**values)  # type: ignore[arg-type]


def make_id_number(rng: random.Random) -> str:
    birth = datetime(1940, 1, 1) + timedelta(days=rng.randrange(20000))  # noqa: DTZ001
    body = f"330102{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + id_check_char(body)


def make_resident(
    community: Community, *, rng: random.Random | None = None, name: str = "王小明"
) -> Resident:
    rng = rng or random.Random()
    number = make_id_number(rng)
    resident = Resident(
        community_id=community.id,
        name=name,
        id_hmac=identity.id_hmac(TEST_PEPPER.encode(), number),
        id_tail=number[-4:],
        phone_hmac=None,
        phone_last4="",
        building="3幢",
        unit="1单元",
        room=f"{rng.randrange(101, 699)}",
    )
    db.session.add(resident)
    db.session.commit()
    return resident


class World:
    """A street with a station, staff of every role and accepted candidates."""

    def __init__(self, *, candidates: int = 5, street: str = "凯旋街道") -> None:
        self.street = make_street(name=street)
        self.communities = list(self.street.communities)
        self.station = make_station(self.street)
        self.station_staff = make_staff(self.street, Role.STATION, station=self.station)
        self.official = make_staff(self.street, Role.OFFICIAL)
        self.clerk = make_staff(self.street, Role.CLERK)
        self.supervisor = make_staff(self.street, Role.SUPERVISOR)
        costs = [280_000, 120_000, 32_000, 450_000, 2_400_000, 60_000, 90_000, 150_000]
        titles = [
            "增设停车位",
            "电动自行车充电桩",
            "休闲座椅",
            "健身点",
            "加装电梯",
            "微花园",
            "树种更新",
            "道路拐角拓宽",
        ]
        self.candidates = []
        for i in range(candidates):
            data = candidate_input(
                self.communities[i % len(self.communities)].id,
                title=titles[i % 8],
                cost_yuan=costs[i % 8],
            )
            c = intake.submit_candidate(self.station_staff, data)
            intake.review_candidate(self.official, c.id, accept=True, reason="符合普惠性要求")
            self.candidates.append(c)

    def round_input(self, now: datetime, **overrides: object) -> rounds.RoundInput:
        values: dict[str, object] = {
            "title": "2026年凯旋街道民生实事候选项目公开投票",
            "description": "",
            "community_ids": tuple(c.id for c in self.communities),
            "candidate_ids": tuple(c.id for c in self.candidates),
            "opens_at": now - timedelta(days=1),
            "closes_at": now + timedelta(days=13),
            "min_choices": 1,
            "max_choices": 3,
            "budget_yuan": None,
            "seats": 2,
            "outcome_rule": OutcomeRule.TOP_N,
            "running_results_public": False,
        }
        values.update(overrides)
        if values["budget_yuan"] is not None and "ballot_kind" not in overrides:
            # As the migration did for rounds made before ballot kinds: a budget limits ballots.
            values["ballot_kind"] = BallotKind.KNAPSACK
        return rounds.RoundInput(**values)  # type: ignore[arg-type]

    def open_round(self, now: datetime, **overrides: object) -> int:
        round_id = rounds.create_round(self.official, self.round_input(now, **overrides), now=now)
        rounds.open_round(self.official, round_id, now=now)
        return round_id

    def residents(self, n: int, *, seed: int = 7) -> list[Resident]:
        rng = random.Random(seed)
        return [
            make_resident(self.communities[i % len(self.communities)], rng=rng) for i in range(n)
        ]

    def issue_codes(self, round_id: int, *, seed: int = 11) -> list[str]:
        slips = codes_service.issue_codes(
            round_id, pepper=TEST_PEPPER.encode(), rng=random.Random(seed)
        )
        return [s.code for s in slips]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
