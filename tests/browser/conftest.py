"""Browser fixtures: the real app served on a free local port, driven by Debian's Chromium.

The app is its own (package-scoped) instance on its own SQLite file, with CSRF on, served by
werkzeug in a background thread; every test gets a freshly seeded street, a new browser
context at a phone's size, and a screenshot of its last screen in ``test-artifacts/browser``.
Without ``/usr/bin/chromium`` (or Playwright) the whole package is skipped, saying why.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import test_config, wipe
from tests.council_records import council_input, request_and_approve
from tests.factories import World
from tests.phone_roll import Person, enrol
from voting import create_app
from voting.devserver import CloseWhenSent
from voting.extensions import db, limiter
from voting.models import Implementation
from voting.seeding import load_seed
from voting.services import council, rounds
from voting.services.sms import MemorySender

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the test extra is not installed
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def _skip_reason() -> str | None:
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        # The live app always runs on its own SQLite file, so a PostgreSQL pass would repeat
        # the SQLite pass's browser run exactly (and .ci/run's time budget is 20 minutes).
        return "browser tests serve their own SQLite app: they run in the SQLite pass"
    if not CHROMIUM.exists():
        return (
            f"Chromium not found at {CHROMIUM}: browser tests skipped;"
            " apt-get install chromium to run them"
        )
    if sync_playwright is None:
        return 'Playwright is not installed: browser tests skipped; pip install -e ".[test]"'
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark (and, without Chromium, skip) every test in this package."""
    here = Path(__file__).parent
    reason = _skip_reason()
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class LiveApp:
    app: Flask
    url: str

    def sms(self) -> MemorySender:
        return self.app.extensions["sms_sender"]  # type: ignore[no-any-return]


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app, on its own SQLite file, served by werkzeug on 127.0.0.1 and a free port."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'browser.sqlite'}"
    app = create_app(test_config(url, SMS_SENDER="memory"))
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, CloseWhenSent(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-app", daemon=True)
    thread.start()
    yield LiveApp(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One Chromium for the whole package (starting one costs seconds on two cores)."""
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture
def context_options() -> dict[str, Any]:
    """Extra browser-context options; a test overrides them with ``parametrize``."""
    return {}


@pytest.fixture
def page(
    chromium: Any, live: LiveApp, context_options: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A phone (390×844, touch, zh-CN) in a new context; its last screen is saved, pass or fail."""
    context = chromium.new_context(base_url=live.url, **{**PHONE, **context_options})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    try:
        tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


@dataclass
class Street:
    """A seeded street: candidates, an open round around the real clock, residents, codes."""

    round_id: int
    codes: list[str]
    titles: list[str]  # the candidates, in ballot order
    station_address: str
    person: Person  # on the roll with an ID number and a phone, for the phone channel

    def path(self, page: str) -> str:
        return f"/vote/{self.round_id}/{page}"


@pytest.fixture
def seed(live: LiveApp) -> Iterator[Callable[..., Street]]:
    """Build a street in the live app's database: ``seed()`` or ``seed(opens_at=…)``.

    Rows, rate-limit counters and sent texts are wiped after every test.
    """
    limiter.reset()
    live.app.extensions["sms_sender"] = MemorySender()

    def make(**round_overrides: object) -> Street:
        with live.app.app_context():
            world = World(candidates=4)
            values: dict[str, object] = {"max_choices": 2, "running_results_public": True}
            round_id = world.open_round(datetime.now(UTC), **{**values, **round_overrides})
            world.residents(4)
            codes = world.issue_codes(round_id)
            titles = [c.title for c in world.candidates]
            person = enrol(world, seed=1)
            return Street(round_id, codes, titles, world.station.address, person)

    yield make
    wipe(live.app)


@pytest.fixture
def street(seed: Callable[..., Street]) -> Street:
    return seed()


@dataclass
class Finished:
    """The demo street (seeds/) with its finished 2025 round: 公示 period over, projects built
    and supervised. The supervisor logs in as ``supervisor`` / ``demo-supervisor-2026``."""

    round_id: int
    street_id: int
    projects: dict[str, int]  # the candidate's title → its implementation record's id


@pytest.fixture
def finished(live: LiveApp) -> Iterator[Finished]:
    """``load_seed`` in the live app's database (~5 s); rows wiped after the test."""
    limiter.reset()
    live.app.extensions["sms_sender"] = MemorySender()
    try:
        with live.app.app_context():
            round_id = load_seed(rng=random.Random(5))["finished_round"]
            records = db.session.scalars(
                select(Implementation)
                .where(Implementation.round_id == round_id)
                .order_by(Implementation.id)
            ).all()
            made = Finished(
                round_id,
                records[0].entry.round.street_id,
                {r.entry.candidate.title: r.id for r in records},
            )
        yield made
    finally:
        wipe(live.app)


@dataclass
class Gongshi:
    """A round whose council decision was approved just now: its 公示 takes objections."""

    round_id: int
    person: Person  # on the roll with an ID number and a phone

    def path(self, page: str) -> str:
        return f"/rounds/{self.round_id}/{page}"


@pytest.fixture
def gongshi(live: LiveApp) -> Iterator[Gongshi]:
    """Vote closed early, council record saved, requested and approved with the real clock."""
    limiter.reset()
    live.app.extensions["sms_sender"] = MemorySender()
    try:
        with live.app.app_context():
            world = World(candidates=4)
            round_id = world.open_round(datetime.now(UTC), max_choices=2)
            rounds.close_round(world.official, round_id, reason="测试：提前结束")
            rnd = rounds.load_round(round_id)
            data = council_input(
                [e.candidate_id for e in rnd.entries],
                selected={e.candidate_id for e in rnd.entries if e.rule_selected},
                held_on=datetime.now(UTC).date(),
                votes={e.candidate_id: 0 for e in rnd.entries},
            )
            assert council.save_record(world.clerk, round_id, data) == []
            request_and_approve(world.clerk, world.official, round_id)
            made = Gongshi(round_id, enrol(world, seed=1, name="赵异议"))
        yield made
    finally:
        wipe(live.app)


def wait_for(check: Callable[[], Any], *, seconds: float = 5.0) -> Any:
    """Poll ``check`` until it returns something truthy (texts leave after the response)."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {check}")
        time.sleep(0.05)
    return result


@pytest.fixture(scope="package")
def axe() -> Any:
    """axe-core (the copy bundled with axe-playwright-python), injected into each page."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe()
