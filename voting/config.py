"""Configuration: defaults → instance/config.py → FLASK_* environment → DATABASE_URL.

Refuses to serve outside development and testing with the default secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

DEV_SECRET_KEY = "dev-secret-key-change-me"  # noqa: S105 — refused outside development
DEV_ROLL_PEPPER = "dev-roll-pepper-change-me"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": DEV_SECRET_KEY,
    # Keyed secret for hashing ID numbers, phones and voting codes. Never in the database.
    "ROLL_PEPPER": DEV_ROLL_PEPPER,
    "SQLALCHEMY_DATABASE_URI": "sqlite:///voting.sqlite",  # relative: the instance folder
    # A failed statement's error (and so a logged traceback) shows its SQL, not its values:
    # a credential id beside a receipt hash would link a resident to a ballot.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "DISPLAY_TIMEZONE": "Asia/Shanghai",
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # None: secure cookies (HTTPS only) unless in development or testing.
    "COOKIES_SECURE": None,
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "VOTER_SESSION_SECONDS": 30 * 60,
    "WTF_CSRF_TIME_LIMIT": 4 * 3600,
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    "PROXY_FIX_X_FOR": 0,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": False,
    # If Redis is down, limits fail open and log: voting day must not stop for a counter.
    "RATELIMIT_SWALLOW_ERRORS": True,
    "LOGIN_LIMIT_PER_IP": "10 per minute;100 per day",
    "LOGIN_LIMIT_PER_USER": "20 per hour",
    "CODE_FAILURE_LIMIT_PER_IP": "20 per hour",
    "CODE_FAILURE_LIMIT_GLOBAL": "3000 per hour",
    # Roll import (CSV or XLSX): row cap, and an XLSX (zip) is refused before parsing if its
    # entries or declared uncompressed size exceed these.
    "ROLL_MAX_ROWS": 300_000,
    "ROLL_MAX_UNCOMPRESSED_BYTES": 200 * 1024 * 1024,
    "ROLL_MAX_ZIP_ENTRIES": 1_000,
    # An uploaded roll waits this long for the official's confirmation (instance folder).
    "ROLL_UPLOAD_MAX_AGE": 3600,
    "ROLL_UPLOAD_FOLDER": None,
    "RECEIPT_CHECK_LIMIT_PER_IP": "60 per hour",
    "SEAL_BATCH_SIZE": 50,
    # Phone codes (手机验证码). SMS_SENDER: "outbox" (a JSON-lines file, the default in debug
    # and testing), "memory" (tests) or "package.module:ClassName" for a real gateway; the
    # first two are refused in production, and unset there means the phone channel is off.
    "SMS_SENDER": None,
    "SMS_OUTBOX_PATH": None,  # None: <instance>/sms-outbox.jsonl
    "PHONE_REQUEST_LIMIT_PER_IP": "10 per hour",
    "PHONE_REQUEST_LIMIT_PER_PHONE": "10 per day",
    "PHONE_VERIFY_LIMIT_PER_IP": "30 per hour",
    "PHONE_CODE_GLOBAL_PER_HOUR": 2000,
    # Public downloads of a closed round (PDF notice, open data, .pb), per address.
    "DOWNLOAD_LIMIT_PER_IP": "30 per minute",
    # Each app process keeps a closed round's public breakdowns this long (0: never).
    "BREAKDOWN_CACHE_SECONDS": 300,
    # Candidate site photos (station uploads). Refused above PHOTO_MAX_BYTES (kept below
    # MAX_CONTENT_LENGTH so the refusal is a sentence on the page, not a bare 413) or
    # PHOTO_MAX_PIXELS (checked from the header, before any pixel is decoded).
    "PHOTO_FOLDER": None,  # None: <instance>/photos
    "PHOTO_MAX_BYTES": 8 * 1024 * 1024,
    "PHOTO_MAX_PIXELS": 40_000_000,
    "PHOTO_MIN_SIDE": 200,
    "PHOTO_MAX_PER_CANDIDATE": 6,
}


def normalize_database_url(url: str) -> str:
    """Accept Heroku-style postgres:// and plain postgresql:// URLs; pin psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` in layers; the test mapping wins over everything."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    for name in ("SECRET_KEY", "ROLL_PEPPER", "PUBLIC_BASE_URL"):
        if name in os.environ:
            app.config[name] = os.environ[name]
    if redis_url := os.environ.get("REDIS_URL"):
        app.config["RATELIMIT_STORAGE_URI"] = redis_url
    if proxies := os.environ.get("PROXY_FIX_X_FOR"):
        app.config["PROXY_FIX_X_FOR"] = int(proxies)
    secure = app.config["COOKIES_SECURE"]
    if secure is None:  # HTTPS-only cookies, except on a developer's or a test's plain http
        secure = not (app.debug or app.testing)
    app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = bool(secure)
    if url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    if overrides:
        app.config.update(overrides)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(uri)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # PostgreSQL gets a leaner ping of its own (extensions.ping_postgres_on_checkout).
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["pool_pre_ping"] = False
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    refuse_default_secrets(app)


def refuse_default_secrets(app: Flask) -> None:
    """Outside development and testing, the development secrets must have been replaced."""
    if app.debug or app.testing:
        return
    if app.config["SECRET_KEY"] == DEV_SECRET_KEY or app.config["ROLL_PEPPER"] == DEV_ROLL_PEPPER:
        raise RuntimeError(
            "Refusing to start: set SECRET_KEY and ROLL_PEPPER (environment or instance/config.py)"
            " before serving outside development."
        )
