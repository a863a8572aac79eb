"""Plain-Chinese sentences for every domain error code (translatable)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain.errors import VotingError
from .council_messages import COUNCIL_MESSAGES
from .desk_messages import DESK_MESSAGES
from .phone_messages import PHONE_MESSAGES
from .photo_messages import PHOTO_MESSAGES
from .roll_messages import ROLL_MESSAGES
from .supervision_messages import SUPERVISION_MESSAGES

MESSAGES: dict[str, Any] = {
    # ballots
    "duplicate_choice": _l("同一个项目只能选一次。"),
    "unknown_candidate": _l("所选项目不在本次投票的候选名单中，请刷新页面后重新选择。"),
    "too_few": _l("每张选票至少要选 %(minimum)s 个项目，您选了 %(chosen)s 个。"),
    "too_many": _l("每张选票最多只能选 %(maximum)s 个项目，您选了 %(chosen)s 个，请减少一些。"),
    "over_budget": _l("所选项目合计 %(total)s 元，超过了预算上限 %(budget)s 元，请调整选择。"),
    "under_min_spend": _l(
        "所选项目合计 %(total)s 元，少于本次规则要求的至少 %(minimum)s 元"
        "（预算 %(budget)s 元），请再选一些项目。"
    ),
    "too_many_points": _l("每张选票最多分配 %(maximum)s 分，您分配了 %(spent)s 分，请减少一些。"),
    "negative_points": _l("分数不能为负数。"),
    "points_not_number": _l("分数请填 0 或正整数（不超过 4 位）。"),
    # codes and voting
    "code_format": _l("投票码是 12 位数字，请核对后重新输入。"),
    "code_checksum": _l("投票码有一位数字不对，请对照投票单仔细核对。"),
    "code_revoked": _l("这个投票码已作废（名册显示该居民已迁出）。如有疑问，请带身份证到联络站。"),
    "code_unknown": _l("没有找到这个投票码。请核对投票单；如仍无法使用，请到联络站咨询。"),
    "already_voted": _l("您已经在本次投票中投过票了，每位居民只能投一次。"),
    "round_not_open": _l("现在不能投票：投票尚未开始或已经结束。"),
    # lifecycle
    "invalid_transition": _l("当前状态下不能进行此操作。"),
    "window_order": _l("结束时间必须晚于开始时间。"),
    "early_close_needs_reason": _l("投票期尚未结束，提前结束必须填写理由。"),
    # permissions and conflicts
    "role": _l("您的账号没有这项操作的权限。"),
    "other_station": _l("只能查看和修改本联络站提交的项目。"),
    "other_street": _l("只能处理本街道的事项。"),
    "results_hidden": _l("投票结束后才公布结果。"),
    "candidate_frozen": _l("该项目已审查通过，不能再修改。"),
    "round_frozen": _l("投票已开始，规则和候选名单已冻结，不能再修改。"),
    "round_finalized": _l("议事会已确定结果，本次投票不能再修改。"),
    "round_not_closed": _l("投票结束后才能录入议事会票选结果。"),
    "round_not_issuable": _l("投票已结束，不能再发放投票码。"),
    "concurrent_change": _l("数据刚被其他人修改，请刷新后重试。"),
    "papers_not_counted": _l(
        "还有 %(count)s 张纸质选票未完成双人录入或核对，请先处理完再结束投票。"
    ),
    "participation_ballot_mismatch": _l("参与人数与选票数不一致，已停止计票，请联系技术支持。"),
    # intake and set-up
    "review_reason_required": _l("请写明审查理由。"),
    "community_not_in_street": _l("所选社区不属于本街道。"),
    "scope_empty": _l("请至少选择一个参与社区。"),
    "candidate_not_accepted": _l("只有审查通过的本街道项目才能列入候选名单。"),
    "greedy_needs_budget": _l("“预算内依次入选”和“平均分配（MES）”规则需要填写预算上限。"),
    "knapsack_needs_budget": _l("“预算内选择”的选票需要填写预算上限。"),
    "points_only_cumulative": _l("积分选票必须填写每票总分；其他选票不能填写总分。"),
    "points_below_min_choices": _l("每票总分不能少于“至少选”的项目数。"),
    "min_spend_only_knapsack": _l(
        "“至少用掉预算的百分比”只适用于“预算内选择”的选票，且须在 1 到 100 之间。"
    ),
    "min_spend_unreachable": _l("即使选满最贵的项目也达不到最低花费比例，没有人能投出有效票。"),
    "mes_needs_ballots": _l("平均分配（MES）规则需要逐张选票计算。"),
    "seats_positive": _l("票选项目数至少为 1。"),
    "not_competitive": _l("候选项目数必须多于票选项目数（差额票选）。"),
    "choices_order": _l("“至少选”不能大于“至多选”，且至少为 1。"),
    "choices_exceed_candidates": _l("“至多选”不能超过候选项目数。"),
    "budget_positive": _l("预算上限必须大于 0。"),
    "budget_too_small": _l("预算上限太小，连最便宜的几个项目都放不下，没有人能投出有效票。"),
    "password_too_short": _l("密码至少 %(minimum)s 位。"),
    "username_taken": _l("用户名 %(username)s 已被使用。"),
    "station_role_mismatch": _l("联络站工作人员必须指定所属联络站，其他角色不能指定。"),
    # council
    "no_record": _l("尚未录入议事会会议记录。"),
    "present_range": _l("实到人数不能超过应到人数。"),
    "no_quorum": _l("实到人数未超过应到人数的三分之二，会议不足法定人数。"),
    "votes_range": _l("某个项目的议事会得票超过了实到人数。"),
    "votes_total": _l("议事会总票数超过了“实到人数 × 票选项目数”。"),
    "seat_count": _l("议事会票选的项目数必须等于预定的项目数。"),
    "votes_not_number": _l("议事会得票须为 0 或正整数，以下项目填写有误："),
    "reason_required": _l("议事会结果与公开投票结果不一致之处，必须写明理由。"),
    # roll
    "roll_encoding": _l(
        "文件不是 UTF-8 编码的 CSV，请在 Excel 中另存为“CSV UTF-8”，或直接使用 Excel（.xlsx）文件。"
    ),
    "roll_empty": _l("文件是空的。"),
    "roll_missing_columns": _l("文件缺少必需的列：姓名、身份证号、社区。"),
    "id_length": _l("身份证号应为 18 位"),
    "id_chars": _l("身份证号含有无效字符"),
    "id_birth_date": _l("身份证号中的出生日期无效"),
    "id_checksum": _l("身份证号校验位不正确"),
    "phone_format": _l("手机号应为 11 位数字"),
    "name_missing": _l("缺少姓名"),
    "unknown_community": _l("社区名称不在本街道的社区列表中"),
    "duplicate_in_file": _l("与文件中第 %(first)s 行的身份证号重复"),
}

# The channels' and the roll import's own sentences live beside their views.
MESSAGES.update(DESK_MESSAGES)
MESSAGES.update(PHONE_MESSAGES)
MESSAGES.update(PHOTO_MESSAGES)
MESSAGES.update(ROLL_MESSAGES)
MESSAGES.update(COUNCIL_MESSAGES)
MESSAGES.update(SUPERVISION_MESSAGES)

CHANNELS = {"code": _l("投票码"), "sms": _l("手机验证码"), "station": _l("联络站现场")}


def message_for(code: str, **params: Any) -> str:
    """The sentence for an error code; unknown codes get a generic sentence."""
    template = MESSAGES.get(code)
    if template is None:
        return _("操作未能完成（%(code)s）。", code=code)
    try:
        return str(template) % params if params else str(template)
    except (KeyError, TypeError, ValueError):
        return str(template)


def describe(error: VotingError) -> str:
    """The sentence for a domain error, using its parameters."""
    simple = {k: v for k, v in error.params.items() if isinstance(v, str | int)}
    return message_for(error.code, **simple)


def describe_all(error: VotingError) -> list[str]:
    """One sentence per problem for errors that carry a list of problems."""
    problems = error.params.get("problems")
    if not problems:
        return [describe(error)]
    return [message_for(p[0] if isinstance(p, tuple) else p) for p in problems]
