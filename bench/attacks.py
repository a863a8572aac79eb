"""The adversarial benchmark (research §3.3): every registered attack, with legitimate
residents voting before and after each one, on one database engine.

    .venv/bin/python bench/attacks.py                      # a temporary SQLite file
    .venv/bin/python bench/attacks.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/attacks.py --database-url postgresql://…/scratch --only C7,U2

A PostgreSQL URL naming the server's maintenance database (``postgres``) makes a scratch
database ``attacks_bench`` (dropped first and last); any other URL is used as given, its
tables dropped and created first and dropped last. The app is the test suite's: CSRF on,
the test pepper, ``tests.conftest.test_config``.

For each case, in sorted order: wipe every row, build a fresh context (an open round, 120
residents with voting codes and phones, a log capture), let ``--legit`` residents vote,
run the attack, let ``--legit`` more vote, check the invariants. Counted:

* ``attacks_succeeded``: the case raised — an AssertionError (its expected outcome was not
  met) or any other exception (a crash is a success for the attacker too);
* ``ballots_lost``: receipts acknowledged to legitimate residents, during the case and
  around it, whose ballot is missing at the end;
* ``legit_refused``: legitimate residents refused a vote (or whose vote raised);
* ``invariant_violations``: the invariants ``Ctx.violations`` reports broken.

One line per case, then exactly:

    attacks_tried=N attacks_succeeded=S ballots_lost=L legit_refused=R invariant_violations=V

The exit status is 0 only if S, L, R and V are all 0.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the test package (harness, factories) is not installed

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, make_url, select, text  # noqa: E402

import tests.security.cases_channels  # noqa: E402 — registers the cases
import tests.security.cases_core  # noqa: E402, F401 — and these
from tests.conftest import Browser, test_config, wipe  # noqa: E402
from tests.security.harness import CASES, Ctx, make_ctx  # noqa: E402
from voting import create_app  # noqa: E402
from voting.config import normalize_database_url  # noqa: E402
from voting.domain.codes import receipt_hash  # noqa: E402
from voting.extensions import db, limiter  # noqa: E402
from voting.models import Ballot  # noqa: E402

SCRATCH = "attacks_bench"
MAINTENANCE = "postgres"
MESSAGE_MAX = 300


@dataclass
class Totals:
    tried: int = 0
    succeeded: int = 0
    lost: int = 0
    refused: int = 0
    violations: int = 0

    def line(self) -> str:
        return (
            f"attacks_tried={self.tried} attacks_succeeded={self.succeeded}"
            f" ballots_lost={self.lost} legit_refused={self.refused}"
            f" invariant_violations={self.violations}"
        )

    @property
    def clean(self) -> bool:
        return self.succeeded == self.lost == self.refused == self.violations == 0


@dataclass
class Outcome:
    """What one case did."""

    seconds: float = 0.0
    failure: str | None = None  # the attack succeeded: why
    lost: int = 0
    refused: int = 0
    violations: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = [self.failure] if self.failure else []
        found += [f"invariant: {v}" for v in self.violations]
        if self.lost:
            found.append(f"{self.lost} acknowledged ballots lost")
        if self.refused:
            found.append(f"{self.refused} legitimate residents refused")
        return found


# --- the database ---------------------------------------------------------------------------


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The URL to run on: a temporary SQLite file, a scratch PostgreSQL database, or ``url``."""
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="attacks-bench-"))
        try:
            yield f"sqlite:///{folder / 'attacks.sqlite'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.database != MAINTENANCE:
        yield url
        return
    server = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {SCRATCH}"))
        yield parsed.set(database=SCRATCH).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
        server.dispose()


def build_app(url: str) -> Flask:
    app = create_app(test_config(url))
    app.test_client_class = Browser
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def drop_tables(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


# --- one case -------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    """One line: an assertion's message (or where it stood), else the traceback's last line."""
    if isinstance(exc, AssertionError):
        message = str(exc)
        if not message:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            message = f"assertion failed at {Path(frame.filename).name}:{frame.lineno}"
    else:
        message = traceback.format_exception(exc)[-1].strip()
    message = " ".join(message.split())
    return message[:MESSAGE_MAX] + ("…" if len(message) > MESSAGE_MAX else "")


def _legit(ctx: Ctx, times: int) -> None:
    for _ in range(times):
        try:
            ctx.legit_vote()
        except Exception:  # a crash on a legitimate vote is a refusal too
            db.session.rollback()
            ctx.legit_refused += 1


def _lost(ctx: Ctx) -> int:
    stored = set(db.session.scalars(select(Ballot.receipt_hash)))
    return sum(1 for receipt in ctx.receipts if receipt_hash(receipt) not in stored)


def run_case(app: Flask, case_id: str, *, residents: int, legit: int) -> Outcome:
    _category, _description, attack = CASES[case_id]
    outcome = Outcome()
    wipe(app)
    root = logging.getLogger()
    level = root.level
    with app.app_context():
        limiter.reset()  # the limits' counters start clean for every case, as in the suite
        ctx = make_ctx(app, residents=residents)
        try:
            _legit(ctx, legit)
            started = time.perf_counter()
            try:
                attack(ctx)
            except Exception as exc:  # AssertionError included: the attack succeeded
                outcome.failure = _describe(exc)
            outcome.seconds = time.perf_counter() - started
            db.session.rollback()
            _legit(ctx, legit)
            outcome.violations = ctx.violations()
            outcome.lost = _lost(ctx)
            outcome.refused = ctx.legit_refused
        finally:
            ctx.release_logs()  # type: ignore[attr-defined]
            root.setLevel(level)
            db.session.remove()
    return outcome


# --- the run --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--only", help="comma-separated case ids (default: every case)")
    parser.add_argument("--residents", type=int, default=120, help="residents per case")
    parser.add_argument("--legit", type=int, default=2, help="legitimate votes before and after")
    args = parser.parse_args(argv)
    ids = sorted(CASES)
    if args.only:
        wanted = {i.strip() for i in args.only.split(",") if i.strip()}
        unknown = wanted - set(ids)
        if unknown:
            parser.error(f"unknown case ids: {', '.join(sorted(unknown))}")
        ids = [i for i in ids if i in wanted]
    totals = Totals()
    with database(args.database_url) as url:
        app = build_app(url)
        print(f"database: {db_name(app)}; {len(ids)} cases", flush=True)
        try:
            for case_id in ids:
                outcome = run_case(app, case_id, residents=args.residents, legit=args.legit)
                totals.tried += 1
                totals.succeeded += outcome.failure is not None
                totals.lost += outcome.lost
                totals.refused += outcome.refused
                totals.violations += len(outcome.violations)
                problems = outcome.problems()
                if problems:
                    print(f"case {case_id} FAILED: {'; '.join(problems)}", flush=True)
                else:
                    print(f"case {case_id} ok {outcome.seconds:.2f}s", flush=True)
        finally:
            drop_tables(app)
    print(totals.line(), flush=True)
    return 0 if totals.clean else 1


def db_name(app: Flask) -> str:
    with app.app_context():
        return db.engine.dialect.name


if __name__ == "__main__":
    sys.exit(main())
