"""Voting codes never reach an access log, whatever shape the log arguments take; a failed
SQL statement's values never reach an error."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from voting.extensions import db
from voting.logging import RedactCodes


class _DashDict(dict):
    """Like gunicorn's access-log atoms: missing keys read as "-"."""

    def __missing__(self, key: str) -> str:
        return "-"


def _record(msg: str, args: object) -> logging.LogRecord:
    return logging.LogRecord("x", logging.INFO, __file__, 1, msg, args, None)  # type: ignore[arg-type]


def test_redact_tuple_args_hides_code():
    record = _record('"GET %s HTTP/1.1" %s', ("/vote/c/123456789012", 302))
    RedactCodes().filter(record)
    assert record.getMessage() == '"GET /vote/c/[redacted] HTTP/1.1" 302'


def test_redact_mapping_args_keeps_mapping_and_hides_code():
    atoms = _DashDict({"r": "GET /vote/c/123456789012?x=1 HTTP/1.1", "s": "302"})
    record = _record("%(r)s %(s)s %(missing)s", atoms)
    RedactCodes().filter(record)
    assert record.getMessage() == "GET /vote/c/[redacted]?x=1 HTTP/1.1 302 -"


def test_redact_leaves_other_paths_alone():
    record = _record("GET %s", ("/vote/1/ballot",))
    RedactCodes().filter(record)
    assert record.getMessage() == "GET /vote/1/ballot"


def test_a_failed_statement_keeps_its_values_out_of_the_error(app):
    secret = "receipt-hash-beside-a-credential"
    with pytest.raises(DBAPIError) as failed:
        db.session.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": secret})
    db.session.rollback()
    assert "no_such_table" in str(failed.value)
    assert secret not in str(failed.value)
