"""The official's street settings form: quorum and objection days (field shape and CSRF only).

Whether the quorum is at least 1/2 and below 1, and the days 1–30, is the domain's rule
(``domain.street_settings``); the form only asks for whole numbers.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

WHOLE = _l("请填写 0 到 999 之间的整数")


class StreetSettingsForm(FlaskForm):
    quorum_num = IntegerField(
        _l("法定人数比例：分子"),
        validators=[InputRequired(WHOLE), NumberRange(min=0, max=999, message=WHOLE)],
    )
    quorum_den = IntegerField(
        _l("法定人数比例：分母"),
        validators=[InputRequired(WHOLE), NumberRange(min=0, max=999, message=WHOLE)],
    )
    objection_days = IntegerField(
        _l("公示异议期（工作日）"),
        validators=[InputRequired(WHOLE), NumberRange(min=0, max=999, message=WHOLE)],
    )
