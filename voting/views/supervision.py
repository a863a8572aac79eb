"""Implementation and supervision (督办), for the street's staff.

Officials keep each selected project's record; supervisors record supervision rounds on a
phone (supervision_visits.py); the clerk and officials record the satisfaction vote
(satisfaction.py). Role checks here, street checks in the services.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ..domain.errors import Conflict, InvalidInput
from ..domain.staff import Role
from ..domain.supervision import ImplementationStatus, ProgressInput
from ..forms_supervision import (
    AnswerForm,
    MilestoneDoneForm,
    MilestoneForm,
    ProgressForm,
    SetupForm,
    WorksPhotoForm,
)
from ..services import implementation, supervision
from ..services._tx import utcnow
from .decorators import role_required
from .messages import describe as explain

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

STAFF = (Role.SUPERVISOR, Role.OFFICIAL, Role.CLERK)


@bp.get("/")
@role_required(*STAFF)
def index():  # type: ignore[no-untyped-def]
    projects = implementation.street_projects(current_user.street_id)
    ids = [p.record.id for p in projects if p.record]
    figures = supervision.counts(ids, implementation.local_today(utcnow()))
    return render_template("supervision/index.html", projects=projects, figures=figures)


@bp.route("/rounds/<int:round_id>/candidates/<int:candidate_id>/setup", methods=["GET", "POST"])
@role_required(Role.OFFICIAL)
def setup(round_id: int, candidate_id: int):  # type: ignore[no-untyped-def]
    entry = implementation.selected_entry(round_id, candidate_id)
    implementation.authorize(current_user, entry.round.street_id, Role.OFFICIAL)
    record = next((p.record for p in _projects() if p.entry is entry), None)
    form = SetupForm(obj=record)
    if record is None and not form.is_submitted():
        # What the council's notice published (公示) is where the record starts.
        form.responsible_unit.data = entry.responsible_unit
        form.planned_completion.data = entry.planned_completion
    error = None
    if form.validate_on_submit():
        data = implementation.SetupInput(
            form.responsible_unit.data or "",
            form.unit_leader.data or "",
            form.planned_start.data,
            form.planned_completion.data,
        )
        try:
            record_id = implementation.save_setup(current_user, round_id, candidate_id, data)
        except InvalidInput as err:
            error = explain(err)
        else:
            return redirect(url_for("supervision.project", implementation_id=record_id), 303)
    status = 422 if form.errors or error else 200
    return render_template("supervision/setup.html", entry=entry, form=form, error=error), status


def _projects() -> list[implementation.ProjectRow]:
    return implementation.street_projects(current_user.street_id)


def project_page(implementation_id: int, status: int = 200, **forms: Any):  # type: ignore[no-untyped-def]
    """The staff page of one project, with the forms the viewer's role may use."""
    record = implementation.for_staff(current_user, implementation_id)
    figures = supervision.counts([record.id], implementation.local_today(utcnow()))
    defaults: dict[str, Any] = {
        "progress_form": ProgressForm(obj=record),
        "milestone_form": MilestoneForm(),
        "done_form": MilestoneDoneForm(),
        "photo_form": WorksPhotoForm(),
        "answer_form": AnswerForm(),
        "error": None,
    }
    defaults.update(forms)
    return render_template(
        "supervision/project.html",
        record=record,
        entry=record.entry,
        counts=figures.per_project[record.id],
        today=implementation.local_today(utcnow()),
        **defaults,
    ), status


def _back(implementation_id: int):  # type: ignore[no-untyped-def]
    return redirect(url_for("supervision.project", implementation_id=implementation_id), 303)


@bp.get("/projects/<int:implementation_id>")
@role_required(*STAFF)
def project(implementation_id: int):  # type: ignore[no-untyped-def]
    return project_page(implementation_id)


@bp.post("/projects/<int:implementation_id>/progress")
@role_required(Role.OFFICIAL)
def progress(implementation_id: int):  # type: ignore[no-untyped-def]
    form = ProgressForm()
    if not form.validate_on_submit():
        return project_page(implementation_id, 422, progress_form=form)
    data = ProgressInput(
        ImplementationStatus(form.status.data),
        form.progress_percent.data or 0,
        form.budget_spent_yuan.data or 0,
        form.actual_completion.data,
        form.note.data or "",
    )
    try:
        implementation.report_progress(current_user, implementation_id, data)
    except (InvalidInput, Conflict) as err:
        return project_page(implementation_id, _status(err), progress_form=form, error=explain(err))
    return _back(implementation_id)


def _status(err: InvalidInput | Conflict) -> int:
    return 409 if isinstance(err, Conflict) else 422


@bp.post("/projects/<int:implementation_id>/milestones")
@role_required(Role.OFFICIAL)
def add_milestone(implementation_id: int):  # type: ignore[no-untyped-def]
    form = MilestoneForm()
    if not form.validate_on_submit():
        return project_page(implementation_id, 422, milestone_form=form)
    planned_on: date = form.planned_on.data  # type: ignore[assignment]
    try:
        implementation.add_milestone(current_user, implementation_id, form.title.data, planned_on)
    except (InvalidInput, Conflict) as err:
        return project_page(
            implementation_id, _status(err), milestone_form=form, error=explain(err)
        )
    return _back(implementation_id)


@bp.post("/projects/<int:implementation_id>/milestones/<int:milestone_id>/done")
@role_required(Role.OFFICIAL)
def milestone_done(implementation_id: int, milestone_id: int):  # type: ignore[no-untyped-def]
    form = MilestoneDoneForm()
    if not form.validate_on_submit():
        return project_page(implementation_id, 422, done_form=form)
    try:
        implementation.milestone_reached(
            current_user, implementation_id, milestone_id, form.done_on.data
        )
    except (InvalidInput, Conflict) as err:
        return project_page(implementation_id, _status(err), done_form=form, error=explain(err))
    return _back(implementation_id)


@bp.post("/projects/<int:implementation_id>/photos")
@role_required(Role.OFFICIAL)
def add_photo(implementation_id: int):  # type: ignore[no-untyped-def]
    implementation.for_staff(current_user, implementation_id)  # 403 before reading the file
    form = WorksPhotoForm()
    if not form.validate_on_submit():
        return project_page(implementation_id, 422, photo_form=form)
    try:
        implementation.add_photo(
            current_user, implementation_id, form.photo.data.stream, form.alt_text.data
        )
    except (InvalidInput, Conflict) as err:
        form.photo.errors = [*form.photo.errors, explain(err)]
        return project_page(implementation_id, _status(err), photo_form=form)
    return _back(implementation_id)


@bp.post("/suggestions/<int:suggestion_id>/answer")
@role_required(Role.OFFICIAL)
def answer(suggestion_id: int):  # type: ignore[no-untyped-def]
    implementation_id = supervision.implementation_of(suggestion_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return project_page(implementation_id, 422, answer_form=form, answering=suggestion_id)
    try:
        supervision.answer_suggestion(current_user, suggestion_id, form.answer.data)
    except (InvalidInput, Conflict) as err:
        return project_page(implementation_id, _status(err), error=explain(err))
    return _back(implementation_id)
