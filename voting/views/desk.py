"""At the station (联络站现场): check residents in, enter paper ballots, reconcile them.

The ID number typed by staff goes in a POST body only, is checked and matched through the
keyed HMAC by the service, and is never echoed back into a page, a URL or a log. Between the
lookup and the confirmation the page carries a signed, short-lived token naming the round,
the resident and the staff member — not the number.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer
from wtforms.fields.choices import SelectChoice

from ..domain.errors import (
    AlreadyVoted,
    BallotRuleViolation,
    Conflict,
    InvalidInput,
    NotPermitted,
    RoundNotOpen,
)
from ..domain.staff import Role
from ..extensions import limiter
from ..forms_desk import CheckInForm, IdLookupForm, PaperEntryForm, ReconcileForm
from ..services import paper_ballots, station_desk
from ..services.rounds import load_round
from .decorators import role_required
from .messages import CHANNELS, describe

bp = Blueprint("desk", __name__, url_prefix="/desk")

LOOKUP_SALT = "desk-checkin:v1"  # domain separation for the signed lookup
TOKEN_MAX_AGE = 15 * 60
# Errors an entry form shows next to itself rather than on a separate page.
ENTRY_ERRORS = (InvalidInput, BallotRuleViolation, Conflict, NotPermitted, RoundNotOpen)


def _outcome_sentence(outcome: str, serial: str, *, reconciled: bool = False) -> str:
    if reconciled and outcome == "counted":
        return _("编号 %(s)s：已按核对结果计入。", s=serial)
    if reconciled:
        return _("编号 %(s)s：核对结果为废票，不计入任何项目。", s=serial)
    sentences = {
        "pending": _(
            "编号 %(s)s：第 1 次录入已保存。请把选票交给另一位同事做第 2 次录入。", s=serial
        ),
        "counted": _("编号 %(s)s：两次录入一致，已计入结果。", s=serial),
        "invalid": _("编号 %(s)s：两次录入一致，是废票，不计入任何项目。", s=serial),
        "mismatch": _("编号 %(s)s：两次录入不一致，已转街道人大工委核对原件。", s=serial),
    }
    return sentences[outcome]


@bp.app_template_global("desk_stats")
def desk_stats(round_id: int) -> paper_ballots.DeskStats:
    """Station-channel statistics for the official's round page."""
    return paper_ballots.round_stats(round_id)


