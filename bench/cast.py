"""Casting under load (issue 3): the cast through gunicorn, against a bare endpoint.

    .venv/bin/python bench/cast.py                      # PostgreSQL, then SQLite; 20 s phases
    .venv/bin/python bench/cast.py --quick --databases sqlite      # 5 s phases, smoke test

For each database: a scratch database (PostgreSQL ``bench_cast`` and ``bench_cast_base`` on
127.0.0.1:5432, dropped first and last; SQLite files in a temp folder), migrated with
``flask db upgrade``, one open round with 12 candidates and enough residents with voting
codes for the whole run. Then two gunicorn servers on loopback, both up for the whole run
(the one not measured sits idle), with the same gunicorn settings:

* ``baseline``: ``bench/baseline_app.py``, a bare Flask + Flask-SQLAlchemy POST /vote that
  inserts one participation and three choice rows; one request per simulated voter. It is
  measured just before and just after each cast phase, at the same concurrency, and the
  ratio uses the mean of the two rates: on a shared machine whose other load drifts over
  minutes, both sides of the ratio then see the same machine.
* ``wsgi:app``, measured twice, with cookies and CSRF as a browser sends them:

  - ``path``: each simulated resident walks the whole path, GET /vote/c/<code> → GET
    ballot → POST 3 choices → GET review → POST confirm → GET receipt; the figure is
    residents per second (six requests each), with ``--think-ms`` pauses if asked.
  - ``cast``: the comparable one. Untimed, residents are first walked up to the review
    page (the same load generator, ``--prepare-concurrency`` at a time), keeping each one's
    cookie jar, the review page's CSRF token and the confirm path. Then the timed phase
    fires only POST confirm (302 to the receipt) for those residents, one request per
    vote like the baseline, each on the loop user's connection with the resident's jar.
    After the phase, untimed, GET receipt with each jar reads the receipt shown.

The load generator (``bench/_loadgen.py``, asyncio, keep-alive, closed loop, no think time)
runs in this process on the same 2 cores. Each phase prints rate, p50/p99 of the timed
step (the POST for the baseline and the cast phase; the confirm POST and the whole path
for the path phase), errors, and the CPU split. Afterwards the round is closed and
tallied, and every receipt a resident was shown, in either phase, must be a ballot row
(``lost`` counts those that are not). The last lines, per database:

    cast: db=postgresql rate=R baseline=B ratio=R/B p99_ms=P errors=E lost=L
    path: db=postgresql residents_per_s=N p99_ms=Q errors=F

R, B and P (the cast POST's p99) at the highest concurrency (200), B the mean of the two
baseline phases around that cast phase; N and Q (the whole path's p99) there too.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from re import compile as regex

import baseline_app
from _loadgen import (
    Connection,
    CookieJar,
    CpuWindow,
    Failure,
    Outcome,
    PhaseResult,
    run_batch,
    run_phase,
)
from flask import Flask
from sqlalchemy import func, insert, select

from voting import create_app
from voting.domain import identity
from voting.domain.codes import receipt_hash
from voting.domain.staff import Role
from voting.domain.tally import OutcomeRule
from voting.extensions import db
from voting.models import Ballot, Participation, Resident, StaffUser, VotingCode
from voting.services import codes, intake, rounds, sealing, staff

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-cast-secret-key"
PEPPER = "bench-cast-pepper"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_APP_DB, PG_BASE_DB = "bench_cast", "bench_cast_base"
CANDIDATES = 12
CHOICES = 3  # per ballot, as the baseline's three choice rows
# Provisioning, per phase: 1.3 x guessed rate x (warm-up + window) + concurrency residents
# (the window is cut short and says so if they run out; see --residents, --cast-residents).
PATH_RATE_GUESS = 100  # residents per second through the whole path
CAST_RATE_GUESS = 450  # casts per second, cast-only (--cast-rate-guess)
MARGIN = 1.3
PREPARE_LIMIT = 900.0  # seconds: no resident starts preparing after this
STALE_AFTER = 15 * 60  # seconds: prepared residents older than this are not reused (30 min)

BALLOT_PATH = regex(r"/vote/\d+/ballot")
CSRF = regex(rb'name="csrf_token" type="hidden" value="([^"]+)"')
CHOICE = regex(rb'name="choices" value="(\d+)"')
RECEIPT = regex(rb'id="receipt-code">([0-9A-Z-]+)<')


# --- scratch databases -------------------------------------------------------------------


@dataclass
class Target:
    name: str  # "postgresql" | "sqlite"
    app_url: str
    base_url: str
    app_pg_db: str | None = None
    base_pg_db: str | None = None


def _pg_recreate(*names: str, create: bool = True) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            if create:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))


@contextmanager
def scratch(name: str) -> Iterator[Target]:
    if name == "postgresql":
        _pg_recreate(PG_APP_DB, PG_BASE_DB)
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        try:
            yield Target(name, f"{base}/{PG_APP_DB}", f"{base}/{PG_BASE_DB}", PG_APP_DB, PG_BASE_DB)
        finally:
            _pg_recreate(PG_APP_DB, PG_BASE_DB, create=False)
    elif name == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="bench-cast-"))
        try:
            yield Target(
                name, f"sqlite:///{tmp / 'app.sqlite'}", f"sqlite:///{tmp / 'base.sqlite'}"
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    else:
        raise SystemExit(f"unknown database {name!r} (postgresql, sqlite)")


# --- the round, built through the services ------------------------------------------------


@dataclass
class Round:
    app: Flask
    round_id: int
    official_id: int
    codes: list[str]


def _candidates(street, communities, station) -> tuple[StaffUser, list[int]]:  # type: ignore[no-untyped-def]
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
    ids = []
    for i in range(CANDIDATES):
        data = intake.CandidateInput(
            title=f"项目{i}",
            summary="",
            description="说明",
            category="其他",
            community_id=communities[i % len(communities)].id,
            location="某处",
            target="",
            cost_yuan=50_000 + 37_000 * i,
            source=intake.IdeaSource.ONLINE,
            raised_by=i,
        )
        candidate = intake.submit_candidate(station_user, data)
        intake.review_candidate(official, candidate.id, accept=True, reason="可行")
        ids.append(candidate.id)
    return official, ids


def _residents(communities, n: int) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    rows = [
        {
            "community_id": communities[i % len(communities)].id,
            "name": "居民",
            "id_hmac": identity.id_hmac(PEPPER.encode(), f"bench-cast-{i}"),
            "id_tail": "0000",
            "phone_hmac": None,
            "phone_last4": "",
            "building": "",
            "unit": "",
            "room": str(i),
            "status": "active",
            "imported_at": now,
        }
        for i in range(n)
    ]
    db.session.execute(insert(Resident), rows)
    db.session.commit()


def build_round(url: str, residents: int, rng: random.Random) -> Round:
    """Migrate the scratch database and open one round with a code for every resident."""
    from flask_migrate import upgrade

    os.environ["DATABASE_URL"] = url
    app = create_app({"SECRET_KEY": SECRET_KEY, "ROLL_PEPPER": PEPPER})
    with app.app_context():
        upgrade()
        street = staff.ensure_street("凯旋街道", "上城区")
        communities = [staff.ensure_community(street, f"社区{i}") for i in range(5)]
        station = staff.ensure_station(
            street, "联络站", community=communities[0], address="", hours=""
        )
        official, candidate_ids = _candidates(street, communities, station)
        _residents(communities, residents)
        now = datetime.now(UTC)
        data = rounds.RoundInput(
            title="并发投票基准",
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
        slips = codes.issue_codes(round_id, pepper=PEPPER.encode(), rng=rng)
        made = Round(app, round_id, official.id, [s.code for s in slips])
        db.session.remove()
        db.engine.dispose()
    return made


# --- gunicorn ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(text[-lines:])


def _wait_ready(proc: subprocess.Popen[bytes], port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{_log_tail(log)}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        with suppress(OSError):
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                conn.close()
                return
        conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready on port {port}:\n{_log_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def gunicorn(app_spec: str, url: str, args: argparse.Namespace, log: Path) -> Iterator[tuple]:
    """Serve ``app_spec`` on a free loopback port; yield (master pid, port); stop by PID."""
    port = _free_port()
    env = dict(
        os.environ,
        SECRET_KEY=SECRET_KEY,
        ROLL_PEPPER=PEPPER,
        DATABASE_URL=url,
        FLASK_COOKIES_SECURE="false",
    )
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "-c",
        "gunicorn.conf.py",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(args.workers),
        "-k",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--pythonpath",
        "bench",
        app_spec,
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, port, "/health" if "baseline" in app_spec else "/", log)
            yield proc.pid, port
        finally:
            _stop(proc)
            _scan_log(log)


def _scan_log(log: Path) -> None:
    """Say so when the server logged errors (they cost CPU and hide real failures)."""
    counts = {"logging errors": 0, "tracebacks": 0, "[ERROR]": 0, "[CRITICAL]": 0}
    with log.open(errors="replace") as lines:
        for line in lines:
            if line.startswith("--- Logging error ---"):
                counts["logging errors"] += 1
            elif line.startswith("Traceback"):
                counts["tracebacks"] += 1
            for key in ("[ERROR]", "[CRITICAL]"):
                counts[key] += key in line
    if any(counts.values()):
        found = " ".join(
            f"{k.strip('[]').replace(' ', '_').lower()}={v}" for k, v in counts.items()
        )
        print(f"  server log {log.name}: {found}", flush=True)


# --- scenarios -------------------------------------------------------------------------------


async def _expect(
    conn: Connection,
    step: str,
    method: str,
    path: str,
    status: int,
    jar: CookieJar,
    form: list[tuple[str, str]] | None = None,
):  # type: ignore[no-untyped-def]
    response = await conn.request(method, path, form=form, jar=jar)
    if response.status != status:
        raise Failure(f"{step}: HTTP {response.status} (expected {status})")
    return response


def _csrf(step: str, body: bytes) -> str:
    match = CSRF.search(body)
    if match is None:
        raise Failure(f"{step}: no csrf_token on the page")
    return match.group(1).decode()


@dataclass
class Prepared:
    """A resident on the review page: its cookies, the page's CSRF token, the confirm path;
    after the cast, where its receipt is."""

    jar: CookieJar
    csrf: str
    confirm: str
    at: float  # time.monotonic() when ready (the voter session slides for 30 min)
    receipt_path: str = ""


async def _to_review(
    conn: Connection, code: str, rng: random.Random, think: Callable[[], Awaitable[None]]
) -> Prepared:
    """Code link → ballot → POST choices → GET review, in a fresh cookie jar."""
    jar = CookieJar()
    login = await _expect(conn, "code link", "GET", f"/vote/c/{code}", 302, jar)
    ballot = login.location()
    if not BALLOT_PATH.fullmatch(ballot):
        raise Failure(f"code link: redirected to {ballot}")
    page = await _expect(conn, "ballot", "GET", ballot, 200, jar)
    candidates = [c.decode() for c in CHOICE.findall(page.body)]
    form = [("csrf_token", _csrf("ballot", page.body))]
    form += [("choices", c) for c in rng.sample(candidates, CHOICES)]
    await think()
    chosen = await _expect(conn, "choose", "POST", ballot, 302, jar, form)
    page = await _expect(conn, "review", "GET", chosen.location(), 200, jar)
    confirm = ballot.removesuffix("/ballot") + "/confirm"
    return Prepared(jar, _csrf("review", page.body), confirm, time.monotonic())


async def _confirm(conn: Connection, ready: Prepared) -> str:
    """POST confirm with the review page's token; the receipt's path (302)."""
    form = [("csrf_token", ready.csrf)]
    cast = await _expect(conn, "confirm", "POST", ready.confirm, 302, ready.jar, form)
    if not cast.location().endswith("/receipt"):
        raise Failure(f"confirm: redirected to {cast.location()}")
    return cast.location()


async def _receipt(conn: Connection, jar: CookieJar, path: str) -> str:
    page = await _expect(conn, "receipt", "GET", path, 200, jar)
    match = RECEIPT.search(page.body)
    if match is None:
        raise Failure("receipt: page without a receipt code")
    return match.group(1).decode()


async def _no_pause() -> None:
    return None


class ResidentPath:
    """One resident, code link to receipt, in a fresh cookie jar; times the confirm POST."""

    def __init__(self, seed: int, think_ms: float = 0.0) -> None:
        self.rng = random.Random(seed)
        self.think_s = think_ms / 1000

    async def _think(self) -> None:
        """A resident reading the page (only with --think-ms; 0.5 to 1.5 times the mean)."""
        if self.think_s:
            await asyncio.sleep(self.think_s * self.rng.uniform(0.5, 1.5))

    async def __call__(self, conn: Connection, code: str) -> Outcome:
        ready = await _to_review(conn, code, self.rng, self._think)
        await self._think()
        started = time.perf_counter()
        receipt_path = await _confirm(conn, ready)
        cast_s = time.perf_counter() - started
        return Outcome(cast_s, await _receipt(conn, ready.jar, receipt_path))


class Prepare:
    """Untimed: walk one resident up to the review page; the value is a ``Prepared``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    async def __call__(self, conn: Connection, code: str) -> Outcome:
        return Outcome(0.0, value=await _to_review(conn, code, self.rng, _no_pause))


