"""Measure one round at 100x the demo: cast rate, page timings and query counts, close, export.

    python bench/round.py                         # SQLite file in a temp folder
    python bench/round.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Prints one line per measurement. The database named by --database-url is wiped first.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert, text

from voting import create_app
from voting.domain import identity
from voting.domain.staff import Role
from voting.domain.tally import OutcomeRule
from voting.extensions import db
from voting.models import Resident, StaffUser
from voting.services import codes, intake, results, rounds, staff, voting

PEPPER = b"bench-pepper"


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1


@contextmanager
def counting():
    counter = QueryCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)


def build(residents: int, rng: random.Random) -> tuple[int, list[str], list[int], object]:
    street = staff.ensure_street("凯旋街道", "上城区")
    communities = [staff.ensure_community(street, f"社区{i}") for i in range(5)]
    station = staff.ensure_station(street, "联络站", community=communities[0], address="", hours="")
    station_user = staff.create_staff(
        username="s",
        display_name="s",
        role=Role.STATION,
        password="bench-password",
        street=street,
        station=station,
    )
    official = staff.create_staff(
        username="o", display_name="o", role=Role.OFFICIAL, password="bench-password", street=street
    )
    candidate_ids = []
    for i in range(12):
        data = intake.CandidateInput(
            title=f"项目{i}",
            summary="",
            description="说明",
            category="其他",
            community_id=communities[i % 5].id,
            location="某处",
            target="",
            cost_yuan=50_000 + 37_000 * i,
            source=intake.IdeaSource.ONLINE,
            raised_by=i,
        )
        cand = intake.submit_candidate(station_user, data)
        intake.review_candidate(official, cand.id, accept=True, reason="可行")
        candidate_ids.append(cand.id)
    rows = []
    for i in range(residents):
        number = f"330102{19400101 + (i % 28):08d}{i % 1000:03d}"[:17]
        rows.append(
            {
                "community_id": communities[i % 5].id,
                "name": "居民",
                "id_hmac": identity.id_hmac(PEPPER, number + str(i)),
                "id_tail": "0000",
                "phone_hmac": None,
                "phone_last4": "",
                "building": "",
                "unit": "",
                "room": str(i),
                "status": "active",
                "imported_at": datetime.now(UTC),
            }
        )
    db.session.execute(insert(Resident), rows)
    db.session.commit()
    now = datetime.now(UTC)
    data = rounds.RoundInput(
        title="基准测试",
        description="",
        community_ids=tuple(c.id for c in communities),
        candidate_ids=tuple(candidate_ids),
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=7),
        min_choices=1,
        max_choices=4,
        budget_yuan=None,
        seats=4,
        outcome_rule=OutcomeRule.TOP_N,
        running_results_public=False,
    )
    round_id = rounds.create_round(official, data)
    rounds.open_round(official, round_id)
    official_id = official.id
    t0 = time.perf_counter()
    slips = codes.issue_codes(round_id, pepper=PEPPER, rng=rng)
    print(f"codes_issued n={len(slips)} seconds={time.perf_counter() - t0:.2f}")
    return round_id, [s.code for s in slips], candidate_ids, official_id


def cast_all(
    round_id: int, codes_: list[str], candidate_ids: list[int], rng: random.Random
) -> None:
    timings = []
    for code in codes_:
        choices = rng.sample(candidate_ids, rng.randint(1, 4))
        t0 = time.perf_counter()
        login = voting.login_with_code(code, pepper=PEPPER)
        voting.cast_ballot(login, choices)
        timings.append(time.perf_counter() - t0)
        db.session.remove()
    total = sum(timings)
    print(
        f"cast_service n={len(timings)} rate={len(timings) / total:.0f}/s "
        f"p50_ms={statistics.median(timings) * 1000:.2f} "
        f"p99_ms={statistics.quantiles(timings, n=100)[98] * 1000:.2f}"
    )


def time_page(client, path: str, label: str, repeat: int = 20) -> None:
    with counting() as counter:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    timings = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        client.get(path)
        timings.append(time.perf_counter() - t0)
    print(
        f"page {label} queries={counter.count} p50_ms={statistics.median(timings) * 1000:.1f} "
        f"bytes={len(response.data)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--ballots", type=int, default=5_000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "b",
            "ROLL_PEPPER": PEPPER.decode(),
            "WTF_CSRF_ENABLED": False,
        }
    )
    rng = random.Random(2026)
    with app.app_context():
        db.drop_all()
        db.create_all()
        print(
            f"database={db.engine.dialect.name} residents={args.residents} ballots={args.ballots}"
        )
        round_id, all_codes, candidate_ids, official_id = build(args.residents, rng)
        cast_all(round_id, all_codes[: args.ballots], candidate_ids, rng)
        client = app.test_client()
        time_page(client, "/", "home")
        time_page(client, f"/rounds/{round_id}", "round")
        client.get(f"/vote/c/{all_codes[-1]}")
        time_page(client, f"/vote/{round_id}/ballot", "ballot")
        t0 = time.perf_counter()
        with counting() as counter:
            official = db.session.get(StaffUser, official_id)
            result = rounds.close_round(official, round_id, reason="基准测试")
        print(
            f"close_and_tally ballots={result.ballots} queries={counter.count} "
            f"seconds={time.perf_counter() - t0:.3f}"
        )
        time_page(client, f"/rounds/{round_id}/results", "results")
        t0 = time.perf_counter()
        size = sum(
            len(chunk)
            for chunk in results.tally_csv(round_id, actor_name="bench", now=datetime.now(UTC))
        )
        print(f"export_csv bytes={size} seconds={time.perf_counter() - t0:.3f}")
        db.session.execute(text("SELECT 1"))
        db.drop_all()


if __name__ == "__main__":
    main()
