"""Blueprints, one per audience."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, council, filters, official, public, station, vote

    for module in (public, vote, auth, station, official, council):
        app.register_blueprint(module.bp)
    filters.register(app)
