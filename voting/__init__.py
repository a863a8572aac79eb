"""民生实事票决 — the Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error pages and commands."""
    app = Flask(__name__, instance_relative_config=True)
    from .config import load_config

    load_config(app, config)
    register_extensions(app)
    from .views import register_blueprints
    from .views.errors import register_error_handlers

    register_blueprints(app)
    register_error_handlers(app)
    from .cli import register_cli

    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (complete metadata for Alembic)
    from .extensions import (
        babel,
        csrf,
        db,
        keep_prepared_statements,
        limiter,
        login_manager,
        migrate,
        ping_postgres_on_checkout,
    )
    from .models.types import render_migration_item
    from .security import init_security
    from .static_files import init_static_files
    from .views.i18n import select_locale

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        with app.app_context():
            ping_postgres_on_checkout(db.engine)
            keep_prepared_statements(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_item=render_migration_item)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    init_security(app)
    init_static_files(app)
