"""How a page is shown to a resident: the language (Chinese unless the visitor chose English)
and the elderly mode (长辈版), both remembered in a cookie."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    has_request_context,
    make_response,
    redirect,
    request,
    url_for,
)

from .redirects import safe_next

SUPPORTED = ("zh_Hans_CN", "en")
ELDERLY_COOKIE = "elderly"
YEAR = 365 * 86400

bp = Blueprint("display", __name__)


def select_locale() -> str:
    if not has_request_context():  # CLI: slips and reports are printed in Chinese
        return SUPPORTED[0]
    chosen = request.cookies.get("lang", "")
    return chosen if chosen in SUPPORTED else SUPPORTED[0]


def elderly_mode() -> bool:
    return has_request_context() and request.cookies.get(ELDERLY_COOKIE) == "1"


# Pages a GET cannot show again: the QR link (it would re-submit the code) and confirm.
_NOT_REVISITABLE = ("vote.code_link", "vote.confirm")


def _here() -> str:
    """Where the language and 长辈版 switches send the browser back to: this page."""
    if not has_request_context():
        return "/"
    if request.endpoint in _NOT_REVISITABLE:
        return url_for("vote.enter_code")
    return request.full_path.rstrip("?")


@bp.app_context_processor
def _display_settings() -> dict[str, object]:
    return {"elderly": elderly_mode(), "here": _here()}


@bp.route("/elderly/<state>", methods=["POST"])
def set_elderly(state: str):  # type: ignore[no-untyped-def]
    """The 长辈版 switch: a plain form POST (CSRF-checked), so it works without JavaScript."""
    response = make_response(redirect(safe_next(request.form.get("next"), "/")))
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    if state == "on":
        response.set_cookie(
            ELDERLY_COOKIE, "1", max_age=YEAR, samesite="Lax", httponly=True, secure=secure
        )
    elif state == "off":
        response.delete_cookie(ELDERLY_COOKIE, samesite="Lax", httponly=True, secure=secure)
    return response
