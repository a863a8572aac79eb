"""Time and peak memory of every export of a closed round of 1,000,000 ballots.

    python bench/export.py                          # SQLite, then PostgreSQL (test_c) if reachable
    python bench/export.py --ballots 100000 --skip-postgres

The round is set up through the services (street, station, official, 30 accepted candidates,
a round opened), then its ballots — approval ballots naming 1–5 candidates, popular ones more
often — go straight into ``ballot`` and ``ballot_choice`` with Core executemany in chunks of
50,000, while the round is open: the append-only triggers refuse ballot rows of a closed round.
For the load only, the triggers are dropped and restored, foreign-key checks are off
(SQLite's pragma; PostgreSQL's ``session_replication_role = replica``) and SQLite's page
cache is large: checks that cannot fail here (the round is open, the rows are built to fit)
would otherwise make the load, not the exports, the longest part of the run (about 6 minutes
instead of 1 for a million ballots on SQLite). Ballot ids stay random, as in production: rows
in id order would flatter the exports (the ballot table laid out in the order they read it).

The round is then closed by a direct update of the tally the services compute
(``count_round``, ``round_digest``) and a ``round.closed`` audit event: ``close_round`` itself
would also seal and shuffle the million ballots and reconcile participations, which a
synthetic box does not have.

Each export then runs in a fresh ``python`` subprocess, so that its peak resident memory
(``VmHWM``; SQLite's page cache included, since SQLite runs in-process) is its own: the open
data zip, the officials' CSV, the XLSX workbook and the ``.pb`` file if their modules exist,
the PDF notice, and ``tally verify``'s recount. One line per figure:

    export: db=sqlite what=open-data ballots=1000000 seconds=4.51 peak_mb=121 base_mb=102 bytes=…

``base_mb`` is the child's peak before the export started (interpreter, Flask, SQLAlchemy,
reportlab, openpyxl): ``peak_mb - base_mb`` is what the export itself added. The databases
named here are wiped first.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from voting import create_app  # noqa: E402
from voting.domain.staff import IdeaSource, Role  # noqa: E402
from voting.domain.tally import OutcomeRule  # noqa: E402
from voting.extensions import db  # noqa: E402
from voting.models import Ballot, BallotChoice  # noqa: E402
from voting.models.triggers import create_triggers, drop_triggers  # noqa: E402
from voting.services import audit, counting, intake, rounds, staff  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_c"
ZONE = "Asia/Shanghai"
NOW = datetime(2026, 5, 21, 2, 0, tzinfo=UTC)
EXPORTS = ("open-data", "csv", "xlsx", "pb", "pdf", "tally-verify")
OPTIONAL = {"xlsx": "voting.services.export_xlsx", "pb": "voting.services.pb_io"}
CANDIDATES = 30
CHUNK = 50_000


def peak_mb() -> float:
    """This process's peak resident memory in MiB.

    Linux's ``ru_maxrss`` survives ``exec``: a child forked from a parent holding 170 MB
    starts at 170 MB. ``VmHWM`` belongs to the address space ``exec`` made, so it is the
    child's own; ``ru_maxrss`` is the fallback elsewhere.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def set_up_round(candidates: int) -> tuple[int, list[int]]:
    """Street, station, staff and an open round of accepted candidates, via the services."""
    street = staff.ensure_street("凯旋街道", "上城区")
    community = staff.ensure_community(street, "南肖埠社区")
    station = staff.ensure_station(street, "联络站", community=community, address="", hours="")
    password = "bench-password"
    desk = staff.create_staff(
        username="s", display_name="联络站", role=Role.STATION, password=password,
        street=street, station=station,
    )  # fmt: skip
    official = staff.create_staff(
        username="o", display_name="工委", role=Role.OFFICIAL, password=password, street=street
    )
    rng = random.Random(3)
    ids = []
    for i in range(candidates):
        data = intake.CandidateInput(
            title=f"候选项目 {i + 1}", summary="", description="基准测试", category="其他",
            community_id=community.id, location="南肖埠", target="",
            cost_yuan=rng.randrange(50_000, 2_000_000, 1_000), source=IdeaSource.ONLINE,
            raised_by=i,
        )  # fmt: skip
        candidate = intake.submit_candidate(desk, data)
        intake.review_candidate(official, candidate.id, accept=True, reason="可行")
        ids.append(candidate.id)
    data = rounds.RoundInput(
        title="基准测试轮次", description="", community_ids=(community.id,),
        candidate_ids=tuple(ids), opens_at=NOW - timedelta(days=14), closes_at=NOW,
        min_choices=1, max_choices=5, budget_yuan=10_000_000, seats=10,
        outcome_rule=OutcomeRule.GREEDY, running_results_public=False,
    )  # fmt: skip
    round_id = rounds.create_round(official, data, now=NOW - timedelta(days=15))
    rounds.open_round(official, round_id, now=NOW - timedelta(days=14))
    return round_id, ids


