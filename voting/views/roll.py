"""The official's roll import: upload a CSV or XLSX file, check the preview, confirm.

The preview writes nothing. The file waits on the server under a random name; the session
holds its token and SHA-256, and the confirmation imports exactly the previewed file.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, session, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..domain.errors import InvalidInput
from ..domain.staff import Role
from ..forms_roll import RollConfirmForm, RollUploadForm
from ..services import intake, roll_uploads
from ..services.roll import ImportReport
from ..services.roll_uploads import StagedRoll
from .decorators import role_required
from .messages import describe, message_for

bp = Blueprint("roll", __name__, url_prefix="/official/roll")

STAGED_KEY = "roll_staged"
DONE_KEY = "roll_done"
MAX_LISTED_ERRORS = 200


def _pepper() -> bytes:
    return current_app.config["ROLL_PEPPER"].encode()


def _upload_form() -> RollUploadForm:
    form = RollUploadForm()
    form.full_roll.choices = [
        SelectChoice(c.name, c.name) for c in intake.street_communities(current_user.street_id)
    ]
    return form


def _upload_page(form: RollUploadForm, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    done = session.pop(DONE_KEY, None) if status == 200 else None
    return render_template("roll/upload.html", form=form, error=error, done=done), status


def _listed_errors(report: ImportReport) -> list[tuple[int, str]]:
    return [(e.line, message_for(e.code, **e.details)) for e in report.errors[:MAX_LISTED_ERRORS]]


def _forget_staged() -> None:
    previous = StagedRoll.from_session(session.pop(STAGED_KEY, None))
    if previous is not None:
        roll_uploads.discard(previous.token)


@bp.get("/")
@role_required(Role.OFFICIAL)
def upload():  # type: ignore[no-untyped-def]
    """The upload form, and the result of the import just confirmed."""
    roll_uploads.sweep()  # files nobody confirmed within the hour go, upload or not
    return _upload_page(_upload_form())


@bp.post("/")
@role_required(Role.OFFICIAL)
def preview():  # type: ignore[no-untyped-def]
    """Parse and compare the uploaded file; keep it for confirmation if every row is good."""
    form = _upload_form()
    if not form.validate_on_submit():
        return _upload_page(form, status=422)
    try:
        staging = roll_uploads.stage_roll(
            form.file.data.read(),
            street_id=current_user.street_id,
            pepper=_pepper(),
            full_roll=tuple(form.full_roll.data or ()),
        )
    except InvalidInput as err:
        return _upload_page(form, describe(err), status=422)
    _forget_staged()  # a newer upload replaces an older preview, in this tab or another
    confirm = None
    if staging.staged is not None:
        session[STAGED_KEY] = staging.staged.to_session()
        confirm = RollConfirmForm(formdata=None, token=staging.staged.token)
    report = staging.report
    return render_template(
        "roll/preview.html",
        report=report,
        errors=_listed_errors(report),
        more_errors=max(len(report.errors) - MAX_LISTED_ERRORS, 0),
        full_roll=staging.staged.full_roll if staging.staged else (),
        confirm=confirm,
    ), (422 if report.errors else 200)


@bp.post("/confirm")
@role_required(Role.OFFICIAL)
def confirm():  # type: ignore[no-untyped-def]
    """Import exactly the previewed file, in one transaction."""
    form = RollConfirmForm()
    staged = StagedRoll.from_session(session.get(STAGED_KEY))
    if not form.validate_on_submit() or staged is None or form.token.data != staged.token:
        return _upload_page(_upload_form(), describe(InvalidInput("roll_upload_missing")), 409)
    session.pop(STAGED_KEY, None)
    try:
        report = roll_uploads.commit_staged(
            staged, street_id=current_user.street_id, pepper=_pepper(), actor=current_user
        )
    except InvalidInput as err:
        return _upload_page(_upload_form(), describe(err), status=409)
    session[DONE_KEY] = {**report.counts(), "moved_out_total": report.moved_out_total}
    return redirect(url_for("roll.upload"))
