"""The council clerk: record the meeting's 票选 and finalize."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain.errors import InvalidInput
from ..domain.lifecycle import RoundStatus
from ..domain.staff import Role
from ..forms import ActionForm, CouncilForm
from ..services import council as council_service
from ..services import rounds
from .decorators import role_required
from .messages import describe_all, message_for

bp = Blueprint("council", __name__, url_prefix="/council")


@bp.route("/")
@role_required(Role.CLERK)
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


def _council_input(form: CouncilForm, entries) -> tuple[council_service.CouncilInput, list[str]]:  # type: ignore[no-untyped-def]
    votes, reasons, bad = {}, {}, []
    for entry in entries:
        raw = request.form.get(f"votes-{entry.candidate_id}", "")
        value = _int_or_none(raw)
        if raw.strip() and value is None:
            bad.append(entry.candidate.title)
        if value is not None:
            votes[entry.candidate_id] = value
        reasons[entry.candidate_id] = request.form.get(f"reason-{entry.candidate_id}", "")[:2000]
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
    )
    return data, bad


@bp.route("/rounds/<int:round_id>", methods=["GET", "POST"])
@role_required(Role.CLERK)
def record(round_id: int):  # type: ignore[no-untyped-def]
    rnd = rounds.load_round(round_id)
    form = CouncilForm(obj=rnd.council)
    errors: list[str] = []
    if form.validate_on_submit():
        data, bad = _council_input(form, rnd.entries)
        if bad:
            errors = [message_for("votes_not_number")] + bad
        else:
            try:
                council_service.save_record(current_user, round_id, data)
            except InvalidInput as err:
                errors = describe_all(err)
            else:
                return redirect(url_for("council.record", round_id=round_id))
    rnd = rounds.load_round(round_id)
    titles = {e.candidate_id: e.candidate.title for e in rnd.entries}
    problems = [
        message_for(code) + (f"（{titles.get(cid, cid)}）" if cid else "")
        for code, cid in council_service.record_problems(rnd)
    ]
    status = 422 if form.errors or errors else 200
    return render_template(
        "council/record.html",
        round=rnd,
        form=form,
        errors=errors,
        problems=problems,
        action_form=ActionForm(),
    ), status


@bp.route("/rounds/<int:round_id>/finalize", methods=["POST"])
@role_required(Role.CLERK)
def finalize(round_id: int):  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        council_service.finalize(current_user, round_id)
        return redirect(url_for("public.notice", round_id=round_id))
    return redirect(url_for("council.record", round_id=round_id))
