"""A pooled PostgreSQL connection that died is replaced at checkout, not reported as an error."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from tests.conftest import is_postgres
from voting.extensions import db


def test_connections_killed_by_a_restart_are_replaced_before_use(app):
    if not is_postgres():
        pytest.skip("the checkout ping is PostgreSQL's")
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
    # Fill the pool with connections, then end them all from outside, as a restart would.
    sessions = [db.engine.connect() for _ in range(3)]
    pids = {conn.execute(text("SELECT pg_backend_pid()")).scalar() for conn in sessions}
    for conn in sessions:
        conn.close()
    outside = create_engine(db.engine.url, poolclass=NullPool)
    with outside.connect() as admin:
        ended = admin.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
        # A restart is over when the old server processes are gone; the checkout then finds
        # each socket closed.
        for _ in range(100):
            alive = admin.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                {"p": list(pids)},
            ).scalar()
            admin.rollback()  # the activity view is read once per transaction
            if not alive:
                break
            time.sleep(0.05)
    outside.dispose()
    assert ended >= len(pids) == 3
    assert alive == 0

    for _ in range(3):  # every pooled connection is dead; each checkout must still work
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() not in pids


def test_a_rollback_keeps_the_connections_prepared_statements(app):
    """psycopg forgets a connection's prepared statements on rollback; the app's rollback
    goes through libpq first so they survive (every read-only request ends in a rollback)."""
    if not is_postgres():
        pytest.skip("psycopg's prepared statements")
    with db.engine.connect() as conn:
        for _ in range(6):  # psycopg prepares a statement on its fifth run
            conn.execute(text("SELECT count(*) FROM voting_round WHERE id = :r"), {"r": 1})
        conn.rollback()
        prepared = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
        assert prepared >= 1
        # The transaction really ended: a write rolled back is gone.
        conn.execute(text("CREATE TEMPORARY TABLE rolled_back (x int)"))
        conn.rollback()
        gone = conn.execute(text("SELECT to_regclass('pg_temp.rolled_back') IS NULL")).scalar()
        assert gone is True


def test_a_rollback_after_the_connection_was_lost_still_recovers(app):
    """The libpq rollback steps aside for a connection the server ended: the rollback
    succeeds and the next statement gets a fresh connection."""
    if not is_postgres():
        pytest.skip("psycopg's prepared statements")
    outside = create_engine(db.engine.url, poolclass=NullPool)
    with db.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with outside.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        with pytest.raises(DBAPIError) as lost:
            conn.execute(text("SELECT 1"))
        assert lost.value.connection_invalidated
        conn.rollback()
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    outside.dispose()
