"""Supervision rounds on a phone: record the round, add its photos, close answered suggestions."""

from __future__ import annotations

from datetime import date

from flask import redirect, render_template, url_for
from flask_login import current_user

from ..domain.errors import Conflict, InvalidInput
from ..domain.staff import Role
from ..domain.supervision import MemberKind, SpotCheckInput, SuggestionInput, VisitInput
from ..forms import ActionForm
from ..forms_supervision import VisitForm, WorksPhotoForm
from ..services import implementation, supervision
from .decorators import role_required
from .messages import message_for as message
from .supervision import STAFF, bp, explain, project_page


def _visit_input(form: VisitForm) -> VisitInput:
    """The filled-in rows only; a suggestion without a deadline is refused, not dropped."""
    held_on: date = form.held_on.data  # type: ignore[assignment]
    participants = tuple(
        (row.form.name.data.strip(), MemberKind(row.form.kind.data))
        for row in form.participants
        if (row.form.name.data or "").strip()
    )
    checks = tuple(
        SpotCheckInput(row.form.item.data.strip(), row.form.result.data == "pass",
                       (row.form.note.data or "").strip())
        for row in form.spot_checks
        if (row.form.item.data or "").strip()
    )  # fmt: skip
    suggestions = []
    for row in form.suggestions:
        text = (row.form.text.data or "").strip()
        if not text:
            continue
        if row.form.deadline.data is None:
            raise InvalidInput("suggestion_deadline_required")
        suggestions.append(SuggestionInput(text, row.form.deadline.data))
    return VisitInput(
        held_on,
        form.site.data or "",
        form.findings.data or "",
        participants,
        checks,
        tuple(suggestions),
    )


@bp.route("/projects/<int:implementation_id>/visits/new", methods=["GET", "POST"])
@role_required(Role.SUPERVISOR)
def new_visit(implementation_id: int):  # type: ignore[no-untyped-def]
    record = implementation.load(implementation_id)
    implementation.authorize(current_user, implementation.street_of(record), Role.SUPERVISOR)
    form = VisitForm()
    error = None
    if form.validate_on_submit():
        try:
            visit_id = supervision.record_visit(current_user, implementation_id, _visit_input(form))
        except (InvalidInput, Conflict) as err:
            error = explain(err)
        else:
            return redirect(url_for("supervision.visit", visit_id=visit_id), 303)
    status = 422 if form.errors or error else 200
    return render_template(
        "supervision/visit_form.html", record=record, form=form, error=error
    ), status


def _visit_page(visit_id: int, form: WorksPhotoForm, status: int = 200):  # type: ignore[no-untyped-def]
    visit = supervision.load_visit(visit_id)
    record = implementation.for_staff(current_user, visit.implementation_id)
    return render_template(
        "supervision/visit.html",
        visit=visit,
        record=record,
        photo_form=form,
        action_form=ActionForm(),
    ), status


@bp.get("/visits/<int:visit_id>")
@role_required(*STAFF)
def visit(visit_id: int):  # type: ignore[no-untyped-def]
    return _visit_page(visit_id, WorksPhotoForm())


@bp.post("/visits/<int:visit_id>/photos")
@role_required(Role.SUPERVISOR)
def visit_photo(visit_id: int):  # type: ignore[no-untyped-def]
    visit = supervision.load_visit(visit_id)
    record = implementation.load(visit.implementation_id)
    implementation.authorize(current_user, implementation.street_of(record), Role.SUPERVISOR)
    form = WorksPhotoForm()
    if not form.validate_on_submit():
        return _visit_page(visit_id, form, 422)
    try:
        implementation.add_photo(
            current_user,
            visit.implementation_id,
            form.photo.data.stream,
            form.alt_text.data,
            visit_id=visit_id,
        )
    except (InvalidInput, Conflict) as err:
        field = form.alt_text if err.code.startswith("photo_alt") else form.photo
        field.errors = [*field.errors, explain(err)]
        return _visit_page(visit_id, form, 409 if isinstance(err, Conflict) else 422)
    return redirect(url_for("supervision.visit", visit_id=visit_id), 303)


@bp.post("/suggestions/<int:suggestion_id>/close")
@role_required(Role.SUPERVISOR)
def close(suggestion_id: int):  # type: ignore[no-untyped-def]
    implementation_id = supervision.implementation_of(suggestion_id)
    if not ActionForm().validate_on_submit():
        return project_page(implementation_id, 400, error=message("form_expired"))
    try:
        supervision.close_suggestion(current_user, suggestion_id)
    except Conflict as err:
        return project_page(implementation_id, 409, error=explain(err))
    return redirect(url_for("supervision.project", implementation_id=implementation_id), 303)