def ballot_chunks(round_id: int, ids: list[int], n: int, rng: random.Random):  # type: ignore[no-untyped-def]
    """(ballot rows, choice rows), CHUNK ballots at a time, with random ids."""
    weights = [1 / (rank + 1) for rank in range(len(ids))]
    for start in range(0, n, CHUNK):
        ballots, choices = [], []
        for _ in range(start, min(start + CHUNK, n)):
            ballot_id = f"{rng.getrandbits(128):032x}"
            receipt = f"{rng.getrandbits(256):064x}"
            ballots.append(
                {"id": ballot_id, "round_id": round_id, "receipt_hash": receipt,
                 "receipt_hint": receipt[:8], "batch_no": 1}
            )  # fmt: skip
            picked = set(rng.choices(ids, weights, k=rng.randint(1, 5)))
            choices += [
                {"ballot_id": ballot_id, "candidate_id": cid, "round_id": round_id, "points": 1}
                for cid in picked
            ]
        yield ballots, choices


def build_round(url: str, ballots: int) -> int:
    """A fresh schema and an open round holding ``ballots`` ballots; its id."""
    app = create_app(_config(url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        round_id, ids = set_up_round(CANDIDATES)
        db.session.remove()
        sqlite = db.engine.dialect.name == "sqlite"
        with db.engine.begin() as conn:
            drop_triggers(conn)
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-400000")
            else:  # foreign-key checks are triggers too: replica mode skips them
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for ballot_rows, choice_rows in ballot_chunks(round_id, ids, ballots, random.Random(1)):
                conn.execute(insert(Ballot), ballot_rows)
                conn.execute(insert(BallotChoice), choice_rows)
            create_triggers(conn)
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            else:
                conn.exec_driver_sql("ANALYZE ballot, ballot_choice")
        db.engine.dispose()
    return round_id


def close_directly(url: str, round_id: int) -> int:
    """Write the tally as close does, without sealing or shuffling; return distinct ballots."""
    app = create_app(_config(url))
    with app.app_context():
        rnd = rounds.load_round(round_id)
        groups = counting.ballot_groups(round_id)
        result = rounds.count_round(rnd, groups)
        rows = {r.candidate_id: r for r in result.rows}
        for entry in rnd.entries:
            row = rows[entry.candidate_id]
            entry.public_votes, entry.public_rank = row.votes, row.rank
            entry.rule_selected = row.selected
        rnd.status, rnd.closed_at, rnd.ballot_count = "closed", NOW, result.ballots
        counts = {r.candidate_id: r.votes for r in result.rows}
        rnd.tally_digest = counting.round_digest(rnd, counts, groups)
        payload = {"ballots": result.ballots, "tally_digest": rnd.tally_digest}
        audit.record("bench", "round.closed", ("round", round_id), payload, now=NOW)
        db.session.commit()
        db.engine.dispose()
    return len(groups)


def _config(url: str) -> dict[str, object]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-secret",
        "ROLL_PEPPER": "bench-pepper",
        "RATELIMIT_ENABLED": False,
    }


# --- in the child process ---------------------------------------------------------------


def _open_data(round_id: int) -> int:
    from voting.services import open_data

    return sum(len(chunk) for chunk in open_data.open_data_zip(round_id, tz=ZONE))


def _csv(round_id: int) -> int:
    from voting.services import results

    chunks = results.tally_csv(round_id, actor_name="bench", now=NOW)
    return sum(len(chunk.encode()) for chunk in chunks)


def _xlsx(round_id: int) -> int:
    from voting.services import export_xlsx

    book = export_xlsx.round_workbook(round_id, actor_name="bench", now=NOW, zone=ZoneInfo(ZONE))
    try:
        return sum(len(block) for block in iter(lambda: book.read(65536), b""))
    finally:
        book.close()


def _pb(round_id: int) -> int:
    from voting.services import pb_io

    return sum(len(line.encode()) for line in pb_io.iter_pb_lines(round_id, tz=ZONE))


def _pdf(round_id: int) -> int:
    from voting.notice_pdf import render_notice_pdf
    from voting.services.notice import public_notice

    return len(render_notice_pdf(public_notice(round_id), now=NOW, tz=ZONE))


def _verify(round_id: int) -> int:
    report = counting.verify(rounds.load_round(round_id))
    assert report.ok, report
    return 0


CHILD_EXPORTS: dict[str, Callable[[int], int]] = {
    "open-data": _open_data,
    "csv": _csv,
    "xlsx": _xlsx,
    "pb": _pb,
    "pdf": _pdf,
    "tally-verify": _verify,
}


def child(url: str, round_id: int, what: str) -> None:
    """Run one export and print its figures as JSON (the last line of stdout)."""
    import reportlab.platypus  # noqa: F401 — imported before the baseline, like openpyxl
    from openpyxl import Workbook  # noqa: F401

    app = create_app(_config(url))
    with app.app_context(), app.test_request_context():
        rounds.load_round(round_id)  # connect and warm up before the baseline
        db.session.rollback()
        base = peak_mb()
        start = time.perf_counter()
        size = CHILD_EXPORTS[what](round_id)
        seconds = time.perf_counter() - start
    figures = {"seconds": seconds, "peak_mb": peak_mb(), "base_mb": base, "bytes": size}
    print(json.dumps(figures))


# --- in the parent -----------------------------------------------------------------------


def measure(url: str, db_name: str, round_id: int, ballots: int, what: str) -> None:
    if what in OPTIONAL and importlib.util.find_spec(OPTIONAL[what]) is None:
        print(f"export: db={db_name} what={what} skipped ({OPTIONAL[what]} does not exist)")
        return
    args = [sys.executable, __file__, "--child", what, "--url", url, "--round", str(round_id)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"export: db={db_name} what={what} FAILED\n{done.stderr[-2000:]}")
        return
    f = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"export: db={db_name} what={what} ballots={ballots} seconds={f['seconds']:.2f}"
        f" peak_mb={f['peak_mb']:.0f} base_mb={f['base_mb']:.0f} bytes={f['bytes']}",
        flush=True,
    )


def run(url: str, db_name: str, ballots: int) -> None:
    start = time.perf_counter()
    round_id = build_round(url, ballots)
    built = time.perf_counter()
    distinct = close_directly(url, round_id)
    closed = time.perf_counter()
    print(
        f"export: db={db_name} what=build ballots={ballots} seconds={built - start:.1f}\n"
        f"export: db={db_name} what=close-tally ballots={ballots} seconds={closed - built:.1f}"
        f" distinct_ballots={distinct}",
        flush=True,
    )
    for what in EXPORTS:
        measure(url, db_name, round_id, ballots, what)


def postgres_reachable() -> bool:
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as err:  # any failure means "skip PostgreSQL"
        print(f"export: PostgreSQL skipped ({type(err).__name__})")
        return False
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--child", choices=sorted(CHILD_EXPORTS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.url, args.round, args.child)
        return 0
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/export.sqlite", "sqlite", args.ballots)
    if not args.skip_postgres and postgres_reachable():
        run(PG_URL, "postgresql", args.ballots)
    return 0


if __name__ == "__main__":
    sys.exit(main())
