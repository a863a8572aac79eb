"""Sentences for the council meeting, its 公示 and objections (merged into ``messages.MESSAGES``).

The objection sentences are read by residents and are translated; the rest are for staff.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

COUNCIL_MESSAGES: dict[str, Any] = {
    # the meeting record
    "no_quorum": _l(
        "实到人数未超过本街道规定的法定人数比例（默认为应到人数的三分之二），会议不足法定人数。"
    ),
    "quorum_range": _l("法定人数比例须小于 1，例如 2/3。"),
    "ballots_missing": _l("请填写发出、收回和有效选票数。"),
    "ballots_incomplete": _l("发出、收回和有效选票数要三项都填，或都不填。"),
    "ballots_issued_range": _l("发出选票数不能多于实到人数，各项选票数不能为负数。"),
    "ballots_order": _l("选票数须满足：有效 ≤ 收回 ≤ 发出。"),
    "tellers_missing": _l("请填写计票人和监票人。"),
    "procedure_missing": _l("请填写会议通过的票决办法。"),
    "votes_range": _l("某项目的议事会得票超过了有效选票数。"),
    "votes_total": _l("议事会得票合计超过了“有效选票数 × 应选项目数”。"),
    "target_missing": _l("入选项目须填写目标（例如“新增停车位30个”）。"),
    "unit_missing": _l("入选项目须填写责任单位。"),
    "completion_missing": _l("入选项目须填写计划完成日期。"),
    "completion_before_meeting": _l("计划完成日期须在会议日期之后。"),
    "completion_not_date": _l("计划完成日期格式不对，请按“2026-12-31”填写。"),
    # the street's settings (officials)
    "quorum_bounds": _l("法定人数比例须不低于二分之一、小于 1，例如 2/3（实到须超过这个比例）。"),
    "quorum_denominator": _l("法定人数比例的分母至少为 1。"),
    "objection_days_range": _l("公示异议期须为 1 到 30 个工作日。"),
    "unknown_street": _l("没有找到这个街道。"),
    # two-person finalization
    "same_person": _l("审核确认须由另一位工作人员进行：记录会议或提请确定的人不能自己确认。"),
    "finalization_pending": _l("已经提请确定，正在等待审核确认。"),
    "finalization_not_pending": _l("目前没有待审核的确定提请（可能已被撤回，或会议记录已修改）。"),
    # the 公示 and objections (residents read these)
    "notice_missing": _l("这次投票还没有发布票选结果公示。"),
    "objection_period_over": _l("公示异议期已经结束，不再受理异议。"),
    "objection_already_filed": _l("您已经对这次公示提出过异议，每位居民只能提一次。"),
    "objection_too_short": _l("异议内容太短，请至少写 %(minimum)s 个字，说明您的意见和理由。"),
    "objection_too_long": _l("异议内容最多 %(maximum)s 个字。"),
    # answers (staff)
    "answer_missing": _l("请填写答复内容。"),
    "answer_too_long": _l("答复最多 %(maximum)s 个字。"),
    "objection_unknown": _l("没有找到这条异议。"),
    "objection_answered": _l("这条异议已经答复过了。"),
}