async def cast_only(conn: Connection, ready: Prepared) -> Outcome:
    """Timed: the confirm POST alone, for a prepared resident, with its cookie jar."""
    started = time.perf_counter()
    ready.receipt_path = await _confirm(conn, ready)
    return Outcome(time.perf_counter() - started, value=ready)


async def collect_receipt(conn: Connection, ready: Prepared) -> Outcome:
    """Untimed, after the cast phase: the receipt page the resident was sent to."""
    return Outcome(0.0, await _receipt(conn, ready.jar, ready.receipt_path))


class BareVote:
    """One POST /vote to the baseline app for a new resident id."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    async def __call__(self, conn: Connection, resident_id: int) -> Outcome:
        choices = self.rng.sample(range(1, CANDIDATES + 1), CHOICES)
        body = json.dumps({"round_id": 1, "resident_id": resident_id, "choices": choices})
        started = time.perf_counter()
        response = await conn.request("POST", "/vote", json_body=body.encode())
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise Failure(f"vote: HTTP {response.status}")
        return Outcome(elapsed)


# --- phases ---------------------------------------------------------------------------------


COUNTED = {"baseline": "posts", "path": "residents", "cast": "casts"}


@dataclass
class Phase:
    db: str
    target: str  # baseline | path | cast
    result: PhaseResult
    cpu: CpuWindow
    pool: int = 0  # cast: prepared residents available

    def line(self) -> str:
        r = self.result
        head = (
            f"phase db={self.db} target={self.target} concurrency={r.concurrency} "
            f"{COUNTED[self.target]}={r.completed_in_window}"
        )
        if self.target == "path":
            return (
                f"{head} residents_per_s={r.rate:.1f} "
                f"path_p50_ms={r.percentile(50, r.path_ms):.1f} "
                f"path_p99_ms={r.percentile(99, r.path_ms):.1f} "
                f"confirm_p50_ms={r.percentile(50):.1f} confirm_p99_ms={r.percentile(99):.1f} "
                f"errors={r.errors}"
            )
        tail = f" pool={self.pool}" if self.target == "cast" else ""
        return (
            f"{head} rate={r.rate:.1f}/s p50_ms={r.percentile(50):.1f} "
            f"p99_ms={r.percentile(99):.1f} errors={r.errors}{tail}"
        )

    def cpu_line(self) -> str:
        r, seconds = self.result, self.cpu.seconds
        server_ms = 1000 * (seconds["gunicorn"] + seconds["postgres"]) / max(r.completed_total, 1)
        loadgen_us = 1e6 * r.loadgen_cpu_s / max(r.requests, 1)
        unit = {"baseline": "post", "path": "resident", "cast": "cast"}[self.target]
        return (
            f"  cpu (% of one core) {self.cpu.summary()} "
            f"server_cpu_ms_per_{unit}={server_ms:.2f} "
            f"loadgen_us_per_request={loadgen_us:.0f} requests={r.requests} "
            f"connections={r.connects} completed_total={r.completed_total} "
            f"warmup_s={r.warmup_s:.1f} measured_s={r.duration:.1f} wall_s={r.wall_s:.1f}"
        )


def run_measured(
    db_name: str,
    target: str,
    pid: int,
    port: int,
    pg_db: str | None,
    scenario,  # type: ignore[no-untyped-def]
    items: Iterator,
    concurrency: int,
    args: argparse.Namespace,
    pool: int = 0,
) -> Phase:
    cpu = CpuWindow(pid, pg_db)
    cpu.start()
    result = run_phase(
        port,
        scenario,
        items,
        concurrency=concurrency,
        warmup=args.warmup,
        duration=args.duration,
    )
    cpu.stop(result.loadgen_cpu_s)
    phase = Phase(db_name, target, result, cpu, pool)
    print(phase.line(), flush=True)
    print(phase.cpu_line(), flush=True)
    for sample in result.error_samples:
        print(f"  error: {sample}", flush=True)
    if result.exhausted:
        raise_ = {"baseline": "", "path": "--residents", "cast": "--cast-residents"}[target]
        print(
            f"  warning: ran out of {COUNTED[target]} after {result.duration:.1f} s of the "
            f"{args.duration:.0f} s window; the rate is those finished by then over "
            f"{result.duration:.1f} s (raise {raise_})",
            flush=True,
        )
    return phase


def prepare_pool(
    db_name: str,
    port: int,
    codes_left: Iterator[str],
    leftover: list[Prepared],
    wanted: int,
    concurrency: int,
    args: argparse.Namespace,
    run: DatabaseRun,
) -> list[Prepared]:
    """Untimed: ``wanted`` residents on the review page, reusing fresh leftovers."""
    now = time.monotonic()
    pool = [p for p in leftover if now - p.at < STALE_AFTER]
    reused = len(pool)
    missing = max(wanted - reused, 0)
    batch = run_batch(
        port,
        Prepare(concurrency),
        (code for _, code in zip(range(missing), codes_left, strict=False)),
        concurrency=args.prepare_concurrency,
        limit=PREPARE_LIMIT,
    )
    pool += batch.values
    run.prepare_errors += batch.errors
    print(
        f"prepare db={db_name} for_concurrency={concurrency} wanted={wanted} "
        f"reused={reused} "
        f"prepared={len(batch.values)} seconds={batch.wall_s:.1f} "
        f"rate={len(batch.values) / max(batch.wall_s, 1e-9):.1f}/s errors={batch.errors} "
        f"(untimed, {args.prepare_concurrency} at a time)",
        flush=True,
    )
    for sample in batch.error_samples:
        print(f"  error: {sample}", flush=True)
    if len(pool) < wanted:
        print(f"  warning: {len(pool)} of {wanted} residents ready", flush=True)
    return pool


def collect_receipts(
    db_name: str, port: int, cast: list[Prepared], args: argparse.Namespace, run: DatabaseRun
) -> list[str]:
    """Untimed, after a cast phase: GET each resident's receipt page with its jar."""
    batch = run_batch(
        port,
        collect_receipt,
        iter(cast),
        concurrency=args.prepare_concurrency,
        limit=PREPARE_LIMIT,
    )
    run.collect_errors += len(cast) - batch.completed_total  # errors, or not reached
    print(
        f"receipts db={db_name} casts={len(cast)} receipts={len(batch.receipts)} "
        f"seconds={batch.wall_s:.1f} errors={batch.errors} (untimed)",
        flush=True,
    )
    for sample in batch.error_samples:
        print(f"  error: {sample}", flush=True)
    return batch.receipts


