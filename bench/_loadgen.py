"""Closed-loop HTTP load generator for ``bench/cast.py``: asyncio, raw streams, keep-alive.

One process, one event loop. Each virtual user holds one HTTP/1.1 connection and runs its
scenario (a resident's whole path, one confirm POST for a prepared resident, or one bare
POST) back to back with no think time, so ``concurrency`` scenarios are always in flight.
Each request carries the cookie jar of the resident it is for, not of the connection.

``run_phase`` is measured: a warm-up, a window and a drain. Scenarios finishing inside the
window give the rate and latencies; errors, receipts and values are counted over the whole
phase. The warm-up lasts at least ``warmup`` seconds and until ``concurrency`` scenarios
have finished, so the first wave (every user starting at once) is over before measuring.
If the item source runs dry, the window ends when the first user finds it empty (from then
on fewer than ``concurrency`` scenarios are in flight) and the rate is the count finished
by then over the seconds actually measured.

``run_batch`` is not measured: it runs every item once (preparing residents, collecting
receipts) at a given concurrency and keeps what the scenarios return.

Loopback only; bounded in time (no new scenario starts after the window or the batch's
time limit; the warm-up is capped; a drain timeout cancels the rest) and in count.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 60.0  # seconds for one request, connect included
DRAIN_TIMEOUT = 120.0  # seconds for in-flight scenarios to finish after the window
MAX_WARMUP = 120.0  # the window opens after this many seconds whatever has finished
MAX_ERROR_SAMPLES = 5


class Failure(Exception):
    """A step of a scenario went wrong (status, content, network): counted as an error."""


class _Stale(Exception):
    """A reused keep-alive connection was closed by the server before answering."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    set_cookies: list[str]
    body: bytes

    def location(self) -> str:
        """The redirect target as a path (Werkzeug may send it absolute or relative)."""
        target = self.headers.get("location", "")
        parts = urlsplit(target)
        return parts.path + (f"?{parts.query}" if parts.query else "")


class CookieJar(dict[str, str]):
    """Just enough of a browser's cookie store for one site."""

    def absorb(self, response: Response) -> None:
        for raw in response.set_cookies:
            pair, _, attributes = raw.partition(";")
            name, _, value = pair.strip().partition("=")
            if not value or "max-age=0" in attributes.lower():
                self.pop(name, None)
            else:
                self[name] = value

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.items())


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port, reopened when closed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.requests = 0
        self.connects = 0

    async def request(
        self,
        method: str,
        path: str,
        *,
        form: list[tuple[str, str]] | None = None,
        json_body: bytes | None = None,
        jar: CookieJar | None = None,
    ) -> Response:
        head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            head.append("Content-Type: application/x-www-form-urlencoded")
        elif json_body is not None:
            body = json_body
            head.append("Content-Type: application/json")
        if method == "POST":
            head.append(f"Content-Length: {len(body)}")
        if jar:
            head.append(f"Cookie: {jar.header()}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        self.requests += 1
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                response = await self._send(data)
        except TimeoutError:
            self.close()
            raise Failure(f"{method} {path.split('/c/')[0]}: timeout") from None
        except (OSError, asyncio.IncompleteReadError, ValueError) as err:
            self.close()
            raise Failure(f"{method}: {type(err).__name__}: {err}") from None
        if jar is not None:
            jar.absorb(response)
        return response

    async def _send(self, data: bytes) -> Response:
        reused = self.writer is not None
        if not reused:
            await self._connect()
        try:
            return await self._exchange(data)
        except _Stale:
            if not reused:
                raise ConnectionResetError("closed before any response") from None
        # The server dropped an idle keep-alive connection: retry once on a fresh one, as
        # a browser does (nothing reached the application).
        self.close()
        await self._connect()
        return await self._exchange(data)

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.connects += 1

    async def _exchange(self, data: bytes) -> Response:
        assert self.reader is not None
        assert self.writer is not None
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            self.close()
            raise _Stale from None
        try:
            raw_head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as err:
            if not err.partial:
                self.close()
                raise _Stale from None
            raise
        except ConnectionResetError:
            self.close()
            raise _Stale from None
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        cookies = []
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookies.append(value)
            headers[name] = value
        body = await self._read_body(headers)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, cookies, body)

    async def _read_body(self, headers: dict[str, str]) -> bytes:
        assert self.reader is not None
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    return b"".join(chunks)
                chunks.append(chunk[:-2])
        if "content-length" in headers:
            return await self.reader.readexactly(int(headers["content-length"]))
        body = await self.reader.read()
        self.close()
        return body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Outcome:
    """What one finished scenario reports: the timed step, the receipt a resident was
    shown (if any) and any value the caller wants back (a prepared resident, say)."""

    timed_s: float
    receipt: str | None = None
    value: Any = None


Scenario = Callable[[Connection, Any], Awaitable[Outcome]]


