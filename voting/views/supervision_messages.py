"""Sentences for implementation, supervision and satisfaction (merged into ``MESSAGES``)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

SUPERVISION_MESSAGES: dict[str, Any] = {
    "round_not_implementable": _l("议事会确定项目并且公示期结束之后，才能登记实施和督办情况。"),
    "unit_required": _l("请填写责任单位（最多 %(maximum)s 个字）。"),
    "leader_too_long": _l("责任领导最多 %(maximum)s 个字。"),
    "planned_order": _l("计划完工日期不能早于计划开工日期。"),
    "progress_range": _l("进度请填 0 到 100 之间的整数。"),
    "budget_spent_negative": _l("已支出金额不能为负数。"),
    "text_too_long": _l("文字最多 %(maximum)s 个字。"),
    "completed_needs_full_progress": _l("状态为“已完工”时，进度应为 100%。"),
    "completion_date_iff_completed": _l(
        "状态为“已完工”时请填写实际完工日期；尚未完工时，实际完工日期请留空。"
    ),
    "date_in_future": _l("日期不能晚于今天。"),
    "completion_before_start": _l("实际完工日期不能早于计划开工日期。"),
    "planned_has_no_progress": _l("状态为“未开工”时，进度应为 0。开工后请把状态改为“实施中”。"),
    "milestone_title": _l("请填写节点名称（最多 %(maximum)s 个字）。"),
    "visit_site": _l("请填写督办地点（最多 %(maximum)s 个字）。"),
    "visit_findings_required": _l("请填写本次督办发现的情况。"),
    "visit_participants_required": _l("请至少填写一位参加督办的成员。"),
    "participant_name": _l("成员姓名最多 %(maximum)s 个字。"),
    "spot_check_item": _l("抽查项目最多 %(item)s 个字，说明最多 %(note)s 个字。"),
    "suggestion_text_required": _l("请填写意见建议的内容。"),
    "suggestion_deadline_required": _l("每条意见建议都要填写办理期限。"),
    "deadline_before_round": _l("办理期限不能早于督办日期。"),
    "answer_required": _l("请填写责任单位的答复。"),
    "suggestion_open": _l("这条建议还没有答复，答复后才能办结。"),
    "suggestion_answered": _l("这条建议已经答复过了。"),
    "suggestion_closed": _l("这条建议已经办结。"),
    "satisfaction_present": _l("实到人数至少为 1。"),
    "satisfaction_negative": _l("票数不能为负数。"),
    "satisfaction_over_present": _l(
        "某个项目的满意、基本满意、不满意票数合计超过了实到人数（%(present)s 人）。"
    ),
    "satisfaction_counts_not_number": _l("票数须为 0 或正整数，以下项目填写有误："),
    "satisfaction_nothing_rated": _l("请至少填写一个项目的测评票数。"),
    "satisfaction_not_completed": _l("只有已完工的项目才能参加满意度测评。"),
    "satisfaction_rule": _l("满意度测评规则的格式不正确。"),
    "unknown_street": _l("没有名为 %(name)s 的街道。"),
    "place_too_long": _l("地点最多 %(maximum)s 个字。"),
    "form_expired": _l("页面已过期，请刷新后重试。"),
}
