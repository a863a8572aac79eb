"""What anyone may see: rounds, candidates, results after close, notices, health."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
)
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..domain import lifecycle
from ..domain.lifecycle import RoundStatus
from ..extensions import db, limiter
from ..forms import ReceiptForm
from ..security import current_voter
from ..services import audit, implementation, notice_period
from ..services import breakdowns as breakdowns_service
from ..services import photos as photos_service
from ..services import receipts as receipts_service
from ..services import results as results_service
from ..services import rounds as rounds_service
from ..services._tx import utcnow
from .redirects import safe_next

bp = Blueprint("public", __name__)


def _public_round(round_id: int):  # type: ignore[no-untyped-def]
    rnd = rounds_service.load_round(round_id)
    if rnd.status_enum is RoundStatus.DRAFT:
        abort(404)
    return rnd


@bp.route("/")
def index():  # type: ignore[no-untyped-def]
    rounds = rounds_service.public_rounds()
    now = utcnow()
    phases = {
        r.id: lifecycle.voting_phase(r.status_enum, r.opens_at, r.closes_at, now) for r in rounds
    }
    return render_template("public/index.html", rounds=rounds, phases=phases)


@bp.route("/rounds/<int:round_id>")
def round_page(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _public_round(round_id)
    phase = lifecycle.voting_phase(rnd.status_enum, rnd.opens_at, rnd.closes_at, utcnow())
    visible = lifecycle.results_visible(rnd.status_enum, rnd.running_results_public)
    return render_template("public/round.html", round=rnd, phase=phase, results_visible=visible)


@bp.route("/rounds/<int:round_id>/candidates/<int:candidate_id>")
def candidate_page(round_id: int, candidate_id: int):  # type: ignore[no-untyped-def]
    rnd = _public_round(round_id)
    entry = next((e for e in rnd.entries if e.candidate_id == candidate_id), None)
    if entry is None:
        abort(404)
    current_voter(round_id)  # reading a detail page mid-ballot keeps the voter session alive
    return render_template("public/candidate.html", round=rnd, entry=entry)


@bp.route("/rounds/<int:round_id>/results")
def results(round_id: int):  # type: ignore[no-untyped-def]
    _public_round(round_id)
    data = results_service.round_results(round_id)
    # Breakdowns come with the final count only: live ones could be diffed between two
    # visits to see a single voter's community and channel, whatever the cell sizes.
    parts = None
    if data.final:
        zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
        parts = breakdowns_service.published_breakdowns(data.round, zone=zone, now=utcnow())
    return render_template("public/results.html", results=data, round=data.round, breakdowns=parts)


@bp.route("/rounds/<int:round_id>/notice")
def notice(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _public_round(round_id)
    if rnd.status_enum is not RoundStatus.FINALIZED:
        return render_template("public/notice_pending.html", round=rnd), 404
    data = results_service.round_results(round_id)
    winners = [e for e in rnd.entries if e.council_selected]
    gongshi = notice_period.notice_of(round_id)
    return render_template(
        "public/notice.html",
        round=rnd,
        results=data,
        winners=winners,
        head=gongshi.head_hash if gongshi else audit.head_hash(),
        gongshi=gongshi,
        objections_open=gongshi is not None and notice_period.objections_open(gongshi),
        phase=notice_period.phase(rnd),
        filed=request.args.get("filed", type=int),
        projects=implementation.records_of_round(round_id),
    )


@bp.route("/rounds/<int:round_id>/receipts", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RECEIPT_CHECK_LIMIT_PER_IP"], methods=["POST"])
def receipts(round_id: int):  # type: ignore[no-untyped-def]
    """The receipt board; checking a receipt is a POST so it never lands in an access log."""
    rnd = _public_round(round_id)
    form = ReceiptForm()
    check = None
    if form.validate_on_submit():
        check = receipts_service.check_receipt(round_id, form.receipt.data or "")
    page = receipts_service.board_page(round_id, after=request.args.get("after", "")[:8])
    return render_template(
        "public/receipts.html", round=rnd, form=form, check=check, page=page
    ), 422 if form.errors else 200


@bp.get("/photos/<digest>.jpg")
def photo(digest: str):  # type: ignore[no-untyped-def]
    """A stored photo by content hash: cached for ever when public, else for its staff only."""
    access = photos_service.photo_access(digest)
    # Only a non-public file reads the login: a public one sets no cookie and no Vary.
    if access is None or not (access.public or access.visible_to(current_user)):
        abort(404)
    if not access.path.is_file():
        abort(404)
    response = send_file(access.path, mimetype=photos_service.MEDIA_TYPE, conditional=True)
    response.cache_control.max_age = 31_536_000 if access.public else 3600
    response.cache_control.public = access.public
    response.cache_control.private = not access.public
    response.cache_control.immutable = True
    return response


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):  # type: ignore[no-untyped-def]
    target = safe_next(request.form.get("next"), "/")
    response = make_response(redirect(target))
    if code in ("zh_Hans_CN", "en"):
        response.set_cookie(
            "lang",
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@bp.route("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "error", "database": "unreachable"}, 503
    return {"status": "ok", "database": db.engine.dialect.name}