@dataclass
class DatabaseRun:
    name: str
    baseline: list[Phase] = field(default_factory=list)
    path: list[Phase] = field(default_factory=list)
    cast: list[Phase] = field(default_factory=list)
    prepare_errors: int = 0
    collect_errors: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        def top(phases: list[Phase]) -> PhaseResult:
            return max((p.result for p in phases), key=lambda r: r.concurrency)

        cast, path = top(self.cast), top(self.path)
        # The baseline ran just before and just after the cast phase: their mean rate.
        bases = [p.result.rate for p in self.baseline if p.result.concurrency == cast.concurrency]
        base = sum(bases) / len(bases) if bases else 0.0
        ratio = cast.rate / base if base else 0.0
        errors = (
            sum(p.result.errors for p in self.cast)
            + self.prepare_errors
            + self.collect_errors
            + len(self.problems)
        )
        return [
            f"cast: db={self.name} rate={cast.rate:.1f} baseline={base:.1f} "
            f"ratio={ratio:.2f} p99_ms={cast.percentile(99):.1f} errors={errors} "
            f"lost={self.lost}",
            f"path: db={self.name} residents_per_s={path.rate:.1f} "
            f"p99_ms={path.percentile(99, path.path_ms):.1f} "
            f"errors={sum(p.result.errors for p in self.path)}",
        ]


