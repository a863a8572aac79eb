"""Sentences for the station desk's error codes (merged into ``messages.MESSAGES``)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

DESK_MESSAGES: dict[str, Any] = {
    # check-in
    "desk_round_unknown": _l("没有找到这次投票活动。"),
    "desk_not_on_roll": _l(
        "本街道的居民名册中没有这个身份证号。请对照身份证再核对一遍；"
        "如确属本街道居民，请联系街道人大工委核实名册。"
    ),
    "desk_moved_out": _l("该居民在名册中已标记为迁出，不能参加本次投票。"),
    "desk_out_of_scope": _l("该居民所在社区不在本次投票的范围内。"),
    "desk_already_voted": _l("该居民已经在本次投票中投过票了，每位居民只能投一次。"),
    "desk_round_not_voting": _l("现在不在投票时间内，不能登记。"),
    "desk_assist_incomplete": _l(
        "有人协助时，请同时填写协助人姓名和协助原因；无人协助则两项都不填。"
    ),
    "desk_assist_too_long": _l("协助人姓名最多 %(helper)s 个字，协助原因最多 %(reason)s 个字。"),
    "desk_lookup_expired": _l("核对信息已过期（超过 15 分钟）或无效，请重新输入身份证号查询。"),
    # paper ballots
    "paper_serial_format": _l(
        "选票编号应为 1 至 %(maximum)s 位的字母、数字或“-”，请对照纸质选票上印的编号输入。"
    ),
    "paper_invalid_with_choices": _l("已勾选“废票”，请不要再勾选项目。"),
    "paper_too_many": _l(
        "这张选票选了 %(chosen)s 项，超过了最多可选的 %(maximum)s 项。"
        "按投票规则这是废票：请勾选“废票”后重新录入。"
    ),
    "paper_too_few": _l(
        "这张选票选了 %(chosen)s 项，少于至少应选的 %(minimum)s 项。"
        "按投票规则这是废票：请勾选“废票”后重新录入。"
    ),
    "paper_over_budget": _l(
        "这张选票所选项目合计 %(total)s 元，超过了预算上限 %(budget)s 元。"
        "按投票规则这是废票：请勾选“废票”后重新录入。"
    ),
    "paper_under_min_spend": _l(
        "这张选票所选项目合计 %(total)s 元，少于规则要求的至少 %(minimum)s 元。"
        "按投票规则这是废票：请勾选“废票”后重新录入。"
    ),
    "paper_cumulative": _l(
        "本次投票为积分投票，只能在手机上投票，不录入纸质选票。"
        "请协助居民在联络站的设备上用投票码投票。"
    ),
    "paper_duplicate_choice": _l("同一个项目只能勾选一次。"),
    "paper_unknown_candidate": _l("所选项目不在本次投票的候选名单中，请刷新页面后重新录入。"),
    "paper_same_staff": _l(
        "您已经录入过编号 %(serial)s 的选票。同一张选票的两次录入必须由两位不同的工作人员完成，"
        "请交给另一位同事录入。"
    ),
    "paper_already_counted": _l("编号 %(serial)s 的选票已经计入结果，不能再次录入。"),
    "paper_in_reconciliation": _l(
        "编号 %(serial)s 的选票两次录入不一致，已转街道人大工委核对，不能再录入。"
    ),
    "paper_not_in_reconciliation": _l("编号 %(serial)s 的选票不在待核对列表中。"),
    "paper_note_required": _l("请写明核对说明（例如：核对原件，第 2 次录入漏选一项）。"),
    "paper_note_too_long": _l("核对说明最多 %(maximum)s 个字。"),
    "paper_round_closed": _l("本次投票已经结束并计票，不能再录入纸质选票。"),
    "paper_round_not_started": _l("本次投票尚未开始，不能录入纸质选票。"),
}
