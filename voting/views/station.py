"""Liaison-station staff: submit and edit their station's candidates."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..domain.errors import Conflict, InvalidInput
from ..domain.staff import IdeaSource, Role
from ..forms import REQUIRED, ActionForm, CandidateForm
from ..services import intake, photos
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


class PhotoForm(FlaskForm):
    """One photo per upload, with the sentence a screen reader reads for it."""

    photo = FileField(
        _l("照片（JPEG、PNG 或 WebP）"),
        validators=[FileRequired(_l("请选择照片"))],
        # iPhones then send JPEG instead of HEIC.
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )
    alt_text = StringField(
        _l("照片说明"),
        validators=[DataRequired(REQUIRED), Length(max=photos.ALT_TEXT_MAX)],
    )


def _photos_page(candidate_id: int, form: PhotoForm, status: int = 200):  # type: ignore[no-untyped-def]
    candidate = intake.candidate_for_station(current_user, candidate_id)
    return render_template(
        "station/photos.html",
        candidate=candidate,
        form=form,
        delete_form=ActionForm(),
        during_vote=photos.listed_in_open_round(candidate_id),
    ), status


@bp.get("/candidates/<int:candidate_id>/photos")
@role_required(Role.STATION)
def candidate_photos(candidate_id: int):  # type: ignore[no-untyped-def]
    return _photos_page(candidate_id, PhotoForm())


@bp.post("/candidates/<int:candidate_id>/photos")
@role_required(Role.STATION)
def add_photo(candidate_id: int):  # type: ignore[no-untyped-def]
    """Upload one photo; a refused file is explained next to the field and nothing is kept."""
    intake.candidate_for_station(current_user, candidate_id)  # 403 before reading the file
    form = PhotoForm()
    if not form.validate_on_submit():
        return _photos_page(candidate_id, form, 422)
    try:
        photos.add_photo(current_user, candidate_id, form.photo.data.stream, form.alt_text.data)
    except (InvalidInput, Conflict) as err:
        field = form.alt_text if err.code.startswith("photo_alt") else form.photo
        field.errors = [*field.errors, describe(err)]
        return _photos_page(candidate_id, form, 409 if isinstance(err, Conflict) else 422)
    return redirect(url_for("station.candidate_photos", candidate_id=candidate_id), 303)


@bp.post("/candidates/<int:candidate_id>/photos/<int:photo_id>/delete")
@role_required(Role.STATION)
def delete_photo(candidate_id: int, photo_id: int):  # type: ignore[no-untyped-def]
    form = ActionForm()
    if form.validate_on_submit():
        photos.delete_photo(current_user, candidate_id, photo_id)
    return redirect(url_for("station.candidate_photos", candidate_id=candidate_id), 303)
