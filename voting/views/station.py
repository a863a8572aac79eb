"""Liaison-station staff: submit and edit their station's candidates."""

from __future__ import annotations

from typing import Any

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


PHOTO_MESSAGES: dict[str, Any] = {
    "photo_empty": _l("请选择照片文件。"),
    "photo_too_large": _l(
        "照片文件太大，上限 %(maximum_mb)s MB。请在手机相册里“编辑”后另存一张，或换一张再上传。"
    ),
    "photo_not_image": _l(
        "这个文件不是可以识别的照片。只接受 JPEG、PNG 或 WebP 格式的照片，"
        "不接受 GIF、SVG、HEIC、PDF 或其他文件。"
    ),
    "photo_unreadable": _l("照片文件已损坏或不完整，无法读取。请重新拍摄或重新导出后上传。"),
    "photo_too_many_pixels": _l("照片像素太多，上限 %(maximum)s 万像素。请缩小后再上传。"),
    "photo_too_small": _l(
        "照片太小（%(width)s×%(height)s 像素），短边至少要 %(minimum)s 像素，居民才看得清。"
    ),
    "photo_duplicate": _l("这张照片已经上传过了。"),
    "photo_limit": _l("每个项目最多 %(maximum)s 张照片，请先删除不需要的照片。"),
    "photo_alt_required": _l(
        "请写一句照片说明，例如“3幢北侧空地现状”。读屏软件会把它读给视力不好的居民听。"
    ),
    "photo_alt_too_long": _l("照片说明最多 %(maximum)s 个字。"),
    "photo_round_closed": _l("列入该项目的投票已经结束，不能再增加照片。"),
}


def _photo_message(error: InvalidInput | Conflict) -> str:
    template = PHOTO_MESSAGES.get(error.code)
    if template is None:
        return describe(error)
    params = {k: v for k, v in error.params.items() if isinstance(v, str | int)}
    return str(template) % params if params else str(template)


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
        field.errors = [*field.errors, _photo_message(err)]
        return _photos_page(candidate_id, form, 409 if isinstance(err, Conflict) else 422)
    return redirect(url_for("station.candidate_photos", candidate_id=candidate_id), 303)


@bp.post("/candidates/<int:candidate_id>/photos/<int:photo_id>/delete")
@role_required(Role.STATION)
def delete_photo(candidate_id: int, photo_id: int):  # type: ignore[no-untyped-def]
    form = ActionForm()
    if form.validate_on_submit():
        photos.delete_photo(current_user, candidate_id, photo_id)
    return redirect(url_for("station.candidate_photos", candidate_id=candidate_id), 303)
