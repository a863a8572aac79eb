"""Forms of the official's roll import: upload, then confirm (field shape and CSRF only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from .forms import MultiCheckboxField


class RollUploadForm(FlaskForm):
    file = FileField(
        _l("名册文件（CSV 或 Excel .xlsx）"),
        validators=[
            FileRequired(_l("请选择名册文件")),
            FileAllowed(["csv", "xlsx"], _l("只接受 .csv 或 .xlsx 文件")),
        ],
    )
    # Values are community names, exactly as the file names them.
    full_roll = MultiCheckboxField(_l("以本文件为完整名册的社区（可不选）"))


class RollConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