# --- verification -------------------------------------------------------------------------


def verify_app(made: Round, receipts: dict[str, list[str]], run: DatabaseRun) -> None:
    """Close and tally the round; every receipt shown (path and cast) must be a ballot row."""
    with made.app.app_context():
        participations = db.session.scalar(
            select(func.count())
            .select_from(Participation)
            .where(Participation.round_id == made.round_id)
        )
        used = db.session.scalar(
            select(func.count())
            .select_from(VotingCode)
            .where(VotingCode.round_id == made.round_id, VotingCode.used_at.is_not(None))
        )
        official = db.session.get(StaffUser, made.official_id)
        tally = rounds.close_round(official, made.round_id, reason="基准测试结束")
        hashes = set(
            db.session.scalars(select(Ballot.receipt_hash).where(Ballot.round_id == made.round_id))
        )
        broken = sealing.verify_batches(made.round_id)
        votes = sum(row.votes for row in tally.rows)
        db.session.remove()
        db.engine.dispose()
    shown = [r for phase_receipts in receipts.values() for r in phase_receipts]
    run.lost = sum(1 for r in shown if receipt_hash(r) not in hashes)
    split = " ".join(f"{target}={len(r)}" for target, r in receipts.items())
    print(
        f"verify db={run.name} target=app receipts={len(shown)} ({split}) "
        f"ballots={len(hashes)} "
        f"tallied={tally.ballots} votes={votes} participations={participations} "
        f"codes_used={used} lost={run.lost} broken_batches={len(broken)}",
        flush=True,
    )
    checks = {
        "participations != ballots": participations != len(hashes),
        "tallied != receipts shown": tally.ballots != len(shown),
        f"votes != {CHOICES} x ballots": votes != CHOICES * tally.ballots,
        "codes used != participations": used != participations,
        "broken sealed batches": bool(broken),
    }
    run.problems += [name for name, failed in checks.items() if failed]
    for problem in run.problems:
        print(f"  verify problem: {problem}", flush=True)


