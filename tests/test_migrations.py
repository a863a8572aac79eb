"""The real ``flask db upgrade`` builds exactly the models' schema, on SQLite and PostgreSQL.

Autogenerate cannot see CHECK constraints, so the rules that live in them are tested by
behaviour: a violating row is refused by the migrated database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy.engine import make_url

from tests.conftest import test_config
from voting import create_app
from voting.config import normalize_database_url
from voting.extensions import db


def _fresh_database_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    url = make_url(normalize_database_url(url))
    name = f"{url.database}_migrations"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def migrated_app(tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    app = create_app(test_config(_fresh_database_url(tmp_path)))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_upgrade_schema_matches_models(migrated_app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_db_check_reports_nothing_to_migrate(migrated_app):
    result = migrated_app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_migrations_single_head(migrated_app):
    config = migrated_app.extensions["migrate"].migrate.get_config()
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_downgrade_to_base_and_upgrade_again(migrated_app):
    runner = migrated_app.test_cli_runner()
    down = runner.invoke(args=["db", "downgrade", "base"])
    assert down.exit_code == 0, down.output
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert "ballot" in sa.inspect(db.engine).get_table_names()


def _insert(conn, table: str, **values):  # type: ignore[no-untyped-def]
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    conn.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)  # noqa: S608


def _base_rows(conn) -> None:  # type: ignore[no-untyped-def]
    _insert(conn, "street", id=1, name="凯旋街道", district="上城区")
    _insert(conn, "community", id=1, street_id=1, name="南肖埠社区")
    _insert(conn, "station", id=1, street_id=1, community_id=1, name="站", address="", hours="")
    _insert(
        conn,
        "staff_user",
        id=1,
        username="o",
        display_name="o",
        password_hash="x",
        role="official",
        street_id=1,
        station_id=None,
        active=True,
        session_nonce="n",
        created_at="2026-01-01 00:00:00",
    )


ROUND = {
    "id": 1,
    "street_id": 1,
    "title": "t",
    "description": "",
    "status": "draft",
    "opens_at": "2026-01-01 00:00:00",
    "closes_at": "2026-01-10 00:00:00",
    "min_choices": 1,
    "max_choices": 3,
    "budget_yuan": None,
    "seats": 2,
    "outcome_rule": "top_n",
    "running_results_public": False,
    "ballot_count": None,
    "created_by_id": 1,
    "created_at": "2026-01-01 00:00:00",
    "opened_at": None,
    "closed_at": None,
    "close_reason": "",
    "finalized_at": None,
}


@pytest.mark.parametrize(
    "override",
    [
        {"min_choices": 4},  # min > max
        {"seats": 0},
        {"closes_at": "2025-12-31 00:00:00"},  # window backwards
        {"outcome_rule": "greedy"},  # greedy without a budget
        {"budget_yuan": 0},
        {"status": "open"},  # open without opened_at
        {"status": "open", "opened_at": "2026-01-01 00:00:00"},  # open without definition_key
        {"status": "bogus"},
    ],
)
def test_migrated_round_check_constraints_refuse_bad_rows(migrated_app, override):
    with db.engine.begin() as conn:
        _base_rows(conn)
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        _insert(conn, "voting_round", **{**ROUND, **override})


def test_migrated_staff_station_role_needs_station(migrated_app):
    with db.engine.begin() as conn:
        _base_rows(conn)
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        _insert(
            conn,
            "staff_user",
            id=2,
            username="s",
            display_name="s",
            password_hash="x",
            role="station",
            street_id=1,
            station_id=None,
            active=True,
            session_nonce="n",
            created_at="2026-01-01 00:00:00",
        )


def _round_with_ballot_rows(conn) -> None:  # type: ignore[no-untyped-def]
    _base_rows(conn)
    _insert(conn, "voting_round", **ROUND)
    for cid in (1, 2):
        _insert(
            conn,
            "candidate",
            id=cid,
            station_id=1,
            community_id=1,
            title=f"c{cid}",
            summary="",
            description="",
            category="x",
            location="x",
            target="",
            cost_yuan=1,
            source="online",
            raised_by=0,
            status="accepted",
            review_reason="ok",
            reviewed_by_id=1,
            reviewed_at="2026-01-01 00:00:00",
            created_by_id=1,
            created_at="2026-01-01 00:00:00",
            updated_at="2026-01-01 00:00:00",
        )
    _insert(
        conn,
        "round_candidate",
        round_id=1,
        candidate_id=1,
        position=1,
        council_selected=False,
        council_reason="",
    )
    _insert(
        conn,
        "resident",
        id=1,
        community_id=1,
        name="n",
        id_hmac="a" * 64,
        id_tail="002X",
        phone_hmac=None,
        phone_last4="",
        building="",
        unit="",
        room="",
        status="active",
        imported_at="2026-01-01 00:00:00",
    )
    _insert(conn, "ballot", id="b" * 32, round_id=1, receipt_hash="r" * 64)


def test_migrated_participation_unique_per_round_and_resident(migrated_app):
    with db.engine.begin() as conn:
        _round_with_ballot_rows(conn)
        _insert(
            conn,
            "participation",
            round_id=1,
            resident_id=1,
            channel="code",
            voted_at="2026-01-02 00:00:00",
        )
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        _insert(
            conn,
            "participation",
            round_id=1,
            resident_id=1,
            channel="station",
            voted_at="2026-01-02 00:01:00",
        )


def test_migrated_ballot_choice_must_stand_in_the_round(migrated_app):
    with db.engine.begin() as conn:
        _round_with_ballot_rows(conn)
        _insert(conn, "ballot_choice", ballot_id="b" * 32, round_id=1, candidate_id=1)
    # Candidate 2 exists but does not stand in round 1.
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        _insert(conn, "ballot_choice", ballot_id="b" * 32, round_id=1, candidate_id=2)


def test_migrated_candidate_review_needs_reason(migrated_app):
    with db.engine.begin() as conn:
        _base_rows(conn)
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        _insert(
            conn,
            "candidate",
            id=1,
            station_id=1,
            community_id=1,
            title="c",
            summary="",
            description="",
            category="x",
            location="x",
            target="",
            cost_yuan=1,
            source="online",
            raised_by=0,
            status="rejected",
            review_reason="",
            reviewed_by_id=1,
            reviewed_at="2026-01-01 00:00:00",
            created_by_id=1,
            created_at="2026-01-01 00:00:00",
            updated_at="2026-01-01 00:00:00",
        )


def test_migrated_audit_event_is_append_only(migrated_app):
    with db.engine.begin() as conn:
        _base_rows(conn)
        _insert(
            conn,
            "audit_event",
            seq=1,
            at="2026-01-01 00:00:00",
            actor_id=1,
            actor="o",
            action="x",
            object_type="t",
            object_id="1",
            payload="{}",
            prev_hash="0" * 64,
            hash="a" * 64,
        )
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET payload = 'tampered'"))
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ballot SET receipt_hash = 'r'",
        "DELETE FROM ballot_choice",
        "DELETE FROM participation",
        "INSERT INTO ballot (id, round_id, receipt_hash, receipt_hint) VALUES "
        "('cccccccccccccccccccccccccccccccc', 1, 'stuffed', '')",
    ],
)
def test_migrated_ballots_frozen_after_close(migrated_app, statement):
    with db.engine.begin() as conn:
        _round_with_ballot_rows(conn)
        _insert(conn, "ballot_choice", ballot_id="b" * 32, round_id=1, candidate_id=1)
        _insert(
            conn,
            "participation",
            round_id=1,
            resident_id=1,
            channel="code",
            voted_at="2026-01-02 00:00:00",
        )
        conn.execute(
            sa.text(
                "UPDATE voting_round SET status = 'closed', opened_at = '2026-01-01 00:00:00',"
                " definition_key = 'k',"
                " closed_at = '2026-01-10 00:00:00' WHERE id = 1"
            )
        )
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.text(statement))


def test_supervisor_role_migration_keeps_staff_and_their_references(migrated_app):
    """The role CHECK change rebuilds staff_user on SQLite: rows other tables point to stay."""
    runner = migrated_app.test_cli_runner()
    down = runner.invoke(args=["db", "downgrade", "340d76242d31"])
    assert down.exit_code == 0, down.output
    with db.engine.begin() as conn:
        _insert(conn, "street", id=1, name="凯旋街道", district="上城区")
        _insert(
            conn, "staff_user", id=1, username="gw", display_name="工委", password_hash="x",
            role="official", street_id=1, active=True, session_nonce="n",
            created_at="2026-05-01 00:00:00",
        )  # fmt: skip
        _insert(
            conn, "audit_event", seq=1, at="2026-05-01 00:00:00", actor_id=1, actor="gw",
            action="x", object_type="street", object_id="1", payload="{}", prev_hash="0" * 64,
            hash="1" * 64,
        )  # fmt: skip
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, up.output
    with db.engine.begin() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_event WHERE actor_id = 1")) == 1
        _insert(
            conn, "staff_user", id=2, username="dd", display_name="督导", password_hash="x",
            role="supervisor", street_id=1, active=True, session_nonce="m",
            created_at="2026-05-01 00:00:00",
        )  # fmt: skip
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        _insert(
            conn, "staff_user", id=3, username="zz", display_name="x", password_hash="x",
            role="inspector", street_id=1, active=True, session_nonce="k",
            created_at="2026-05-01 00:00:00",
        )  # fmt: skip
    # A supervisor account exists: the downgrade refuses rather than break the CHECK.
    refused = runner.invoke(args=["db", "downgrade", "340d76242d31"])
    assert refused.exit_code != 0
