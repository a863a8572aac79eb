"""Forms of the implementation, supervision and satisfaction pages (staff; Chinese only).

Supervisors fill these in on a phone on site: fixed rows instead of script-added ones, so
the forms work with JavaScript off; the camera opens straight from the photo field.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .domain import supervision as rules
from .domain.supervision import ImplementationStatus, MemberKind
from .forms import REQUIRED
from .services import implementation, photos

STATUS_CHOICES = [
    SelectChoice(ImplementationStatus.PLANNED.value, "未开工"),
    SelectChoice(ImplementationStatus.IN_PROGRESS.value, "实施中"),
    SelectChoice(ImplementationStatus.COMPLETED.value, "已完工"),
]
KIND_CHOICES = [
    SelectChoice(MemberKind.DEPUTY.value, "人大代表"),
    SelectChoice(MemberKind.COUNCIL_MEMBER.value, "议事会成员"),
    SelectChoice(MemberKind.RESIDENT.value, "居民"),
]
RESULT_CHOICES = [SelectChoice("pass", "合格"), SelectChoice("fail", "不合格")]
NUMERIC = {"inputmode": "numeric"}


class SetupForm(FlaskForm):
    responsible_unit = StringField(
        "责任单位",
        validators=[DataRequired(REQUIRED), Length(max=implementation.UNIT_MAX)],
    )
    unit_leader = StringField(
        "责任领导（职务及姓名）", validators=[Optional(), Length(max=implementation.LEADER_MAX)]
    )
    planned_start = DateField("计划开工日期", validators=[Optional()])
    planned_completion = DateField("计划完工日期", validators=[Optional()])


class ProgressForm(FlaskForm):
    status = SelectField("状态", choices=STATUS_CHOICES)
    progress_percent = IntegerField(
        "进度（%）",
        validators=[InputRequired(REQUIRED), NumberRange(0, 100)],
        render_kw=NUMERIC,
    )
    budget_spent_yuan = IntegerField(
        "已支出（元）",
        validators=[InputRequired(REQUIRED), NumberRange(0, 10**12)],
        render_kw=NUMERIC,
    )
    actual_completion = DateField("实际完工日期（完工时填写）", validators=[Optional()])
    note = TextAreaField("进展说明", validators=[Optional(), Length(max=rules.TEXT_MAX)])


class MilestoneForm(FlaskForm):
    title = StringField(
        "节点名称", validators=[DataRequired(REQUIRED), Length(max=implementation.MILESTONE_MAX)]
    )
    planned_on = DateField("计划日期", validators=[InputRequired(REQUIRED)])


class MilestoneDoneForm(FlaskForm):
    done_on = DateField("实际完成日期", validators=[InputRequired(REQUIRED)])


class WorksPhotoForm(FlaskForm):
    photo = FileField(
        "照片",
        validators=[FileRequired("请选择或拍摄一张照片")],
        # Phones open the rear camera straight away; the gallery stays one tap away.
        render_kw={"accept": "image/*", "capture": "environment"},
    )
    alt_text = StringField(
        "照片说明", validators=[DataRequired(REQUIRED), Length(max=photos.ALT_TEXT_MAX)]
    )


class _Row(FlaskForm):
    """A row inside a form: the outer form carries the CSRF token; messages in Chinese."""

    class Meta:
        csrf = False


class ParticipantRow(_Row):
    name = StringField("姓名", validators=[Optional(), Length(max=rules.NAME_MAX)])
    kind = SelectField("身份", choices=KIND_CHOICES, default=MemberKind.RESIDENT.value)


class SpotCheckRow(_Row):
    item = StringField("抽查项目", validators=[Optional(), Length(max=rules.ITEM_MAX)])
    result = SelectField("结果", choices=RESULT_CHOICES, default="pass")
    note = StringField("说明", validators=[Optional(), Length(max=rules.NOTE_MAX)])


class SuggestionRow(_Row):
    text = TextAreaField("意见建议", validators=[Optional(), Length(max=rules.TEXT_MAX)])
    deadline = DateField("办理期限", validators=[Optional()])


class VisitForm(FlaskForm):
    held_on = DateField("督办日期", validators=[InputRequired(REQUIRED)])
    site = StringField("地点", validators=[DataRequired(REQUIRED), Length(max=rules.SITE_MAX)])
    findings = TextAreaField(
        "发现的情况", validators=[DataRequired(REQUIRED), Length(max=rules.TEXT_MAX)]
    )
    participants = FieldList(FormField(ParticipantRow), min_entries=6, max_entries=20)
    spot_checks = FieldList(FormField(SpotCheckRow), min_entries=4, max_entries=20)
    suggestions = FieldList(FormField(SuggestionRow), min_entries=3, max_entries=20)


class AnswerForm(FlaskForm):
    answer = TextAreaField(
        "责任单位的答复", validators=[DataRequired(REQUIRED), Length(max=rules.TEXT_MAX)]
    )


class SatisfactionForm(FlaskForm):
    held_on = DateField("测评日期", validators=[InputRequired(REQUIRED)])
    place = StringField("地点", validators=[Optional(), Length(max=120)])
    members_present = IntegerField(
        "实到人数", validators=[InputRequired(REQUIRED), NumberRange(1, 10000)], render_kw=NUMERIC
    )
