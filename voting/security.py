"""Staff sessions (Flask-Login) and the resident's short-lived voter session."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, abort, current_app, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from .domain import codes
from .extensions import db, login_manager
from .logging import install_log_redaction
from .models import StaffUser
from .services.sms import check_production
from .services.voting import Credential

VOTER_KEY = "voter"


def init_security(app: Flask) -> None:
    if proxies := app.config["PROXY_FIX_X_FOR"]:
        # Trust exactly the configured number of proxies: a client cannot spoof its address
        # (and dodge per-IP limits) with its own X-Forwarded-For header.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.wsgi_app = LimitUnsizedBodies(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])  # type: ignore[method-assign]
    # First of all before_request hooks: ahead of CSRF, which would read the empty body.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_oversized_body)
    install_log_redaction()
    check_production(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
            " frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        return response


TOO_LARGE = "voting.body_too_large"


class LimitUnsizedBodies:
    """Refuse chunked request bodies over the size limit instead of silently truncating them.

    Behind gunicorn a chunked request has no Content-Length; Werkzeug then reads a form only
    up to MAX_CONTENT_LENGTH and carries on with what it got. Read such a body here, up to one
    byte past the limit: too long, and the request is marked for a 413; otherwise it goes on
    with an exact Content-Length.
    """

    def __init__(self, app: Any, limit: int | None) -> None:
        self.app, self.limit = app, limit

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if (
            self.limit
            and not environ.get("CONTENT_LENGTH")
            and environ.get("wsgi.input_terminated")
        ):
            body = environ["wsgi.input"].read(self.limit + 1)
            if len(body) > self.limit:
                environ[TOO_LARGE] = True
                body = b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


def _refuse_oversized_body() -> None:
    if request.environ.get(TOO_LARGE):
        abort(413)


@login_manager.user_loader
def load_staff(user_id: str) -> StaffUser | None:
    """Load by ``id:nonce``; a changed nonce ends every old session of that account."""
    staff_id, _, nonce = user_id.partition(":")
    if not staff_id.isdigit():
        return None
    user = db.session.get(StaffUser, int(staff_id))
    if user is None or user.session_nonce != nonce or not user.active:
        return None
    return user


@dataclass(frozen=True)
class VoterSession:
    """What the resident's browser holds between proving eligibility and the receipt."""

    credential: Credential
    # Candidate id → points (1 each on a crossed ballot), as checked on the ballot page.
    choices: dict[int, int] = field(default_factory=dict)
    # The receipt code the ballot will carry, drawn when the session starts: a second
    # confirmation in flight (a double tap) finds its ballot by it and shows the same receipt.
    receipt: str = ""


def start_voter_session(credential: Credential) -> None:
    session.pop(VOTER_KEY, None)
    session[VOTER_KEY] = {
        "r": credential.round_id,
        "k": credential.kind,
        "i": credential.id,
        "ch": [],
        "t": int(time.time()),
        "rc": codes.generate_receipt(),
    }


def current_voter(round_id: int | None = None) -> VoterSession | None:
    """The voter session if present, unexpired (sliding) and for ``round_id``."""
    data = session.get(VOTER_KEY)
    if not data:
        return None
    if _expired(data):
        return None
    if round_id is not None and data["r"] != round_id:
        return None
    data["t"] = int(time.time())
    session.modified = True
    credential = Credential(data["r"], data["k"], data["i"])
    choices = {int(c): int(p) for c, p in data.get("ch", ())}
    return VoterSession(credential, choices, data.get("rc", ""))


def _expired(data: dict[str, int]) -> bool:
    return time.time() - data.get("t", 0) > current_app.config["VOTER_SESSION_SECONDS"]


def voter_session_expired() -> bool:
    """True if the browser holds a voter session that timed out."""
    data = session.get(VOTER_KEY)
    return bool(data) and _expired(data)


def remember_choices(choices: dict[int, int]) -> None:
    data = session.get(VOTER_KEY)
    if data:
        data["ch"] = [[c, p] for c, p in sorted(choices.items())]
        session.modified = True


def end_voter_session() -> None:
    session.pop(VOTER_KEY, None)
