"""Database triggers that keep the record append-only.

* ``audit_event`` rows can never be updated or deleted.
* ``ballot``, ``ballot_choice`` and ``participation`` rows cannot be inserted, updated or
  deleted once their round is closed or finalized.

PostgreSQL and SQLite get the same rules. The initial migration carries a frozen copy of
this SQL (migrations never import app code); ``create_all`` uses this module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, event, text

FROZEN_TABLES = ("ballot", "ballot_choice", "participation")

POSTGRES_CREATE = [
    """CREATE OR REPLACE FUNCTION voting_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% on % refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION voting_refuse_after_close() RETURNS trigger AS $$
DECLARE
  rid integer;
  st text;
BEGIN
  IF TG_OP = 'INSERT' THEN rid := NEW.round_id; ELSE rid := OLD.round_id; END IF;
  SELECT status INTO st FROM voting_round WHERE id = rid;
  IF st IN ('closed', 'finalized') THEN
    RAISE EXCEPTION '% on % refused: round % is %', TG_OP, TG_TABLE_NAME, rid, st
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER trg_audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event"
    " FOR EACH ROW EXECUTE FUNCTION voting_refuse_change()",
    *[
        f"CREATE TRIGGER trg_{t}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {t}"
        " FOR EACH ROW EXECUTE FUNCTION voting_refuse_after_close()"
        for t in FROZEN_TABLES
    ],
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS trg_audit_event_append_only ON audit_event",
    *[f"DROP TRIGGER IF EXISTS trg_{t}_frozen ON {t}" for t in FROZEN_TABLES],
    "DROP FUNCTION IF EXISTS voting_refuse_after_close()",
    "DROP FUNCTION IF EXISTS voting_refuse_change()",
]


def _sqlite_frozen(table: str, op: str) -> str:
    row = "NEW" if op == "INSERT" else "OLD"
    # Built from the constant table names above, never from input.
    return (
        f"CREATE TRIGGER IF NOT EXISTS trg_{table}_frozen_{op.lower()} BEFORE {op} ON {table}"  # noqa: S608
        f" WHEN (SELECT status FROM voting_round WHERE id = {row}.round_id)"
        " IN ('closed', 'finalized')"
        f" BEGIN SELECT RAISE(ABORT, '{op} on {table} refused: the round is closed'); END"
    )


SQLITE_CREATE = [
    "CREATE TRIGGER IF NOT EXISTS trg_audit_event_no_update BEFORE UPDATE ON audit_event"
    " BEGIN SELECT RAISE(ABORT, 'UPDATE on audit_event refused: append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS trg_audit_event_no_delete BEFORE DELETE ON audit_event"
    " BEGIN SELECT RAISE(ABORT, 'DELETE on audit_event refused: append-only'); END",
    *[_sqlite_frozen(t, op) for t in FROZEN_TABLES for op in ("INSERT", "UPDATE", "DELETE")],
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS trg_audit_event_no_update",
    "DROP TRIGGER IF EXISTS trg_audit_event_no_delete",
    *[
        f"DROP TRIGGER IF EXISTS trg_{t}_frozen_{op.lower()}"
        for t in FROZEN_TABLES
        for op in ("INSERT", "UPDATE", "DELETE")
    ],
]


def statements(dialect: str, *, drop: bool = False) -> list[str]:
    if dialect == "postgresql":
        return POSTGRES_DROP if drop else POSTGRES_CREATE
    if dialect == "sqlite":
        return SQLITE_DROP if drop else SQLITE_CREATE
    return []


def create_triggers(conn: Any) -> None:
    for sql in statements(conn.dialect.name):
        conn.execute(text(sql))


def drop_triggers(conn: Any) -> None:
    for sql in statements(conn.dialect.name, drop=True):
        conn.execute(text(sql))


def install(metadata: MetaData) -> None:
    """Create the triggers whenever ``create_all`` builds the schema."""
    event.listen(metadata, "after_create", lambda _t, conn, **_kw: create_triggers(conn))
    event.listen(metadata, "before_drop", lambda _t, conn, **_kw: drop_triggers(conn))
