"""The council meeting (票选): record it, request and approve finalization, the tally sheet,
and the street's answers to objections against the 公示. Clerks and officials of the street."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from ..council_pdf import render_tally_pdf
from ..domain.council import Ballots, WinnerDetails
from ..domain.errors import InvalidInput
from ..domain.lifecycle import RoundStatus
from ..domain.staff import Role
from ..forms import ActionForm, AnswerForm, CouncilForm
from ..models import RoundCandidate, VotingRound
from ..services import council as council_service
from ..services import notice_period, objections, rounds
from ..services._tx import utcnow
from .decorators import role_required
from .messages import describe, describe_all, message_for

bp = Blueprint("council", __name__, url_prefix="/council")
COUNCIL_ROLES = (Role.CLERK, Role.OFFICIAL)


def _street_round(round_id: int) -> VotingRound:
    """The round, if it belongs to the user's street (404 otherwise: no probing)."""
    rnd = rounds.load_round(round_id)
    if rnd.street_id != current_user.street_id:
        abort(404)
    return rnd


@bp.route("/")
@role_required(*COUNCIL_ROLES)
def index():  # type: ignore[no-untyped-def]
    mine = [
        r
        for r in rounds.street_rounds(current_user.street_id)
        if r.status_enum in (RoundStatus.CLOSED, RoundStatus.FINALIZED)
    ]
    return render_template("council/index.html", rounds=mine)


def _int_or_none(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None


def _date_or_none(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _details(entry: RoundCandidate, bad: list[str]) -> WinnerDetails:
    cid = entry.candidate_id
    raw_date = request.form.get(f"completion-{cid}", "").strip()
    completion = _date_or_none(raw_date)
    if raw_date and completion is None:
        bad.append(message_for("completion_not_date") + f"（{entry.candidate.title}）")
    return WinnerDetails(
        request.form.get(f"target-{cid}", "")[:120],
        request.form.get(f"unit-{cid}", "")[:120],
        completion,
    )


def _ballots(form: CouncilForm, bad: list[str]) -> Ballots | None:
    figures = (form.ballots_issued.data, form.ballots_returned.data, form.ballots_valid.data)
    if all(f is None for f in figures):
        return None
    if any(f is None for f in figures):
        bad.append(message_for("ballots_incomplete"))
        return None
    return Ballots(*figures)  # type: ignore[arg-type]


def _council_input(form: CouncilForm, entries) -> tuple[council_service.CouncilInput, list[str]]:  # type: ignore[no-untyped-def]
    votes, reasons, details, bad = {}, {}, {}, []
    for entry in entries:
        raw = request.form.get(f"votes-{entry.candidate_id}", "")
        value = _int_or_none(raw)
        if raw.strip() and value is None:
            bad.append(message_for("votes_not_number") + f"（{entry.candidate.title}）")
        if value is not None:
            votes[entry.candidate_id] = value
        reasons[entry.candidate_id] = request.form.get(f"reason-{entry.candidate_id}", "")[:2000]
        details[entry.candidate_id] = _details(entry, bad)
    valid_ids = {e.candidate_id for e in entries}
    selected = frozenset(
        v for v in (_int_or_none(x) for x in request.form.getlist("selected")) if v in valid_ids
    )
    data = council_service.CouncilInput(
        held_on=form.held_on.data,
        place=form.place.data or "",
        members_expected=form.members_expected.data,
        members_present=form.members_present.data,
        resolution=form.resolution.data or "",
        votes=votes,
        selected=selected,
        reasons=reasons,
        tellers=form.tellers.data or "",
        ballots=_ballots(form, bad),
        procedure=form.procedure.data or "",
        details=details,
    )
    return data, bad


def _problems(rnd: VotingRound) -> list[str]:
    titles = {e.candidate_id: e.candidate.title for e in rnd.entries}
    return [
        message_for(code) + (f"（{titles.get(cid, cid)}）" if cid else "")
        for code, cid in council_service.record_problems(rnd)
    ]


@bp.route("/rounds/<int:round_id>", methods=["GET", "POST"])
@role_required(*COUNCIL_ROLES)
def record(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _street_round(round_id)
    form = CouncilForm(obj=rnd.council)
    errors: list[str] = []
    if form.validate_on_submit():
        data, errors = _council_input(form, rnd.entries)
        if not errors:
            try:
                council_service.save_record(current_user, round_id, data)
            except InvalidInput as err:
                errors = describe_all(err)
            else:
                return redirect(url_for("council.record", round_id=round_id))
    rnd = rounds.load_round(round_id)
    status = 422 if form.errors or errors else 200
    return render_template(
        "council/record.html",
        round=rnd,
        form=form,
        errors=errors,
        problems=_problems(rnd) if rnd.status_enum is RoundStatus.CLOSED else [],
        action_form=ActionForm(),
        quorum=council_service.street_quorum(rnd),
    ), status


def _state_change(round_id: int, change) -> Response:  # type: ignore[no-untyped-def]
    """A button (CSRF-checked) that calls one service; domain errors become refusal pages."""
    _street_round(round_id)
    if ActionForm().validate_on_submit():
        change(current_user, round_id)
    return redirect(url_for("council.record", round_id=round_id))


@bp.route("/rounds/<int:round_id>/request", methods=["POST"])
@role_required(*COUNCIL_ROLES)
def request_finalization(round_id: int):  # type: ignore[no-untyped-def]
    return _state_change(round_id, council_service.request_finalization)


@bp.route("/rounds/<int:round_id>/withdraw", methods=["POST"])
@role_required(*COUNCIL_ROLES)
def withdraw(round_id: int):  # type: ignore[no-untyped-def]
    return _state_change(round_id, council_service.withdraw_request)


@bp.route("/rounds/<int:round_id>/approve", methods=["POST"])
@role_required(*COUNCIL_ROLES)
def approve(round_id: int):  # type: ignore[no-untyped-def]
    _street_round(round_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("council.record", round_id=round_id))
    council_service.approve(current_user, round_id)
    return redirect(url_for("public.notice", round_id=round_id))


@bp.route("/rounds/<int:round_id>/tally")
@role_required(*COUNCIL_ROLES)
def tally_sheet(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _street_round(round_id)
    if rnd.council is None:
        abort(404)
    return render_template("council/tally.html", round=rnd, meeting=rnd.council)


@bp.route("/rounds/<int:round_id>/tally.pdf")
@role_required(*COUNCIL_ROLES)
def tally_pdf(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _street_round(round_id)
    if rnd.council is None:
        abort(404)
    pdf = render_tally_pdf(rnd, now=utcnow())
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename=tally-round-{round_id}.pdf"},
    )


@bp.route("/rounds/<int:round_id>/objections", methods=["GET", "POST"])
@role_required(*COUNCIL_ROLES)
def objection_answers(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _street_round(round_id)
    notice = notice_period.notice_of(round_id)
    if notice is None:
        abort(404)
    form, error, status = AnswerForm(), None, 200
    if form.validate_on_submit():
        # A missing or garbled number answers nothing: say so rather than show the page again.
        number = request.form.get("number", type=int) or 0
        try:
            objections.answer(current_user, round_id, number, form.answer.data or "")
        except InvalidInput as err:
            error, status = describe(err), 422
        else:
            return redirect(url_for("council.objection_answers", round_id=round_id))
    elif form.errors:
        status = 422
    return render_template(
        "council/objections.html", round=rnd, notice=notice, form=form, error=error
    ), status