@dataclass
class PhaseResult:
    concurrency: int
    duration: float  # seconds measured: the window, or less if the items ran dry in it
    completed_in_window: int = 0
    completed_total: int = 0
    timed_ms: list[float] = field(default_factory=list)  # the measured step (cast POST)
    path_ms: list[float] = field(default_factory=list)  # the whole scenario
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)  # Outcome.value of every finished one
    requests: int = 0
    connects: int = 0
    exhausted: bool = False  # the items ran dry before the window's end
    window_cut: bool = False  # ... and the window was shortened to when they did
    loadgen_cpu_s: float = 0.0
    wall_s: float = 0.0
    warmup_s: float = float("nan")  # when the window opened

    @property
    def rate(self) -> float:
        return self.completed_in_window / self.duration if self.duration > 0 else 0.0

    def percentile(self, q: int, values: list[float] | None = None) -> float:
        values = self.timed_ms if values is None else values
        if len(values) < 2:
            return values[0] if values else float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1]

    def record_error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(message)


@dataclass
class Window:
    """The measured window: opens after the warm-up, closes ``duration`` seconds later."""

    started: float
    warmup: float
    duration: float
    concurrency: int
    opened: float | None = None
    dry_at: float | None = None  # when a user first found no item left

    def open_if_due(self, now: float, completed: int) -> None:
        if self.opened is not None or self.dry_at is not None:
            return
        warm = now - self.started >= self.warmup and completed >= self.concurrency
        if warm or now - self.started >= MAX_WARMUP:
            self.opened = now

    def ran_dry(self, now: float) -> None:
        if self.dry_at is None:
            self.dry_at = now

    def end(self) -> float:
        assert self.opened is not None
        end = self.opened + self.duration
        return end if self.dry_at is None else min(end, self.dry_at)

    def contains(self, now: float) -> bool:
        return self.opened is not None and self.opened <= now < self.end()

    def over(self, now: float) -> bool:
        self.open_if_due(now, 0)
        return self.opened is not None and now >= self.opened + self.duration


async def _attempt(
    conn: Connection, scenario: Scenario, item: Any, result: PhaseResult
) -> Outcome | None:
    """Run one scenario; count it (and keep its receipt and value) or count its error."""
    try:
        outcome = await scenario(conn, item)
    except Failure as err:
        result.record_error(str(err))
        conn.close()
        return None
    except Exception as err:  # a bug in a scenario must not stop the others
        result.record_error(f"{type(err).__name__}: {err}")
        conn.close()
        return None
    result.completed_total += 1
    if outcome.receipt is not None:
        result.receipts.append(outcome.receipt)
    if outcome.value is not None:
        result.values.append(outcome.value)
    return outcome


async def _user(
    port: int,
    scenario: Scenario,
    items: Iterator[Any],
    window: Window,
    result: PhaseResult,
) -> None:
    conn = Connection(port)
    try:
        while not window.over(time.perf_counter()):
            item = next(items, None)
            if item is None:
                window.ran_dry(time.perf_counter())
                return
            started = time.perf_counter()
            outcome = await _attempt(conn, scenario, item, result)
            if outcome is None:
                continue
            finished = time.perf_counter()
            window.open_if_due(finished, result.completed_total)
            if window.contains(finished):
                result.completed_in_window += 1
                result.timed_ms.append(outcome.timed_s * 1000)
                result.path_ms.append((finished - started) * 1000)
    finally:
        result.requests += conn.requests
        result.connects += conn.connects
        conn.close()


async def _run(
    port: int,
    scenario: Scenario,
    items: Iterator[Any],
    concurrency: int,
    warmup: float,
    duration: float,
) -> PhaseResult:
    result = PhaseResult(concurrency, duration)
    start = time.perf_counter()
    window = Window(start, warmup, duration, concurrency)
    users = [
        asyncio.ensure_future(_user(port, scenario, items, window, result))
        for _ in range(concurrency)
    ]
    limit = max(warmup, MAX_WARMUP) + duration + DRAIN_TIMEOUT
    done, pending = await asyncio.wait(users, timeout=limit)
    for task in pending:
        task.cancel()
        result.record_error("scenario still running after the drain timeout")
    for task in done:
        if task.exception() is not None:
            result.record_error(f"user crashed: {task.exception()!r}")
    result.wall_s = time.perf_counter() - start
    if window.opened is not None:
        result.warmup_s = window.opened - start
        result.duration = max(window.end() - window.opened, 0.0)
        result.exhausted = window.dry_at is not None and window.dry_at < window.opened + duration
        result.window_cut = result.exhausted
    elif window.dry_at is not None:  # dry during the warm-up: nothing was measured
        result.exhausted = True
        result.duration = 0.0
    return result


