"""Error pages: domain errors become 409/422 pages (or JSON), anything else a calm 500."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..domain.errors import (
    AlreadyVoted,
    Conflict,
    InvalidTransition,
    NotPermitted,
    RoundNotOpen,
    VotingError,
)
from ..extensions import db
from .messages import describe_all

log = logging.getLogger(__name__)

STATUS = {
    NotPermitted: 403,
    Conflict: 409,
    AlreadyVoted: 409,
    InvalidTransition: 409,
    RoundNotOpen: 409,
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(VotingError)
    def voting_error(error: VotingError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 422)
        messages = describe_all(error)
        log.info("refused %s: %s", request.endpoint, error.code)
        if _wants_json():
            return {"error": error.code, "messages": messages}, status
        return render_template("errors/refused.html", messages=messages, status=status), status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        if _wants_json():
            return {"error": "csrf", "messages": [error.description]}, 400
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        if _wants_json():
            return {"error": error.name, "status": error.code}, error.code or 500
        return render_template("errors/http.html", error=error), error.code or 500

    @app.errorhandler(500)
    def server_error(error: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if _wants_json():
            return {"error": "server_error"}, 500
        return render_template("errors/500.html"), 500
