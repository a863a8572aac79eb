"""Liaison-station staff: submit and edit their station's candidates."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..domain.errors import InvalidInput
from ..domain.staff import IdeaSource, Role
from ..forms import CandidateForm
from ..services import intake
from .decorators import role_required
from .messages import describe

bp = Blueprint("station", __name__, url_prefix="/station")


def _form(obj=None) -> CandidateForm:  # type: ignore[no-untyped-def]
    form = CandidateForm(obj=obj)
    form.community_id.choices = [
        SelectChoice(c.id, c.name) for c in intake.street_communities(current_user.street_id)
    ]
    return form


def _input(form: CandidateForm) -> intake.CandidateInput:
    return intake.CandidateInput(
        title=(form.title.data or "").strip(),
        summary=(form.summary.data or "").strip(),
        description=(form.description.data or "").strip(),
        category=form.category.data or "",
        community_id=form.community_id.data,
        location=(form.location.data or "").strip(),
        target=(form.target.data or "").strip(),
        cost_yuan=form.cost_yuan.data or 0,
        source=IdeaSource(form.source.data),
        raised_by=form.raised_by.data or 0,
    )


@bp.route("/")
@role_required(Role.STATION)
def index():  # type: ignore[no-untyped-def]
    candidates = intake.station_candidates(current_user)
    return render_template("station/index.html", candidates=candidates)


@bp.route("/candidates/new", methods=["GET", "POST"])
@role_required(Role.STATION)
def new_candidate():  # type: ignore[no-untyped-def]
    form = _form()
    error = None
    if form.validate_on_submit():
        try:
            intake.submit_candidate(current_user, _input(form))
        except InvalidInput as err:
            error = describe(err)
        else:
            return redirect(url_for("station.index"))
    status = 422 if form.errors or error else 200
    return render_template("station/edit.html", form=form, error=error, candidate=None), status


@bp.route("/candidates/<int:candidate_id>/edit", methods=["GET", "POST"])
@role_required(Role.STATION)
def edit_candidate(candidate_id: int):  # type: ignore[no-untyped-def]
    candidate = intake.candidate_for_station(current_user, candidate_id)
    form = _form(candidate)
    error = None
    if form.validate_on_submit():
        try:
            intake.update_candidate(current_user, candidate_id, _input(form))
        except InvalidInput as err:
            error = describe(err)
        else:
            return redirect(url_for("station.index"))
    status = 422 if form.errors or error else 200
    return render_template("station/edit.html", form=form, error=error, candidate=candidate), status
