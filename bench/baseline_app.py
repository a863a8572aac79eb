"""The bare endpoint ``bench/cast.py`` measures the real cast against.

A tiny Flask + Flask-SQLAlchemy app, nothing else: no session, no CSRF, no templates, no
rate limits, default engine options (no pre-ping). ``POST /vote`` with JSON
``{"round_id", "resident_id", "choices": [a, b, c]}`` inserts one participation row (UNIQUE
per round and resident) and three choice rows in one transaction through the ORM and
answers 200 (409 if the resident already voted). SQLite gets the app's pragmas (WAL,
synchronous=NORMAL, busy timeout) so both sides pay the same commit.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x \\
        gunicorn -c gunicorn.conf.py --pythonpath bench 'baseline_app:create_app()'
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, UniqueConstraint, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Participation(db.Model):
    __tablename__ = "participation"
    __table_args__ = (UniqueConstraint("round_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int]
    resident_id: Mapped[int]


class Choice(db.Model):
    __tablename__ = "choice"

    id: Mapped[int] = mapped_column(primary_key=True)
    participation_id: Mapped[int] = mapped_column(ForeignKey("participation.id"), index=True)
    candidate_id: Mapped[int]


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def vote():  # type: ignore[no-untyped-def]
    data = request.get_json(force=True)
    participation = Participation(
        round_id=int(data["round_id"]), resident_id=int(data["resident_id"])
    )
    db.session.add(participation)
    try:
        db.session.flush()
        db.session.add_all(
            Choice(participation_id=participation.id, candidate_id=int(candidate))
            for candidate in data["choices"][:3]
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return {"status": "already voted"}, 409
    return {"status": "ok"}


def health():  # type: ignore[no-untyped-def]
    return "ok"


def normalize_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def create_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_url(
        database_url or os.environ["DATABASE_URL"]
    )
    db.init_app(app)
    app.add_url_rule("/vote", view_func=vote, methods=["POST"])
    app.add_url_rule("/health", view_func=health)
    return app


def reset_tables(database_url: str) -> None:
    """Drop and create the two tables (called by bench/cast.py before serving)."""
    app = create_app(database_url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()


def count_rows(database_url: str) -> tuple[int, int]:
    """(participations, choices) after a run."""
    app = create_app(database_url)
    with app.app_context():
        participations = db.session.query(Participation).count()
        choices = db.session.query(Choice).count()
        db.session.remove()
        db.engine.dispose()
    return participations, choices
