"""Form shapes and CSRF (Flask-WTF). Rules live in the domain, not here."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .domain.ballots import BallotKind
from .domain.errors import BallotRuleViolation
from .domain.staff import IdeaSource
from .domain.tally import OutcomeRule

REQUIRED = _l("请填写此项")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(REQUIRED), Length(max=40)])
    password = PasswordField(_l("密码"), validators=[DataRequired(REQUIRED), Length(max=200)])


SOURCE_LABELS = {
    IdeaSource.SEMINAR: _l("座谈会"),
    IdeaSource.DOOR_TO_DOOR: _l("入户走访"),
    IdeaSource.ONLINE: _l("网上征集"),
}

CATEGORIES = ["停车出行", "适老设施", "绿化环境", "文体健身", "安全设施", "其他"]


class CandidateForm(FlaskForm):
    title = StringField(_l("项目名称"), validators=[DataRequired(REQUIRED), Length(max=60)])
    summary = StringField(_l("一句话简介"), validators=[Optional(), Length(max=120)])
    description = TextAreaField(
        _l("项目说明"), validators=[DataRequired(REQUIRED), Length(max=5000)]
    )
    category = SelectField(_l("类别"), choices=[SelectChoice(c, c) for c in CATEGORIES])
    community_id = SelectField(_l("所在社区"), coerce=int, validators=[InputRequired(REQUIRED)])
    location = StringField(_l("具体位置"), validators=[DataRequired(REQUIRED), Length(max=120)])
    target = StringField(_l("预期目标"), validators=[Optional(), Length(max=120)])
    cost_yuan = IntegerField(
        _l("估算金额（元）"),
        validators=[InputRequired(REQUIRED), NumberRange(0, 10**10, _l("金额须为 0 或正整数"))],
    )
    source = RadioField(
        _l("意见来源"),
        choices=[SelectChoice(s.value, label) for s, label in SOURCE_LABELS.items()],
        validators=[InputRequired(REQUIRED)],
    )
    raised_by = IntegerField(
        _l("提出此意见的居民人数"),
        default=0,
        validators=[InputRequired(REQUIRED), NumberRange(0, 1_000_000, _l("人数须为 0 或正整数"))],
    )


class ReviewForm(FlaskForm):
    decision = RadioField(
        _l("审查结论"),
        choices=[SelectChoice("accept", _l("通过")), SelectChoice("reject", _l("不通过"))],
        validators=[InputRequired(REQUIRED)],
    )
    reason = TextAreaField(_l("理由"), validators=[DataRequired(REQUIRED), Length(max=2000)])


class RoundForm(FlaskForm):
    title = StringField(_l("活动名称"), validators=[DataRequired(REQUIRED), Length(max=80)])
    description = TextAreaField(_l("活动说明"), validators=[Optional(), Length(max=4000)])
    community_ids = MultiCheckboxField(_l("参与社区"), coerce=int)
    candidate_ids = MultiCheckboxField(_l("候选项目"), coerce=int)
    opens_at = DateTimeLocalField(
        _l("开始时间（北京时间）"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(REQUIRED)]
    )
    closes_at = DateTimeLocalField(
        _l("结束时间（北京时间）"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(REQUIRED)]
    )
    min_choices = IntegerField(
        _l("每票至少选"), default=1, validators=[InputRequired(REQUIRED), NumberRange(1, 100)]
    )
    max_choices = IntegerField(
        _l("每票至多选"), validators=[InputRequired(REQUIRED), NumberRange(1, 100)]
    )
    budget_yuan = IntegerField(
        _l("预算上限（元，可不填）"), validators=[Optional(), NumberRange(1, 10**11)]
    )
    ballot_kind = RadioField(
        _l("选票形式"),
        choices=[
            SelectChoice(BallotKind.APPROVAL.value, _l("勾选：在可选范围内勾选支持的项目")),
            SelectChoice(BallotKind.KNAPSACK.value, _l("预算内选择：所选项目合计不超过预算")),
            SelectChoice(BallotKind.CUMULATIVE.value, _l("积分：把总分分配给支持的项目")),
        ],
        default=BallotKind.APPROVAL.value,
    )
    points_total = IntegerField(
        _l("每票总分（仅积分选票）"), validators=[Optional(), NumberRange(1, 1000)]
    )
    min_spend_percent = IntegerField(
        _l("至少用掉预算的百分比（仅预算内选择，可不填）"),
        validators=[Optional(), NumberRange(1, 100)],
    )
    seats = IntegerField(
        _l("议事会将票选的项目数"), validators=[InputRequired(REQUIRED), NumberRange(1, 100)]
    )
    outcome_rule = RadioField(
        _l("建议名单规则"),
        choices=[
            SelectChoice(OutcomeRule.TOP_N.value, _l("按得票取前 N 项")),
            SelectChoice(OutcomeRule.GREEDY.value, _l("按得票在预算内依次入选")),
            SelectChoice(OutcomeRule.MES.value, _l("平均分配法（MES，按成本满意度）")),
            SelectChoice(OutcomeRule.MES_GREEDY.value, _l("平均分配法，余款按得票依次补选")),
            SelectChoice(OutcomeRule.MES_ADD1.value, _l("平均分配法，逐元提高每人预算（Add1）")),
            SelectChoice(
                OutcomeRule.MES_ADD1_GREEDY.value, _l("平均分配法（Add1），余款按得票依次补选")
            ),
        ],
        default=OutcomeRule.TOP_N.value,
    )
    running_results_public = BooleanField(_l("投票期间公开实时结果"))


class CloseForm(FlaskForm):
    reason = TextAreaField(
        _l("提前结束的理由（到期结束可不填）"), validators=[Optional(), Length(max=2000)]
    )


class CodeForm(FlaskForm):
    code = StringField(_l("投票码"), validators=[DataRequired(_l("请输入投票码")), Length(max=40)])


POINTS_PREFIX = "points-"


def submitted_points(formdata: Mapping[str, str]) -> dict[int, int]:
    """The points typed on a cumulative ballot (fields ``points-<candidate id>``); an empty
    field is 0. Empty when the ballot has no points fields (a crossed ballot)."""
    points: dict[int, int] = {}
    for name, raw in formdata.items():
        if not name.startswith(POINTS_PREFIX):
            continue
        cid, value = name.removeprefix(POINTS_PREFIX), raw.strip() or "0"
        if not (cid.isdigit() and value.isdigit() and len(value) <= 4):
            raise BallotRuleViolation("points_not_number")
        if int(value):
            points[int(cid)] = int(value)
    return points


class BallotForm(FlaskForm):
    # Which ids stand in the round is the domain's check (unknown_candidate), not the form's.
    choices = MultiCheckboxField(_l("候选项目"), coerce=int, validate_choice=False)


class CouncilForm(FlaskForm):
    held_on = DateField(_l("会议日期"), validators=[InputRequired(REQUIRED)])
    place = StringField(_l("会议地点"), validators=[Optional(), Length(max=120)])
    members_expected = IntegerField(
        _l("应到人数"), validators=[InputRequired(REQUIRED), NumberRange(1, 10000)]
    )
    members_present = IntegerField(
        _l("实到人数"), validators=[InputRequired(REQUIRED), NumberRange(0, 10000)]
    )
    resolution = TextAreaField(_l("会议决议"), validators=[Optional(), Length(max=5000)])
    tellers = StringField(_l("计票人、监票人"), validators=[Optional(), Length(max=200)])
    ballots_issued = IntegerField(_l("发出选票"), validators=[Optional(), NumberRange(0, 10000)])
    ballots_returned = IntegerField(_l("收回选票"), validators=[Optional(), NumberRange(0, 10000)])
    ballots_valid = IntegerField(_l("有效选票"), validators=[Optional(), NumberRange(0, 10000)])
    procedure = TextAreaField(_l("票决办法"), validators=[Optional(), Length(max=5000)])


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("答复"), validators=[DataRequired(REQUIRED), Length(max=2000)])


class ReceiptForm(FlaskForm):
    receipt = StringField(
        _l("回执码"), validators=[DataRequired(_l("请输入回执码")), Length(max=40)]
    )
