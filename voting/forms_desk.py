"""Forms of the station desk (联络站现场): ID lookup, check-in, paper entry, reconciliation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from .forms import REQUIRED, MultiCheckboxField

# Common reasons a resident needs help; "other" takes a free-text reason.
ASSIST_REASONS = ["视力不便", "不识字或书写困难", "不会使用手机", "行动不便", "年老体弱"]
OTHER = "其他"


class IdLookupForm(FlaskForm):
    id_number = StringField(
        _l("身份证号（对照居民出示的身份证输入）"),
        validators=[
            DataRequired(_l("请输入身份证号")),
            Length(max=40, message=_l("身份证号应为 18 位")),
        ],
    )


class CheckInForm(FlaskForm):
    token = HiddenField()
    assisted_by = StringField(
        _l("协助人姓名（无人协助不填）"),
        validators=[Optional(), Length(max=40, message=_l("协助人姓名最多 40 个字"))],
    )
    assist_reason = SelectField(
        _l("协助原因"),
        choices=[SelectChoice("", _l("无人协助"))]
        + [SelectChoice(r, r) for r in [*ASSIST_REASONS, OTHER]],
        default="",
    )
    assist_other = StringField(
        _l("其他原因（选“其他”时填写）"),
        validators=[Optional(), Length(max=100, message=_l("其他原因最多 100 个字"))],
    )

    def reason(self) -> str:
        """The reason as stored: a listed reason, or "其他：…" with the free text."""
        chosen = self.assist_reason.data or ""
        other = (self.assist_other.data or "").strip()
        if chosen == OTHER:
            return f"{OTHER}：{other}" if other else ""
        return chosen


class PaperEntryForm(FlaskForm):
    serial = StringField(
        _l("选票编号（纸质选票上印的编号）"),
        validators=[DataRequired(REQUIRED), Length(max=40, message=_l("选票编号最多 30 位"))],
    )
    choices = MultiCheckboxField(_l("选票上勾选的项目"), coerce=int)
    invalid = BooleanField(_l("废票（空白、涂改无法辨认、超出可选数量等）"))


class ReconcileForm(FlaskForm):
    choices = MultiCheckboxField(_l("核对原件后的选择"), coerce=int)
    invalid = BooleanField(_l("废票"))
    note = TextAreaField(
        _l("核对说明"),
        validators=[DataRequired(REQUIRED), Length(max=500, message=_l("核对说明最多 500 个字"))],
    )
