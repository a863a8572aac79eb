"""Time the tally: a synthetic round of 1,000,000 ballots, then our rules against pabutools.

    python bench/tally.py                                   # SQLite, then PostgreSQL if reachable
    python bench/tally.py --ballots 100000 --skip-files     # smaller, synthetic part only
    python bench/tally.py --skip-synthetic                  # the Pabulib comparison only

Part 1 builds a round of ``--ballots`` approval ballots over 30 candidates (bench/_synthetic.py)
on each database and prints one line per step of the count, as the close and ``tally verify``
run them: the counts (one GROUP BY), greedy from the counts, the ballots grouped by content
(what the equal-shares rules and the digest read), each equal-shares rule, the digest, and
the ballot-box shuffle that close performs.

Part 2 is ``bench/tally_rules.py``: for every file in ``shared/pabulib`` and every rule, our
time (parse + rule) against pabutools 1.2.3's, with the ratio and whether the outcomes agree.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _synthetic import bench_app, build_round  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from voting.domain import digest as digest_rules  # noqa: E402
from voting.domain.tally import OutcomeRule, tally  # noqa: E402
from voting.extensions import db  # noqa: E402
from voting.services import counting, rounds, sealing  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_tally"


def _timed(label: str, db_name: str, ballots: int, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"tally: db={db_name} ballots={ballots} step={label} seconds={seconds:.3f}", flush=True)
    return result


def synthetic(url: str, db_name: str, ballots: int) -> None:
    app = bench_app(url)
    start = time.perf_counter()
    round_id = build_round(app, ballots=ballots)
    seconds = time.perf_counter() - start
    print(f"tally: db={db_name} ballots={ballots} step=build seconds={seconds:.1f}")
    with app.app_context():
        rnd = rounds.load_round(round_id)
        refs = [e.ref() for e in rnd.entries]

        def count_and_greedy() -> Any:
            counts = counting.vote_counts(round_id)
            total = counting.ballot_total(round_id)
            return tally(
                refs,
                counts,
                ballots=total,
                rule=OutcomeRule.GREEDY,
                seats=rnd.seats,
                budget=rnd.budget_yuan,
            )

        _timed("counts", db_name, ballots, lambda: counting.vote_counts(round_id))
        result = _timed("counts+greedy", db_name, ballots, count_and_greedy)
        counts = {r.candidate_id: r.votes for r in result.rows}
        groups = _timed("ballot-groups", db_name, ballots, lambda: counting.ballot_groups(round_id))
        approval = digest_rules.approval_groups(groups)
        print(f"tally: db={db_name} ballots={ballots} distinct_ballots={len(groups)}")
        for rule in (
            OutcomeRule.MES,
            OutcomeRule.MES_GREEDY,
            OutcomeRule.MES_ADD1,
            OutcomeRule.MES_ADD1_GREEDY,
        ):
            _timed(
                f"{rule.value}(from groups)",
                db_name,
                ballots,
                lambda rule=rule: tally(
                    refs,
                    counts,
                    ballots=ballots,
                    rule=rule,
                    seats=rnd.seats,
                    budget=rnd.budget_yuan,
                    groups=approval,
                ),
            )
        _timed(
            "digest(from groups)",
            db_name,
            ballots,
            lambda: counting.round_digest(rnd, counts, groups),
        )
        _timed(
            "shuffle-ballot-box",
            db_name,
            ballots,
            lambda: (sealing.shuffle_ballot_box(round_id), db.session.commit()),
        )
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


def postgres_reachable() -> bool:
    try:
        engine = create_engine(
            "postgresql+psycopg://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = 'bench_tally'"))
            if not exists:
                conn.execute(text("CREATE DATABASE bench_tally"))
        engine.dispose()
        return True
    except Exception as err:  # any failure means "skip PostgreSQL"
        print(f"tally: PostgreSQL skipped ({type(err).__name__})")
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--skip-files", action="store_true")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--live-max", default="10", help="passed to tally_rules.py")
    args = parser.parse_args()
    databases = args.databases.split(",")
    if not args.skip_synthetic:
        if "sqlite" in databases:
            with tempfile.TemporaryDirectory() as tmp:
                synthetic(f"sqlite:///{tmp}/tally.sqlite", "sqlite", args.ballots)
        if "postgresql" in databases and postgres_reachable():
            synthetic(PG_URL, "postgresql", args.ballots)
    if not args.skip_files:
        import tally_rules

        sys.argv = ["tally_rules.py", "--live-max", args.live_max]
        return tally_rules.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