def verify_baseline(url: str, posts: int, run: DatabaseRun) -> None:
    participations, choices = baseline_app.count_rows(url)
    ok = participations == posts and choices == CHOICES * posts
    print(
        f"verify db={run.name} target=baseline posts_ok={posts} participations={participations} "
        f"choices={choices} {'ok' if ok else 'MISMATCH'}",
        flush=True,
    )


# --- one database ---------------------------------------------------------------------------


def _per_phase(rate: float, concurrency: int, args: argparse.Namespace) -> int:
    return math.ceil(MARGIN * rate * (args.warmup + args.duration)) + concurrency


def path_residents(args: argparse.Namespace) -> int:
    if args.residents:
        return args.residents
    return max(1000, sum(_per_phase(PATH_RATE_GUESS, c, args) for c in args.concurrency))


def cast_pool(concurrency: int, args: argparse.Namespace) -> int:
    """Residents to prepare for one cast phase: 1.3 x guess x (warm-up + window) + c."""
    return args.cast_residents or _per_phase(args.cast_rate_guess, concurrency, args)


def residents_needed(args: argparse.Namespace) -> int:
    return path_residents(args) + sum(cast_pool(c, args) for c in args.concurrency)


def run_database(name: str, args: argparse.Namespace, logdir: Path) -> DatabaseRun:
    run = DatabaseRun(name)
    with scratch(name) as target:
        started = time.perf_counter()
        made = build_round(target.app_url, residents_needed(args), random.Random(2026))
        baseline_app.reset_tables(target.base_url)
        print(
            f"setup db={name} residents={len(made.codes)} candidates={CANDIDATES} "
            f"seconds={time.perf_counter() - started:.1f} workers={args.workers} "
            f"worker_class={args.worker_class} threads={args.threads}",
            flush=True,
        )
        ids = count(1)
        # The path phases get their own codes, so they cannot run into the cast pools.
        path_codes = iter(made.codes[: path_residents(args)])
        cast_codes = iter(made.codes[path_residents(args) :])
        receipts: dict[str, list[str]] = {"path": [], "cast": []}
        spec = "baseline_app:create_app()"
        with (
            gunicorn(spec, target.base_url, args, logdir / f"{name}-baseline.log") as base,
            gunicorn("wsgi:app", target.app_url, args, logdir / f"{name}-app.log") as app,
        ):
            (base_pid, base_port), (pid, port) = base, app

            def baseline(c: int) -> Phase:
                return run_measured(
                    name, "baseline", base_pid, base_port, target.base_pg_db, BareVote(c), ids,
                    c, args,
                )  # fmt: skip

            for c in args.concurrency:
                path = ResidentPath(c, args.think_ms)
                phase = run_measured(
                    name, "path", pid, port, target.app_pg_db, path, path_codes, c, args
                )
                run.path.append(phase)
                receipts["path"] += phase.result.receipts
            pool: list[Prepared] = []
            for c in args.concurrency:
                pool = prepare_pool(name, port, cast_codes, pool, cast_pool(c, args), c, args, run)
                size, items = len(pool), iter(pool)
                # The baseline just before and just after the cast, at the same concurrency:
                # a box whose other load changes over minutes moves both sides alike.
                run.baseline.append(baseline(c))
                phase = run_measured(
                    name, "cast", pid, port, target.app_pg_db, cast_only, items, c, args, size
                )
                run.cast.append(phase)
                run.baseline.append(baseline(c))
                pool = list(items)  # those no user took: reused by the next phase
                receipts["cast"] += collect_receipts(name, port, phase.result.values, args, run)
        verify_baseline(target.base_url, sum(p.result.completed_total for p in run.baseline), run)
        verify_app(made, receipts, run)
    return run


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--quick", action="store_true", help="5 s phases, 1 s warm-up")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--concurrency", default="50,200", help="simulated residents")
    parser.add_argument(
        "--residents",
        type=int,
        default=0,
        help=f"codes for the path phases (default: {MARGIN} x {PATH_RATE_GUESS}/s x seconds)",
    )
    parser.add_argument(
        "--cast-residents",
        type=int,
        default=0,
        help="residents prepared for each cast phase (default: from --cast-rate-guess)",
    )
    parser.add_argument(
        "--cast-rate-guess",
        type=float,
        default=CAST_RATE_GUESS,
        help=f"casts/s to prepare for: {MARGIN} x this x (warm-up + window) + concurrency",
    )
    parser.add_argument(
        "--prepare-concurrency",
        type=int,
        default=200,
        help="untimed preparation and receipt collection: residents at a time",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="path phases only: mean pause before choosing and confirming (default: none)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the gunicorn logs")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = 5.0, 1.0
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    return args


def main() -> int:
    args = parse_args()
    logdir = Path(tempfile.mkdtemp(prefix="bench-cast-logs-"))
    summaries, failed = [], False
    for name in args.databases.split(","):
        try:
            run = run_database(name, args, logdir)
        except Exception:
            traceback.print_exc()
            summaries.append(f"cast: db={name} failed (see the traceback above)")
            failed = True
            continue
        summaries += run.summary()
        failed = failed or run.lost > 0
    if failed or args.keep_logs:
        print(f"gunicorn logs kept in {logdir}", flush=True)
    else:
        shutil.rmtree(logdir, ignore_errors=True)
    for line in summaries:
        print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
