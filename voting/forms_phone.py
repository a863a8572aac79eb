"""Form shapes for the phone-code channel (手机验证码). Rules live in the domain."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .forms import REQUIRED


class PhoneRequestForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(REQUIRED), Length(max=40)])
    id_number = StringField(_l("身份证号"), validators=[DataRequired(REQUIRED), Length(max=40)])
    phone = StringField(_l("手机号"), validators=[DataRequired(REQUIRED), Length(max=30)])


class PhoneCodeForm(FlaskForm):
    code = StringField(
        _l("短信验证码"), validators=[DataRequired(_l("请输入验证码")), Length(max=20)]
    )


class ResendForm(FlaskForm):
    """重新发送: the phone is typed again, so no copy of it waits in the browser."""

    phone = StringField(
        _l("手机号"),
        validators=[DataRequired(_l("请再次输入手机号")), Length(max=20)],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )


class ObjectionForm(FlaskForm):
    """The code and the objection's text, sent together: nothing waits in the session."""

    code = StringField(
        _l("短信验证码"), validators=[DataRequired(_l("请输入验证码")), Length(max=20)]
    )
    body = TextAreaField(
        _l("异议内容"), validators=[DataRequired(_l("请写下您的异议")), Length(max=1000)]
    )
