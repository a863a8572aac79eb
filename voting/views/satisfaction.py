"""The satisfaction vote (满意度测评) and the round's reports, for the street's staff."""

from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain.errors import Conflict, InvalidInput
from ..domain.satisfaction import Rating
from ..domain.staff import Role
from ..forms_supervision import SatisfactionForm
from ..services import implementation, satisfaction, supervision_reports
from ..services._tx import utcnow
from ..services.export_xlsx import MIMETYPE
from .decorators import role_required
from .messages import describe, message_for
from .supervision import STAFF, bp

FIELDS = {Rating.SATISFIED: "satisfied", Rating.BASIC: "basic", Rating.DISSATISFIED: "dissatisfied"}


def _round(round_id: int):  # type: ignore[no-untyped-def]
    rnd = supervision_reports.finalized_round(round_id)
    implementation.authorize(current_user, rnd.street_id, *STAFF)
    return rnd


def _counts(records) -> tuple[dict[int, dict[Rating, int]], list[str]]:  # type: ignore[no-untyped-def]
    """Counts per project from the form; a project left blank is not rated."""
    counts: dict[int, dict[Rating, int]] = {}
    bad: list[str] = []
    for record in records:
        raw = {r: request.form.get(f"{name}-{record.id}", "").strip() for r, name in FIELDS.items()}
        if not any(raw.values()):
            continue
        if not all(v.isdigit() and len(v) <= 5 for v in raw.values() if v):
            bad.append(record.entry.candidate.title)
            continue
        counts[record.id] = {r: int(v or 0) for r, v in raw.items()}
    return counts, bad


@bp.route("/rounds/<int:round_id>/satisfaction", methods=["GET", "POST"])
@role_required(Role.CLERK, Role.OFFICIAL)
def satisfaction_entry(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _round(round_id)
    records = satisfaction.completed_records(round_id)
    form = SatisfactionForm(obj=satisfaction.meeting_of(round_id))
    errors: list[str] = []
    if form.validate_on_submit():
        counts, bad = _counts(records)
        if bad:
            errors = [message_for("satisfaction_counts_not_number"), *bad]
        else:
            data = satisfaction.MeetingInput(
                form.held_on.data,  # type: ignore[arg-type]
                form.place.data or "",
                form.members_present.data or 0,
                counts,
            )
            try:
                satisfaction.record_meeting(current_user, round_id, data)
            except (InvalidInput, Conflict) as err:
                errors = [describe(err)]
            else:
                return redirect(url_for("supervision.satisfaction_sheet", round_id=round_id), 303)
    status = 422 if form.errors or errors else 200
    return render_template(
        "supervision/satisfaction_form.html",
        round=rnd,
        records=records,
        form=form,
        errors=errors,
        ratings={r.implementation_id: r for r in _ratings(round_id)},
        fields=FIELDS,
    ), status


def _ratings(round_id: int):  # type: ignore[no-untyped-def]
    meeting = satisfaction.meeting_of(round_id)
    return meeting.ratings if meeting else []


@bp.get("/rounds/<int:round_id>/satisfaction/sheet")
@role_required(*STAFF)
def satisfaction_sheet(round_id: int):  # type: ignore[no-untyped-def]
    _round(round_id)
    sheet = supervision_reports.satisfaction_sheet(round_id)
    return render_template(
        "supervision/satisfaction_sheet.html",
        sheet=sheet,
        grades=supervision_reports.GRADE_LABELS,
    )


def _xlsx(body, filename: str) -> Response:  # type: ignore[no-untyped-def]
    return Response(
        body,
        mimetype=MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
        direct_passthrough=True,
    )


@bp.get("/rounds/<int:round_id>/satisfaction.xlsx")
@role_required(*STAFF)
def satisfaction_xlsx(round_id: int):  # type: ignore[no-untyped-def]
    _round(round_id)
    body = supervision_reports.satisfaction_workbook(round_id)
    supervision_reports.record_export(current_user, round_id, "satisfaction", now=utcnow())
    return _xlsx(body, f"satisfaction-round-{round_id}.xlsx")


@bp.get("/rounds/<int:round_id>/report")
@role_required(*STAFF)
def report(round_id: int):  # type: ignore[no-untyped-def]
    _round(round_id)
    today = implementation.local_today(utcnow())
    rnd, rows = supervision_reports.completion_report(round_id, today)
    return render_template(
        "supervision/report.html",
        round=rnd,
        rows=rows,
        today=today,
        grades=supervision_reports.GRADE_LABELS,
        statuses=supervision_reports.STATUS_LABELS,
    )


@bp.get("/rounds/<int:round_id>/report.xlsx")
@role_required(*STAFF)
def report_xlsx(round_id: int):  # type: ignore[no-untyped-def]
    _round(round_id)
    body = supervision_reports.completion_workbook(round_id, implementation.local_today(utcnow()))
    supervision_reports.record_export(current_user, round_id, "completion", now=utcnow())
    return _xlsx(body, f"completion-round-{round_id}.xlsx")