def run_phase(
    port: int,
    scenario: Scenario,
    items: Iterator[Any],
    *,
    concurrency: int,
    warmup: float,
    duration: float,
) -> PhaseResult:
    """Run one closed-loop phase against 127.0.0.1:port; return its figures."""
    cpu0 = time.process_time()
    result = asyncio.run(_run(port, scenario, items, concurrency, warmup, duration))
    result.loadgen_cpu_s = time.process_time() - cpu0
    return result


async def _batch(
    port: int, scenario: Scenario, items: Iterator[Any], concurrency: int, limit: float
) -> PhaseResult:
    result = PhaseResult(concurrency, 0.0)
    start = time.perf_counter()
    deadline = start + limit

    async def user() -> None:
        conn = Connection(port)
        try:
            while time.perf_counter() < deadline:
                item = next(items, None)
                if item is None:
                    result.exhausted = True
                    return
                await _attempt(conn, scenario, item, result)
        finally:
            result.requests += conn.requests
            result.connects += conn.connects
            conn.close()

    users = [asyncio.ensure_future(user()) for _ in range(concurrency)]
    done, pending = await asyncio.wait(users, timeout=limit + DRAIN_TIMEOUT)
    for task in pending:
        task.cancel()
        result.record_error("scenario still running after the drain timeout")
    for task in done:
        if task.exception() is not None:
            result.record_error(f"user crashed: {task.exception()!r}")
    result.wall_s = result.duration = time.perf_counter() - start
    result.completed_in_window = result.completed_total
    return result  # exhausted False: the time limit stopped it before the last item


def run_batch(
    port: int, scenario: Scenario, items: Iterator[Any], *, concurrency: int, limit: float
) -> PhaseResult:
    """Run every item once, unmeasured, ``concurrency`` at a time, starting none after
    ``limit`` seconds; the result's ``values`` and ``receipts`` hold what came back."""
    cpu0 = time.process_time()
    result = asyncio.run(_batch(port, scenario, items, concurrency, limit))
    result.loadgen_cpu_s = time.process_time() - cpu0
    return result


# --- CPU accounting from /proc (percent of one core; 200 % is the whole 2-core box) ---

PROC = os.path.join(os.sep, "proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"{PROC}/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def process_groups(gunicorn_master: int, pg_database: str | None) -> dict[int, str]:
    """pid → group for the server side: the gunicorn master and its workers, and the
    PostgreSQL backends serving ``pg_database``."""
    groups = {gunicorn_master: "gunicorn"}
    marker = f" {pg_database} ".encode() if pg_database else None
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        pid = int(name)
        fields = _stat_fields(pid)
        if fields is None:
            continue
        if int(fields[1]) == gunicorn_master:
            groups[pid] = "gunicorn"
        elif marker:
            cmd = _cmdline(pid)
            if cmd.startswith(b"postgres: ") and marker in cmd:
                groups[pid] = "postgres"
    return groups


def cpu_ticks(groups: dict[int, str]) -> dict[int, int]:
    ticks = {}
    for pid in groups:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def box_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies summed over all cores, from /proc/stat."""
    with open(f"{PROC}/stat") as f:
        values = [int(x) for x in f.readline().split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class CpuWindow:
    """CPU seconds per group over one phase."""

    gunicorn_master: int
    pg_database: str | None
    started: float = 0.0
    groups: dict[int, str] = field(default_factory=dict)
    ticks: dict[int, int] = field(default_factory=dict)
    box: tuple[int, int] = (0, 0)
    seconds: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0

    def start(self) -> None:
        self.groups = process_groups(self.gunicorn_master, self.pg_database)
        self.ticks = cpu_ticks(self.groups)
        self.box = box_busy_ticks()
        self.started = time.perf_counter()

    def stop(self, loadgen_cpu_s: float) -> None:
        self.wall_s = time.perf_counter() - self.started
        groups = process_groups(self.gunicorn_master, self.pg_database)
        groups.update(self.groups)
        after = cpu_ticks(groups)
        busy0, total0 = self.box
        busy1, total1 = box_busy_ticks()
        seconds = {"gunicorn": 0.0, "postgres": 0.0}
        for pid, ticks in after.items():
            seconds[groups[pid]] += (ticks - self.ticks.get(pid, 0)) / CLOCK_TICKS
        cores = os.cpu_count() or 1
        box_s = (busy1 - busy0) / max(total1 - total0, 1) * cores * self.wall_s
        seconds["loadgen"] = loadgen_cpu_s
        seconds["other"] = max(box_s - sum(seconds.values()), 0.0)
        seconds["box"] = box_s
        self.seconds = seconds

    def percent(self, group: str) -> float:
        return 100 * self.seconds.get(group, 0.0) / max(self.wall_s, 1e-9)

    def summary(self) -> str:
        return (
            " ".join(
                f"{g}={self.percent(g):.0f}%" for g in ("gunicorn", "postgres", "loadgen", "other")
            )
            + f" box={self.percent('box'):.0f}%/{100 * (os.cpu_count() or 1)}%"
        )
