"""A synthetic open round with many ballots, written straight into the tables, for benchmarks.

    app = bench_app(url)          # a fresh schema (the database is wiped)
    round_id = build_round(app, ballots=1_000_000, candidates=30)

The round has one street, community, station and official, ``candidates`` accepted
candidates with costs between 50,000 and 2,000,000 yuan, a 10,000,000-yuan budget, and
approval ballots naming 1–5 candidates each, more popular candidates more often. Ballots go
in with PostgreSQL's COPY or SQLite's executemany in chunks; no participations or residents
are written (the benchmarks time counting and exports, which never read them).
"""

from __future__ import annotations

import io
import random
import secrets
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import insert

from voting import create_app
from voting.extensions import db
from voting.models import (
    Ballot,
    BallotChoice,
    Candidate,
    Community,
    RoundCandidate,
    RoundCommunity,
    StaffUser,
    Station,
    Street,
    VotingRound,
)

CHUNK = 50_000
NOW = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)


def bench_app(url: str) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret",
            "ROLL_PEPPER": "bench-pepper",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def _setup(candidates: int, rng: random.Random) -> tuple[int, list[int]]:
    street = Street(name="凯旋街道", district="上城区")
    db.session.add(street)
    db.session.flush()
    community = Community(street_id=street.id, name="南肖埠社区")
    station = Station(street_id=street.id, name="南肖埠人大代表联络站")
    db.session.add_all([community, station])
    db.session.flush()
    official = StaffUser(
        username="bench",
        display_name="基准",
        password_hash="-",
        role="official",
        street_id=street.id,
        session_nonce=secrets.token_hex(8),
    )
    db.session.add(official)
    db.session.flush()
    ids = []
    for i in range(candidates):
        c = Candidate(
            station_id=station.id,
            community_id=community.id,
            title=f"候选项目 {i + 1}",
            category="其他",
            location="南肖埠",
            cost_yuan=rng.randrange(50_000, 2_000_000, 1_000),
            source="seminar",
            status="accepted",
            review_reason="基准测试",
            reviewed_by_id=official.id,
            reviewed_at=NOW - timedelta(days=20),
            created_by_id=official.id,
        )
        db.session.add(c)
        db.session.flush()
        ids.append(c.id)
    rnd = VotingRound(
        street_id=street.id,
        title="基准测试轮次",
        status="open",
        opens_at=NOW - timedelta(days=14),
        closes_at=NOW,
        opened_at=NOW - timedelta(days=14),
        definition_key="bench",
        min_choices=1,
        max_choices=5,
        budget_yuan=10_000_000,
        seats=min(10, candidates - 1),
        outcome_rule="greedy",
        created_by_id=official.id,
    )
    db.session.add(rnd)
    db.session.flush()
    db.session.add(RoundCommunity(round_id=rnd.id, community_id=community.id))
    db.session.add_all(
        RoundCandidate(round_id=rnd.id, candidate_id=cid, position=pos)
        for pos, cid in enumerate(ids, start=1)
    )
    db.session.commit()
    return rnd.id, ids


def _ballots(round_id: int, ids: list[int], n: int, rng: random.Random):  # type: ignore[no-untyped-def]
    """Yield (ballot row, choice rows) chunks."""
    weights = [1 / (rank + 1) for rank in range(len(ids))]
    for start in range(0, n, CHUNK):
        ballots, choices = [], []
        for _ in range(min(CHUNK, n - start)):
            ballot_id = secrets.token_hex(16)
            ballots.append((ballot_id, round_id, secrets.token_hex(32), ballot_id[:8], 1))
            picked = set(rng.choices(ids, weights, k=rng.randint(1, 5)))
            choices.extend((ballot_id, cid, round_id, 1) for cid in picked)
        yield ballots, choices


def _copy(table: str, columns: str, rows: list[tuple[object, ...]]) -> None:
    raw = db.session.connection().connection.driver_connection
    buffer = io.StringIO("".join("\t".join(map(str, row)) + "\n" for row in rows))
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(buffer.getvalue())


def build_round(app: Flask, *, ballots: int, candidates: int = 30, seed: int = 1) -> int:
    """Write the round and its ballots; return the round id (the round stays open)."""
    rng = random.Random(seed)
    with app.app_context():
        round_id, ids = _setup(candidates, rng)
        postgres = db.engine.dialect.name == "postgresql"
        for ballot_rows, choice_rows in _ballots(round_id, ids, ballots, rng):
            if postgres:
                _copy("ballot", "id, round_id, receipt_hash, receipt_hint, batch_no", ballot_rows)
                _copy("ballot_choice", "ballot_id, candidate_id, round_id, points", choice_rows)
            else:
                keys = ("id", "round_id", "receipt_hash", "receipt_hint", "batch_no")
                db.session.execute(
                    insert(Ballot), [dict(zip(keys, r, strict=True)) for r in ballot_rows]
                )
                keys = ("ballot_id", "candidate_id", "round_id", "points")
                db.session.execute(
                    insert(BallotChoice), [dict(zip(keys, r, strict=True)) for r in choice_rows]
                )
            db.session.commit()
        if postgres:
            db.session.execute(db.text("ANALYZE ballot, ballot_choice"))
            db.session.commit()
    return round_id
