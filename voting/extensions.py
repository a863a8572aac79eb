"""Extension singletons, unbound until ``create_app`` calls ``init_app``."""

from __future__ import annotations

import select
from contextlib import suppress
from typing import Any

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage comes from RATELIMIT_STORAGE_URI: Redis when REDIS_URL is set, so every app server
# shares the counters; process memory otherwise (one server).
limiter = Limiter(key_func=get_remote_address)

# Execution option a service sets to take SQLite's write lock at BEGIN (see below).
SQLITE_IMMEDIATE = {"sqlite_begin": "IMMEDIATE"}


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on, WAL, a busy timeout, and let SQLAlchemy emit BEGIN itself."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # pysqlite's own implicit BEGIN comes only before DML, so reads would run outside the
    # transaction; turn it off and emit BEGIN in the "begin" hook instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten, so the ballot box rewritten at close leaves no old order.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: Any) -> None:
    """BEGIN, or BEGIN IMMEDIATE when a write service asked for it.

    A cast takes the write lock up front, so concurrent casts queue on the busy timeout
    instead of failing with "database is locked" when a read lock cannot be upgraded.
    """
    if conn.dialect.name != "sqlite":
        return
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def ping_postgres_on_checkout(engine: Engine) -> None:
    """What ``pool_pre_ping`` does, for psycopg at a fraction of its cost.

    SQLAlchemy's pre-ping on psycopg switches the connection to autocommit, runs ";" through
    a cursor and switches back: about half a millisecond of CPU on every request (measured,
    a fifth of a cast's CPU). A pooled connection is idle, and the server sends nothing to an
    idle connection unasked: when it ends one (a restart, an administrator, an idle timeout)
    it sends an error and closes the socket, and the socket turns readable. So the checkout
    first asks the socket, without a round trip; only a readable socket, or one libpq
    already knows is bad, gets the real ping: the same empty query sent straight through
    libpq (``Connection.pgconn``, psycopg's documented low-level handle), leaving psycopg's
    transaction state alone. A connection that does not answer raises DisconnectionError,
    which makes the pool discard it and hand out a fresh one, as pre-ping does: a database
    restart still costs no request an error page. (A connection cut without a word, by a
    network failure, is not found by either: a ping would wait on it as long as the query.)
    """

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            pgconn = dbapi_connection.pgconn
            if (
                pgconn.status == _CONNECTION_OK
                and not dbapi_connection.broken
                and not _readable(pgconn.socket)
            ):
                return
            result = pgconn.exec_(b"")
            healthy = result.status == _EMPTY_QUERY and not dbapi_connection.broken
        except Exception as exc:  # a dead socket surfaces as any psycopg error
            raise DisconnectionError() from exc
        if not healthy:
            raise DisconnectionError()


def _readable(fd: int) -> bool:
    """True if the socket has something to read (or was closed) right now."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def keep_prepared_statements(engine: Engine) -> None:
    """Roll back through libpq, so that psycopg keeps the connection's prepared statements.

    psycopg prepares a statement on a connection once it has run five times there, and
    PostgreSQL then reuses its plan. But psycopg forgets every prepared statement of the
    connection on ``rollback()`` and sends DEALLOCATE ALL: a conservative rule for
    applications that change the schema inside transactions, which this one does not do
    while serving. Every request that only reads ends with a rollback (Flask-SQLAlchemy's
    teardown), as does the check after a cast of whether a batch is due for sealing, so the
    cast's statements were planned again on most casts (measured: 617 plans per 1,000
    casts, and 1.2–1.4 ms of PostgreSQL CPU per cast instead of 0.6).

    This sends ROLLBACK straight through libpq first (as the checkout ping does); psycopg's
    own rollback then finds the connection idle and returns without clearing its cache.
    The transaction ends the same way. A server-side prepared statement is not
    transactional, so the ones psycopg knows of still exist after the rollback. If the
    ROLLBACK cannot be sent, the connection is still in its transaction and psycopg's
    rollback runs as before, reporting the error.
    """

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        if conn.invalidated or conn.closed:  # a lost connection: SQLAlchemy handles it
            return
        raw = conn.connection.dbapi_connection
        if raw is None or raw.pgconn.transaction_status == _PQ.TransactionStatus.IDLE:
            return
        # If this fails, psycopg's own rollback runs next and reports the error.
        with suppress(Exception):
            raw.pgconn.exec_(b"ROLLBACK")


def _libpq() -> Any:
    try:
        from psycopg import pq
    except ImportError:  # the postgres extra is not installed: no PostgreSQL engine either
        return None
    return pq


_PQ = _libpq()
_EMPTY_QUERY = _PQ.ExecStatus.EMPTY_QUERY if _PQ else None
_CONNECTION_OK = _PQ.ConnStatus.OK if _PQ else None
