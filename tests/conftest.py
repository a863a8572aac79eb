"""Fixtures: one app and schema per test session, rows wiped after every test.

``TEST_DATABASE_URL`` selects PostgreSQL; otherwise a SQLite file in a temp folder (a file,
not ``:memory:``, so threads in the concurrency tests really share one database).
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_login import FlaskLoginClient
from sqlalchemy import text

from voting import create_app
from voting.config import normalize_database_url
from voting.extensions import db, limiter
from voting.models.triggers import create_triggers, drop_triggers

TEST_PEPPER = "test-pepper-0123456789"


def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def test_config(url: str, **extra: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key",
        "ROLL_PEPPER": TEST_PEPPER,
        "PUBLIC_BASE_URL": "http://vote.test",
        # Pages must show what the test just changed, not a cached closed-round breakdown.
        "BREAKDOWN_CACHE_SECONDS": 0,
        **extra,
    }


test_config.__test__ = False  # a helper, not a test, wherever it is imported


class Browser(FlaskLoginClient):
    """A test client whose every request runs in its own app context, as in production.

    The ``app`` fixture keeps one app context pushed for the whole test and Flask would reuse
    it for requests, so ``g`` (Flask-Login's cached user, Flask-WTF's CSRF token) and the
    SQLAlchemy session would leak from one request, and one client, to the next.
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not has_app_context():  # a redirect being followed inside a request
            return super().open(*args, **kwargs)
        db.session.commit()  # end the test's transaction: the request sees all it wrote
        kwargs.setdefault("buffered", True)  # streamed bodies run inside the request too
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            db.session.rollback()  # and the test sees all the request wrote


@pytest.fixture(scope="session")
def _session_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(test_config(database_url(tmp_path_factory)))
    app.test_client_class = Browser
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def wipe(app: Flask) -> None:
    """Delete every row, children first (TRUNCATE on PostgreSQL)."""
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(t.name for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                drop_triggers(conn)  # the append-only triggers refuse DELETE
                for table in tables:
                    conn.execute(table.delete())
                create_triggers(conn)


@pytest.fixture
def app(_session_app: Flask) -> Iterator[Flask]:
    limiter.reset()  # rate-limit counters live in process memory: start every test clean
    with _session_app.app_context():
        yield _session_app
        db.session.remove()
    wipe(_session_app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def browser(app: Flask):  # type: ignore[no-untyped-def]
    """Make a fresh client, logged in as ``user`` if given: ``browser(world.official)``."""

    def make(user=None) -> Browser:  # type: ignore[no-untyped-def]
        return Browser(app, app.response_class, use_cookies=True, user=user)

    return make


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 5, 12, 2, 30, tzinfo=UTC)


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """Read the CSRF token from a page, as a browser would."""
    response = client.get(path)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} (status {response.status_code})"
    return match.group(1)


def submit(
    client: FlaskClient, path: str, data: dict[str, object], *, page: str | None = None, **kw
):  # type: ignore[no-untyped-def]
    """POST a form with the CSRF token taken from ``page`` (default: the same path)."""
    token = csrf_token(client, page or path)
    return client.post(path, data={**data, "csrf_token": token}, **kw)
