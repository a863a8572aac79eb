"""Configuration layers, the database URL, the refusal to serve with default secrets and
the session cookie flags.

Every app built here gets a temporary instance folder and a temporary SQLite file, so none
of them reads the real ``instance/`` or touches the shared test database.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from tests.conftest import TEST_PEPPER
from voting import create_app
from voting.config import DEV_ROLL_PEPPER, DEV_SECRET_KEY, normalize_database_url
from voting.extensions import db


@pytest.fixture
def instance_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment and a temporary instance folder for every app created here."""
    for name in list(os.environ):
        if name.startswith("FLASK_") or name in (
            "DATABASE_URL",
            "SECRET_KEY",
            "ROLL_PEPPER",
            "PUBLIC_BASE_URL",
        ):
            monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "instance"
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(folder))
    return folder


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def engine_database(app: Flask) -> str | None:
    with app.app_context():
        try:
            return db.engine.url.database
        finally:
            db.engine.dispose()


# --- normalize_database_url -------------------------------------------------------------


def test_normalize_database_url_postgres_scheme_becomes_psycopg():
    url = "postgres://voter:s3cret@db.internal:5432/voting"

    assert (
        normalize_database_url(url) == "postgresql+psycopg://voter:s3cret@db.internal:5432/voting"
    )


def test_normalize_database_url_postgresql_scheme_becomes_psycopg():
    url = "postgresql://postgres@127.0.0.1:5432/test"

    assert normalize_database_url(url) == "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///voting.sqlite",
        "sqlite:////var/lib/voting/voting.sqlite",
        "sqlite://",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    ],
)
def test_normalize_database_url_sqlite_or_already_pinned_left_alone(url):
    assert normalize_database_url(url) == url


# --- where the database is --------------------------------------------------------------


def test_create_app_without_database_url_uses_sqlite_in_instance_folder(instance_dir):
    app = create_app({"TESTING": True})

    assert app.instance_path == str(instance_dir)
    assert instance_dir.is_dir()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///voting.sqlite"
    with app.app_context():
        try:
            assert db.engine.dialect.name == "sqlite"
            assert db.engine.url.database == str(instance_dir / "voting.sqlite")
            assert db.session.execute(text("SELECT 1")).scalar() == 1
        finally:
            db.session.remove()
            db.engine.dispose()
    assert (instance_dir / "voting.sqlite").is_file()


def test_create_app_database_url_env_is_used(instance_dir, tmp_path, monkeypatch):
    path = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("DATABASE_URL", sqlite_url(path))

    app = create_app({"TESTING": True})

    assert app.config["SQLALCHEMY_DATABASE_URI"] == sqlite_url(path)
    assert engine_database(app) == str(path)


def test_create_app_heroku_style_database_url_env_is_normalized(instance_dir, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://voter@db.internal:5432/voting")

    app = create_app({"TESTING": True})

    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://voter@db.internal:5432/voting"
    )
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.dialect.driver == "psycopg"
        db.engine.dispose()


def test_create_app_test_mapping_beats_environment(instance_dir, tmp_path, monkeypatch):
    env_db, mapped_db = tmp_path / "env.sqlite", tmp_path / "mapped.sqlite"
    monkeypatch.setenv("DATABASE_URL", sqlite_url(env_db))
    monkeypatch.setenv("SECRET_KEY", "secret-from-environment")
    monkeypatch.setenv("ROLL_PEPPER", "pepper-from-environment")

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": sqlite_url(mapped_db),
            "SECRET_KEY": "secret-from-mapping",
            "ROLL_PEPPER": TEST_PEPPER,
        }
    )

    assert app.config["SQLALCHEMY_DATABASE_URI"] == sqlite_url(mapped_db)
    assert app.config["SECRET_KEY"] == "secret-from-mapping"
    assert app.config["ROLL_PEPPER"] == TEST_PEPPER
    assert engine_database(app) == str(mapped_db)


# --- default secrets --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret_key", "pepper"),
    [
        (None, None),
        ("a-real-secret-key-from-env", None),
        (None, "a-real-roll-pepper-from-env"),
    ],
    ids=["both-default", "pepper-default", "secret-key-default"],
)
def test_create_app_default_secret_outside_debug_and_testing_raises(
    instance_dir, tmp_path, monkeypatch, secret_key, pepper
):
    if secret_key:
        monkeypatch.setenv("SECRET_KEY", secret_key)
    if pepper:
        monkeypatch.setenv("ROLL_PEPPER", pepper)

    with pytest.raises(RuntimeError, match="Refusing to start: set SECRET_KEY and ROLL_PEPPER"):
        create_app({"SQLALCHEMY_DATABASE_URI": sqlite_url(tmp_path / "prod.sqlite")})


def test_create_app_secrets_from_environment_outside_testing_starts(
    instance_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-key-from-env")
    monkeypatch.setenv("ROLL_PEPPER", "a-real-roll-pepper-from-env")

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlite_url(tmp_path / "prod.sqlite")})

    assert not app.testing
    assert not app.debug
    assert app.config["SECRET_KEY"] == "a-real-secret-key-from-env"
    assert app.config["ROLL_PEPPER"] == "a-real-roll-pepper-from-env"
    assert app.config["SECRET_KEY"] != DEV_SECRET_KEY
    assert app.config["ROLL_PEPPER"] != DEV_ROLL_PEPPER


def test_create_app_default_secrets_in_debug_mode_starts(instance_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlite_url(tmp_path / "dev.sqlite")})

    assert app.debug
    assert app.config["SECRET_KEY"] == DEV_SECRET_KEY
    assert app.config["ROLL_PEPPER"] == DEV_ROLL_PEPPER


# --- session cookie ---------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(client):
    response = client.get("/staff/login")

    assert response.status_code == 200
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert len(headers) == 1
    assert "HttpOnly" in headers[0]
    assert "SameSite=Lax" in headers[0]
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
