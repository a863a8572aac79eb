"""Time the turnout breakdowns, the public results page and the XLSX export on a closed round
with many participations (default 1,000,000 residents, all of whom took part).

    python bench/breakdowns.py                                  # SQLite, 1,000,000
    python bench/breakdowns.py --participations 100000
    python bench/breakdowns.py --database-url postgresql://postgres@127.0.0.1:5432/test_b

The database is wiped. Residents are spread over 10 communities, participations over the
14 days of the window at random minutes, through the three channels (a tenth of station
votes assisted). No ballots are written: the breakdowns and the page's breakdown part never
read them (the stored tally gives the counts of a closed round). One line per step.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _synthetic import bench_app, build_round  # noqa: E402
from sqlalchemy import event, insert, text, update  # noqa: E402

from voting.extensions import db  # noqa: E402
from voting.models import (  # noqa: E402
    Community,
    Participation,
    Resident,
    RoundCandidate,
    RoundCommunity,
    StaffUser,
    VotingRound,
)
from voting.services import breakdowns, export_xlsx  # noqa: E402

CLOSE = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
CHUNK = 50_000
ZONE = ZoneInfo("Asia/Shanghai")


def _residents(street_id: int, round_id: int, n: int) -> list[int]:
    communities = [Community(street_id=street_id, name=f"社区{i:02d}") for i in range(1, 10)]
    db.session.add_all(communities)
    db.session.flush()
    ids = [c.id for c in communities]
    ids.append(db.session.scalar(text("SELECT min(id) FROM community")))
    for cid in ids[:-1]:
        db.session.add(RoundCommunity(round_id=round_id, community_id=cid))
    db.session.commit()
    for start in range(0, n, CHUNK):
        db.session.execute(
            insert(Resident),
            [
                {
                    "community_id": ids[i % len(ids)],
                    "name": "居民",
                    "id_hmac": f"{i:064d}",
                    "id_tail": "0000",
                    "phone_last4": "",
                    "building": "",
                    "unit": "",
                    "room": "",
                    "status": "active",
                    "imported_at": CLOSE,
                }
                for i in range(start, min(n, start + CHUNK))
            ],
        )
        db.session.commit()
    return list(db.session.scalars(text("SELECT id FROM resident ORDER BY id")))


def _participations(round_id: int, residents: list[int], rng: random.Random) -> None:
    minutes = 14 * 24 * 60
    opens = CLOSE - timedelta(days=14)
    for start in range(0, len(residents), CHUNK):
        rows = []
        for rid in residents[start : start + CHUNK]:
            channel = rng.choices(("code", "sms", "station"), (70, 20, 10))[0]
            helper = "李华" if channel == "station" and rng.random() < 0.1 else ""
            rows.append(
                {
                    "round_id": round_id,
                    "resident_id": rid,
                    "channel": channel,
                    "voted_at": opens + timedelta(minutes=rng.randrange(minutes)),
                    "checked_in_by_id": None,
                    "assisted_by": helper,
                    "assist_reason": "视力不便" if helper else "",
                }
            )
        db.session.execute(insert(Participation), rows)
        db.session.commit()


def _close(round_id: int, n: int) -> None:
    db.session.execute(
        update(VotingRound)
        .where(VotingRound.id == round_id)
        .values(status="closed", closed_at=CLOSE, ballot_count=n, close_reason="bench")
    )
    db.session.execute(
        update(RoundCandidate)
        .where(RoundCandidate.round_id == round_id)
        .values(public_votes=0, public_rank=RoundCandidate.position, rule_selected=False)
    )
    db.session.commit()


def _timed(label: str, db_name: str, n: int, fn):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(
        f"breakdowns: db={db_name} participations={n} step={label} "
        f"seconds={seconds:.3f} peak_mb={peak:.1f}",
        flush=True,
    )
    return result


def run(url: str, n: int) -> None:
    db_name = "postgresql" if url.startswith("postgres") else "sqlite"
    app = bench_app(url)
    round_id = build_round(app, ballots=0, candidates=30)
    with app.app_context():
        rnd = db.session.get(VotingRound, round_id)
        start = time.perf_counter()
        residents = _residents(rnd.street_id, round_id, n)
        _participations(round_id, residents, random.Random(1))
        _close(round_id, n)
        if db_name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        seconds = time.perf_counter() - start
        print(f"breakdowns: db={db_name} participations={n} step=build seconds={seconds:.1f}")
        rnd = db.session.get(VotingRound, round_id)
        official = db.session.scalar(db.select(StaffUser))
        for exact in (False, True):
            _timed(
                f"round_breakdowns(exact={exact})",
                db_name,
                n,
                lambda exact=exact: breakdowns.round_breakdowns(
                    rnd, zone=ZONE, now=CLOSE, exact=exact
                ),
            )
        _timed(
            "xlsx",
            db_name,
            n,
            lambda: export_xlsx.round_workbook(
                round_id, actor_name=official.username, now=CLOSE, zone=ZONE
            ).close(),
        )
    client = app.test_client()
    seen: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    response = _timed("results page", db_name, n, lambda: client.get(f"/rounds/{round_id}/results"))
    assert response.status_code == 200, response.status_code
    print(f"breakdowns: db={db_name} results page statements={len(seen)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participations", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = (
        args.database_url or f"sqlite:///{Path(tempfile.gettempdir()) / 'bench_breakdowns.sqlite'}"
    )
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    run(url, args.participations)


if __name__ == "__main__":
    main()
