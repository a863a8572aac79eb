"""Blueprints, one per audience."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import (
        auth,
        council,
        desk,
        downloads,
        filters,
        i18n,
        objection,  # noqa: F401 — adds the objection routes to the public blueprint
        official,
        projects,
        public,
        roll,
        satisfaction,  # noqa: F401 — adds the satisfaction and report routes to supervision
        station,
        supervision,
        supervision_visits,  # noqa: F401 — adds the supervision-round routes to supervision
        vote,
        vote_phone,  # noqa: F401 — adds the phone-code routes to the vote blueprint
    )

    for module in (public, i18n, downloads, vote, auth, station, official, council, desk, roll):
        app.register_blueprint(module.bp)
    app.register_blueprint(supervision.bp)
    app.register_blueprint(projects.bp)
    filters.register(app)
