"""The phone channel (手机验证码): name, ID number and phone → a 6-digit code → the ballot.

Every page answers the same whether or not the person is on the roll; the code goes only to
the phone typed, and only if it matched the roll. Messages are handed to the gateway after
the response is sent, so the time taken does not tell either.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    after_this_request,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..domain import identity
from ..domain.errors import AlreadyVoted, InvalidCode, InvalidInput, RoundNotOpen
from ..domain.otp import SendRefused
from ..extensions import limiter
from ..forms_phone import PhoneCodeForm, PhoneRequestForm, ResendForm
from ..models import VotingRound
from ..security import start_voter_session
from ..services import otp as otp_service
from ..services import sms
from .messages import CHANNELS, describe, message_for
from .vote import _pepper, _stations, bp

PHONE_KEY = "phone"

View = Callable[..., ResponseReturnValue]
Page = tuple[str, int]


# --- limits -------------------------------------------------------------------------------


def _phone_key() -> str:
    """Per-phone limiter key: a keyed hash, so the limiter's store holds no phone number."""
    return "phone:" + identity.phone_hmac(_pepper(), request.form.get("phone", ""))


def _limit_requests(view: View) -> View:
    """Code sends (request and resend) share one per-IP limit."""
    per_ip = limiter.shared_limit(
        lambda: current_app.config["PHONE_REQUEST_LIMIT_PER_IP"],
        scope="phone-request",
        methods=["POST"],
    )
    return per_ip(view)


_limit_per_phone = limiter.limit(
    lambda: current_app.config["PHONE_REQUEST_LIMIT_PER_PHONE"],
    key_func=_phone_key,
    methods=["POST"],
)
_limit_verify = limiter.limit(
    lambda: current_app.config["PHONE_VERIFY_LIMIT_PER_IP"], methods=["POST"]
)


# --- what the session keeps between request and verification ------------------------------


def _remember(challenge_id: int, round_id: int) -> None:
    """Only the challenge: name, ID number and phone never sit in the (readable) cookie."""
    session[PHONE_KEY] = {"c": challenge_id, "r": round_id}


def _deferred_sender() -> sms.DeferredSender:
    """A sender whose messages leave once the response has gone out."""
    deferred = sms.DeferredSender(sms.get_sender(current_app._get_current_object()))  # type: ignore[attr-defined]

    @after_this_request
    def _flush_later(response: Response) -> Response:
        response.call_on_close(deferred.flush)
        return response

    return deferred


# --- pages --------------------------------------------------------------------------------


def _chosen_round(rounds: list[VotingRound]) -> VotingRound | None:
    """The only open round, or the one the ``round`` query argument names."""
    wanted = request.args.get("round", type=int)
    if wanted is None:
        return rounds[0] if len(rounds) == 1 else None
    return next((r for r in rounds if r.id == wanted), None)


def _phone_page(
    form: PhoneRequestForm,
    rnd: VotingRound | None,
    rounds: list[VotingRound],
    error: str | None = None,
    status: int = 200,
) -> Page:
    page = render_template(
        "vote/phone.html",
        form=form,
        round=rnd,
        rounds=rounds,
        error=error,
        enabled=True,
        stations=_stations(),
    )
    return page, status


def _verify_page(
    form: PhoneCodeForm,
    error: str | None = None,
    status: int = 200,
    resend_form: ResendForm | None = None,
) -> Page:
    page = render_template(
        "vote/phone_verify.html",
        form=form,
        resend_form=resend_form or ResendForm(formdata=None),
        error=error,
        resent=request.args.get("sent") == "1",
        stations=_stations(),
    )
    return page, status


def _already_voted(err: AlreadyVoted) -> Page:
    session.pop(PHONE_KEY, None)
    channel = CHANNELS.get(err.params.get("channel", ""), "")
    return render_template(
        "vote/already_voted.html",
        by_phone=True,
        voted_at=err.params.get("voted_at"),
        channel=channel,
        stations=_stations(),
    ), 409


@bp.route("/phone", methods=["GET", "POST"])
@_limit_requests
@_limit_per_phone
def phone() -> ResponseReturnValue:
    if not sms.channel_enabled(current_app):
        page = render_template("vote/phone.html", enabled=False, stations=_stations())
        return page, 503
    rounds = otp_service.open_rounds()
    rnd = _chosen_round(rounds)
    form = PhoneRequestForm()
    if rnd is not None and form.validate_on_submit():
        return _request_code(form, rnd, rounds)
    return _phone_page(form, rnd, rounds, status=422 if form.errors else 200)


def _request_code(
    form: PhoneRequestForm, rnd: VotingRound, rounds: list[VotingRound]
) -> ResponseReturnValue:
    phone_number = form.phone.data or ""
    try:
        challenge_id = otp_service.request_code(
            rnd.id,
            form.name.data or "",
            form.id_number.data or "",
            phone_number,
            pepper=_pepper(),
            sender=_deferred_sender(),
        )
    except InvalidInput as err:
        for code, field in err.params.get("problems", ()):
            form[field].errors = [*form[field].errors, message_for(code)]
        return _phone_page(form, rnd, rounds, status=422)
    except RoundNotOpen as err:
        return _phone_page(form, rnd, rounds, error=describe(err), status=409)
    except SendRefused as err:
        return _phone_page(form, rnd, rounds, error=describe(err), status=429)
    _remember(challenge_id, rnd.id)
    return redirect(url_for("vote.phone_verify"))


@bp.route("/phone/verify", methods=["GET", "POST"])
@_limit_verify
def phone_verify() -> ResponseReturnValue:
    pending = session.get(PHONE_KEY)
    if not pending:
        return redirect(url_for("vote.phone"))
    form = PhoneCodeForm()
    if not form.validate_on_submit():
        return _verify_page(form, status=422 if form.errors else 200)
    try:
        credential = otp_service.verify_code(pending["c"], form.code.data or "", pepper=_pepper())
    except InvalidCode as err:
        form.code.errors = [describe(err)]
        return _verify_page(form, status=422)
    except AlreadyVoted as err:
        return _already_voted(err)
    except RoundNotOpen as err:
        session.pop(PHONE_KEY, None)
        return _verify_page(form, error=describe(err), status=409)
    session.pop(PHONE_KEY, None)
    start_voter_session(credential)
    return redirect(url_for("vote.ballot", round_id=credential.round_id))


@bp.route("/phone/resend", methods=["POST"])
@_limit_requests
def phone_resend() -> ResponseReturnValue:
    pending = session.get(PHONE_KEY)
    form = ResendForm()
    if not pending:
        return redirect(url_for("vote.phone"))
    if not form.validate_on_submit():
        return _verify_page(PhoneCodeForm(formdata=None), resend_form=form, status=422)
    phone_number = form.phone.data or ""
    try:
        challenge_id = otp_service.resend_code(
            pending["c"], phone_number, pepper=_pepper(), sender=_deferred_sender()
        )
    except SendRefused as err:
        return _verify_page(PhoneCodeForm(formdata=None), error=describe(err), status=429)
    except (InvalidCode, RoundNotOpen) as err:
        return _verify_page(PhoneCodeForm(formdata=None), error=describe(err), status=409)
    _remember(challenge_id, pending["r"])
    return redirect(url_for("vote.phone_verify", sent=1))