@bp.after_request
def _no_store(response):  # type: ignore[no-untyped-def]
    """Pages naming residents must not stay in the desk PC's cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=LOOKUP_SALT)


def _token(round_id: int, resident_id: int) -> str:
    return str(_serializer().dumps({"r": round_id, "p": resident_id, "s": current_user.id}))


def _resident_from_token(round_id: int, token: str) -> int:
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except BadData:
        raise InvalidInput("desk_lookup_expired") from None
    if not isinstance(data, dict) or data.get("r") != round_id or data.get("s") != current_user.id:
        raise InvalidInput("desk_lookup_expired")
    return int(data["p"])


def _desk_round(round_id: int) -> station_desk.DeskRound:
    load_round(round_id)  # 404 for an unknown round
    return station_desk.desk_round(current_user, round_id)


def _pepper() -> bytes:
    return current_app.config["ROLL_PEPPER"].encode()


def _lookup_limit() -> str:
    return current_app.config.get("DESK_LOOKUP_LIMIT", "300 per hour")


@bp.route("/")
@role_required(Role.STATION)
def index():  # type: ignore[no-untyped-def]
    return render_template("desk/index.html", rounds=station_desk.desk_rounds(current_user))


@bp.route("/<int:round_id>/check-in", methods=["GET", "POST"])
@role_required(Role.STATION)
@limiter.limit(_lookup_limit, key_func=lambda: f"desk-lookup:{current_user.id}", methods=["POST"])
def check_in(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _desk_round(round_id)
    form = IdLookupForm()
    card = None
    if form.validate_on_submit():
        try:
            card = station_desk.find_resident(
                current_user, round_id, form.id_number.data or "", pepper=_pepper()
            )
        except InvalidInput as err:
            form.id_number.errors = [describe(err)]
    form.id_number.data = ""  # never echo the number back into the page
    if card is None:
        status = 422 if form.errors else 200
        return render_template("desk/check_in.html", round=rnd, form=form), status
    return _card_page(rnd, card, CheckInForm())


def _card_page(
    rnd: station_desk.DeskRound,
    card: station_desk.ResidentCard,
    form: CheckInForm,
    *,
    error: str | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    if card.may_vote:
        form.token.data = _token(rnd.id, card.resident_id)
    return render_template(
        "desk/resident.html",
        round=rnd,
        card=card,
        form=form,
        error=error,
        channel=CHANNELS.get(card.channel or "", ""),
    ), status


@bp.route("/<int:round_id>/check-in/confirm", methods=["POST"])
@role_required(Role.STATION)
def confirm_check_in(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _desk_round(round_id)
    form = CheckInForm()
    try:
        resident_id = _resident_from_token(round_id, form.token.data or "")
    except InvalidInput as err:
        lookup = IdLookupForm(formdata=None)
        lookup.id_number.errors = [describe(err)]
        return render_template("desk/check_in.html", round=rnd, form=lookup), 422
    if not form.validate():
        card = station_desk.resident_card(current_user, round_id, resident_id)
        return _card_page(rnd, card, form, status=422)
    try:
        voted_at = station_desk.check_in(
            current_user,
            round_id,
            resident_id,
            assisted_by=form.assisted_by.data or "",
            assist_reason=form.reason(),
        )
    except (AlreadyVoted, InvalidInput, RoundNotOpen) as err:
        card = station_desk.resident_card(current_user, round_id, resident_id)
        status = 422 if isinstance(err, InvalidInput) else 409
        return _card_page(rnd, card, form, error=describe(err), status=status)
    card = station_desk.resident_card(current_user, round_id, resident_id)
    return render_template(
        "desk/checked_in.html",
        round=rnd,
        card=card,
        voted_at=voted_at,
        assisted_by=(form.assisted_by.data or "").strip(),
        assist_reason=form.reason(),
    )


def _candidate_choices(round_id: int) -> list[SelectChoice]:
    return [
        SelectChoice(e.candidate_id, f"{e.position}. {e.candidate.title}")
        for e in load_round(round_id).entries
    ]


@bp.route("/<int:round_id>/paper", methods=["GET", "POST"])
@role_required(Role.STATION)
def paper(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _desk_round(round_id)
    form = PaperEntryForm()
    form.choices.choices = _candidate_choices(round_id)
    error = None
    if form.validate_on_submit():
        try:
            serial = paper_ballots.normalize_serial(form.serial.data or "")
            outcome = paper_ballots.enter_paper(
                current_user,
                round_id,
                serial,
                form.choices.data or [],
                invalid=bool(form.invalid.data),
            )
        except ENTRY_ERRORS as err:
            error = describe(err)
        else:
            flash(_outcome_sentence(outcome, serial), "desk")
            return redirect(url_for("desk.paper", round_id=round_id))
    status = 422 if error or form.errors else 200
    done = get_flashed_messages(category_filter=["desk"])
    rule = load_round(round_id).ballot_rule
    return render_template(
        "desk/paper.html", round=rnd, rule=rule, form=form, error=error, done=done
    ), status


@bp.route("/<int:round_id>/reconcile")
@role_required(Role.OFFICIAL)
def reconcile_list(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _desk_round(round_id)
    serials = paper_ballots.mismatched_papers(current_user, round_id)
    done = get_flashed_messages(category_filter=["desk"])
    return render_template("desk/reconcile_list.html", round=rnd, serials=serials, done=done)


@bp.route("/<int:round_id>/reconcile/<serial>", methods=["GET", "POST"])
@role_required(Role.OFFICIAL)
def reconcile(round_id: int, serial: str):  # type: ignore[no-untyped-def]
    rnd = _desk_round(round_id)
    serial = paper_ballots.normalize_serial(serial)
    readings = paper_ballots.paper_readings(current_user, round_id, serial)
    form = ReconcileForm()
    choices = _candidate_choices(round_id)
    form.choices.choices = choices
    error = None
    if form.validate_on_submit():
        try:
            outcome = paper_ballots.resolve_paper(
                current_user,
                round_id,
                serial,
                form.choices.data or [],
                invalid=bool(form.invalid.data),
                note=form.note.data or "",
            )
        except ENTRY_ERRORS as err:
            error = describe(err)
        else:
            flash(_outcome_sentence(outcome, serial, reconciled=True), "desk")
            return redirect(url_for("desk.reconcile_list", round_id=round_id))
    status = 422 if error or form.errors else 200
    labels: dict[Any, str] = {c.value: c.label for c in choices}
    return render_template(
        "desk/reconcile.html",
        round=rnd,
        serial=serial,
        readings=readings,
        labels=labels,
        form=form,
        error=error,
    ), status
