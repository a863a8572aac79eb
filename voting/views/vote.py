"""The resident's path: code → ballot → review → confirm → receipt."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from sqlalchemy import select

from ..domain.errors import AlreadyVoted, BallotRuleViolation, InvalidCode, RoundNotOpen
from ..extensions import db, limiter
from ..forms import ActionForm, BallotForm, CodeForm, submitted_points
from ..models import Station
from ..security import (
    current_voter,
    end_voter_session,
    remember_choices,
    start_voter_session,
    voter_session_expired,
)
from ..services import voting as voting_service
from ..services.receipts import check_receipt
from ..services.rounds import load_round, round_title
from .messages import CHANNELS, describe

bp = Blueprint("vote", __name__, url_prefix="/vote")

RECEIPT_KEY = "receipt"


def _stations():  # type: ignore[no-untyped-def]
    return db.session.scalars(select(Station).order_by(Station.id)).all()


def _pepper() -> bytes:
    return current_app.config["ROLL_PEPPER"].encode()


def _login(raw_code: str, form: CodeForm):  # type: ignore[no-untyped-def]
    """Check the code; on success start the voter session and go to the ballot."""
    try:
        credential = voting_service.login_with_code(raw_code, pepper=_pepper())
    except InvalidCode as err:
        form.code.errors = [describe(err)]
        return render_template("vote/code.html", form=form, stations=_stations()), 422
    except AlreadyVoted as err:
        return _already_voted(err)
    except RoundNotOpen as err:
        return render_template(
            "vote/not_open.html",
            phase=err.params["phase"],
            opens_at=err.params["opens_at"],
            closes_at=err.params["closes_at"],
            stations=_stations(),
        ), 409
    start_voter_session(credential)
    return redirect(url_for("vote.ballot", round_id=credential.round_id))


def _already_voted(err: AlreadyVoted):  # type: ignore[no-untyped-def]
    channel = CHANNELS.get(err.params.get("channel", ""), "")
    return render_template(
        "vote/already_voted.html",
        voted_at=err.params.get("voted_at"),
        channel=channel,
        stations=_stations(),
    ), 409


def _code_failed(response) -> bool:  # type: ignore[no-untyped-def]
    """Only wrong codes count against the limits: a resident is never slowed by success."""
    return response.status_code == 422


def _limit_code_failures(view):  # type: ignore[no-untyped-def]
    # Shared by the typed-code form and the QR link: one budget of failures per address.
    per_ip = limiter.shared_limit(
        lambda: current_app.config["CODE_FAILURE_LIMIT_PER_IP"],
        scope="code-failures-ip",
        deduct_when=_code_failed,
    )
    overall = limiter.shared_limit(
        lambda: current_app.config["CODE_FAILURE_LIMIT_GLOBAL"],
        scope="code-failures",
        key_func=lambda: "all",
        deduct_when=_code_failed,
    )
    return per_ip(overall(view))


@bp.route("/", methods=["GET", "POST"])
@_limit_code_failures
def enter_code():  # type: ignore[no-untyped-def]
    form = CodeForm()
    if form.validate_on_submit():
        return _login(form.code.data or "", form)
    status = 422 if form.errors else 200
    return render_template("vote/code.html", form=form, stations=_stations()), status


@bp.route("/c/<code>")
@_limit_code_failures
def code_link(code: str):  # type: ignore[no-untyped-def]
    """The QR link on a printed slip."""
    return _login(code, CodeForm(formdata=None))


def _voter_or_dead_end(round_id: int):  # type: ignore[no-untyped-def]
    voter = current_voter(round_id)
    if voter is not None:
        return voter, None
    receipt = session.get(RECEIPT_KEY)
    if receipt and receipt.get("r") == round_id:
        return None, redirect(url_for("vote.receipt", round_id=round_id))
    template = "vote/expired.html" if voter_session_expired() else "vote/no_session.html"
    return None, (render_template(template, stations=_stations()), 401)


@bp.route("/<int:round_id>/ballot", methods=["GET", "POST"])
def ballot(round_id: int):  # type: ignore[no-untyped-def]
    voter, dead_end = _voter_or_dead_end(round_id)
    if dead_end:
        return dead_end
    form = BallotForm()
    error = None
    points = dict(voter.choices)
    if form.validate_on_submit():  # the domain checks the ids; no round needed to accept
        try:
            points = submitted_points(request.form)
            chosen = voting_service.check_choices(round_id, points or form.choices.data or [])
        except BallotRuleViolation as err:
            error = describe(err)
        else:
            remember_choices(chosen)
            return redirect(url_for("vote.review", round_id=round_id))
    elif not form.is_submitted():
        form.choices.data = list(voter.choices)
    rnd = load_round(round_id)
    status = 422 if error or form.errors else 200
    chosen = set(points) if points else {int(c) for c in form.choices.data or []}
    return render_template(
        "vote/ballot.html",
        round=rnd,
        form=form,
        error=error,
        points=points,
        chosen=chosen,
        # Names this voter session's saved choices in the browser (static/js/resident.js),
        # so a resident using the same phone after another never sees their ticks.
        draft_key=hashlib.sha256(voter.receipt.encode()).hexdigest()[:16],
        spent=sum(points.values()),
        total=sum(e.candidate.cost_yuan for e in rnd.entries if e.candidate_id in chosen),
    ), status


@bp.route("/<int:round_id>/review")
def review(round_id: int):  # type: ignore[no-untyped-def]
    voter, dead_end = _voter_or_dead_end(round_id)
    if dead_end:
        return dead_end
    if not voter.choices:
        return redirect(url_for("vote.ballot", round_id=round_id))
    rnd = load_round(round_id)
    chosen = [e for e in rnd.entries if e.candidate_id in voter.choices]
    total = sum(e.candidate.cost_yuan for e in chosen)
    return render_template(
        "vote/review.html",
        round=rnd,
        chosen=chosen,
        points=voter.choices,
        total=total,
        form=ActionForm(),
    )


@bp.route("/<int:round_id>/confirm", methods=["POST"])
def confirm(round_id: int):  # type: ignore[no-untyped-def]
    voter, dead_end = _voter_or_dead_end(round_id)
    if dead_end:
        return dead_end
    # The CSRF token was checked by CSRFProtect before this view ran (a bad one never gets
    # here); the form has no other field, so building it again would only repeat that check
    # on the busiest request of voting day.
    try:
        receipt = voting_service.cast_ballot(
            voter.credential, voter.choices, receipt=voter.receipt or None
        )
    except AlreadyVoted as err:
        # A double tap sends two confirmations with the same session: the one that lost
        # the race finds the ballot cast under this session's receipt and shows it too, so
        # whichever response lands last, the phone ends on the receipt.
        if not (voter.receipt and check_receipt(round_id, voter.receipt).found):
            end_voter_session()
            return _already_voted(err)
        receipt = voter.receipt
    except BallotRuleViolation:
        return redirect(url_for("vote.ballot", round_id=round_id))
    end_voter_session()
    session[RECEIPT_KEY] = {"r": round_id, "code": receipt}
    return redirect(url_for("vote.receipt", round_id=round_id))


@bp.route("/<int:round_id>/receipt")
def receipt(round_id: int):  # type: ignore[no-untyped-def]
    data = session.get(RECEIPT_KEY)
    if not data or data.get("r") != round_id:
        return redirect(url_for("public.round_page", round_id=round_id))
    title = round_title(round_id)
    return render_template(
        "vote/receipt.html", round_id=round_id, title=title, receipt=data["code"]
    )


@bp.after_request
def _no_store(response):  # type: ignore[no-untyped-def]
    """Ballot and receipt pages must not sit in a shared phone's cache."""
    response.headers["Cache-Control"] = "no-store"
    return response
