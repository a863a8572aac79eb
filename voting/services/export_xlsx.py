"""The officials' XLSX workbook of a round: one sheet per view of the result.

Written with openpyxl's write-only mode into a spooled temporary file: the workbook grows
with candidates, communities and days, never with ballots — no query here loads a ballot
(the counts come from the tally, the breakdowns from GROUP BY queries on participation).
Breakdowns carry the public page's suppression: a file travels further than a page.
Every text cell is neutralised against formula injection, as in the CSV export.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as XlCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from ..domain.breakdowns import Cell
from ..domain.lifecycle import RoundStatus
from ..models import StaffUser
from . import audit
from ._tx import begin_write, commit
from .breakdowns import Breakdowns, round_breakdowns
from .results import RoundResults, neutralize, round_results

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Kept in memory up to this size, then on disk: either way memory does not follow ballots.
SPOOL_BYTES = 4 * 1024 * 1024
PERCENT = "0.0%"
BOLD = Font(bold=True)


def record_export(actor: StaffUser, round_id: int, *, now: datetime) -> None:
    """Put the export in the audit chain (its own small unit of work)."""
    begin_write()
    audit.record(actor, "tally.exported", ("round", round_id), {"format": "xlsx"}, now=now)
    commit()


def round_workbook(round_id: int, *, actor_name: str, now: datetime, zone: tzinfo) -> IO[bytes]:
    """The workbook, rewound, in a spooled temporary file the caller sends and closes."""
    results = round_results(round_id, staff=True)
    parts = round_breakdowns(results.round, zone=zone, now=now)
    book = Workbook(write_only=True)
    _summary(_sheet(book, _("概况"), (14, 70)), results, parts, actor_name, now, zone)
    _candidates(_sheet(book, _("候选项目"), (6, 8, 30, 14, 14, 8, 8, 10, 10, 12)), results)
    _communities(_sheet(book, _("社区"), (16, 10, 10, 10)), parts)
    _channels(_sheet(book, _("渠道"), (20, 10, 10)), parts)
    _days(_sheet(book, _("日期"), (14, 10, 10)), parts)
    _council(_sheet(book, _("议事会"), (10, 30, 12, 12, 40)), results)
    out = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response
    book.save(out)
    out.seek(0)
    return out


def _sheet(book: Workbook, title: str, widths: Sequence[int]) -> WriteOnlyWorksheet:
    sheet = book.create_sheet(title)
    for i, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    return sheet


def _cell(sheet: WriteOnlyWorksheet, value: Any, *, bold: bool = False, fmt: str = "") -> Any:
    """A cell; text is neutralised and stored as a string, never as a formula."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=neutralize(value))
        cell.data_type = "s"
    else:
        cell = WriteOnlyCell(sheet, value=value)
    if bold:
        cell.font = BOLD
    if fmt:
        cell.number_format = fmt
    return cell


def _row(sheet: WriteOnlyWorksheet, values: Iterable[Any], *, bold: bool = False) -> None:
    sheet.append([v if isinstance(v, XlCell) else _cell(sheet, v, bold=bold) for v in values])


def _pct(sheet: WriteOnlyWorksheet, value: float | None) -> Any:
    return _cell(sheet, _("不公布")) if value is None else _cell(sheet, value, fmt=PERCENT)


def _count(sheet: WriteOnlyWorksheet, cell: Cell[Any]) -> Any:
    return _cell(sheet, _("不公布")) if cell.count is None else cell.count


def _local(value: datetime | None, zone: tzinfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


STATUS_LABELS = {
    RoundStatus.DRAFT: _l("草稿"),
    RoundStatus.OPEN: _l("投票中"),
    RoundStatus.CLOSED: _l("投票已结束"),
    RoundStatus.FINALIZED: _l("议事会已票选"),
}
RULE_LABELS = {
    "top_n": _l("排名前 %(n)s 项"),
    "greedy": _l("预算内按排名依次入选，最多 %(n)s 项"),
    "mes": _l("平均分配法（MES），最多 %(n)s 项"),
    "mes_greedy": _l("平均分配法（MES）后按得票补选，最多 %(n)s 项"),
    "mes_add1": _l("平均分配法（MES，逐元提高份额），最多 %(n)s 项"),
    "mes_add1_greedy": _l("平均分配法（MES，逐元提高份额）后按得票补选，最多 %(n)s 项"),
}


def _summary(
    sheet: WriteOnlyWorksheet,
    results: RoundResults,
    parts: Breakdowns,
    actor_name: str,
    now: datetime,
    zone: tzinfo,
) -> None:
    rnd = results.round
    window = f"{_local(rnd.opens_at, zone)} — {_local(rnd.closes_at, zone)}"
    rows: list[tuple[str, Any]] = [
        (_("投票活动"), rnd.title),
        (_("状态"), str(STATUS_LABELS[rnd.status_enum])),
        (_("投票时间（北京时间）"), window),
        (_("实际结束时间"), _local(rnd.closed_at, zone)),
        (_("建议名单规则"), str(RULE_LABELS[rnd.outcome_rule]) % {"n": rnd.seats}),
        (_("预算（元）"), rnd.budget_yuan if rnd.budget_yuan is not None else ""),
        (_("计票方式"), _("结束后计票") if results.final else _("实时计数")),
        (_("有效选票"), results.ballots),
        (_("名册人数"), parts.eligible),
        (_("参与人数"), parts.participants),
        (_("参与率"), _cell(sheet, parts.turnout, fmt=PERCENT)),
        (_("计票摘要（SHA-256）"), rnd.tally_digest or _("尚未计票")),
        (_("审计链头哈希"), audit.head_hash()),
        (_("导出人"), actor_name),
        (_("导出时间（北京时间）"), _local(now, zone)),
    ]
    for label, value in rows:
        _row(sheet, [_cell(sheet, label, bold=True), value])


def _candidates(sheet: WriteOnlyWorksheet, results: RoundResults) -> None:
    rnd = results.round
    council = rnd.council is not None
    final = rnd.status_enum is RoundStatus.FINALIZED
    header = [_("排名"), _("投票序号"), _("项目名称"), _("社区"), _("估算金额(元)")]
    header += [_("得票"), _("得票率"), _("规则建议入选")]
    if council:
        header += [_("议事会得票"), _("议事会票选入选")]
    _row(sheet, header, bold=True)
    for line in results.lines:
        e = line.entry
        values: list[Any] = [line.rank, e.position, e.candidate.title, e.candidate.community.name]
        values += [e.candidate.cost_yuan, line.votes, _cell(sheet, line.share, fmt=PERCENT)]
        values += [_("是") if line.selected else ""]
        if council:
            values += ["" if e.council_votes is None else e.council_votes]
            values += [_("是") if e.council_selected and final else ""]
        _row(sheet, values)


def _communities(sheet: WriteOnlyWorksheet, parts: Breakdowns) -> None:
    _row(sheet, [_("社区"), _("名册人数"), _("参与人数"), _("参与率")], bold=True)
    for c in parts.communities:
        _row(sheet, [c.key, c.base, _count(sheet, c), _pct(sheet, c.rate)])
    total = [parts.eligible, parts.participants, _cell(sheet, parts.turnout, fmt=PERCENT)]
    _row(sheet, [_cell(sheet, _("合计"), bold=True), *total])
    _note(sheet, parts.communities)


def _channels(sheet: WriteOnlyWorksheet, parts: Breakdowns) -> None:
    names = {
        "code": _("投票码"),
        "sms": _("手机验证码"),
        "station": _("联络站现场"),
        "assisted": _("其中：工作人员协助"),
        "unassisted": _("其中：本人投票"),
    }
    _row(sheet, [_("渠道"), _("参与人数"), _("占参与人数")], bold=True)
    for c in parts.channels:
        _share_row(sheet, names[c.key], c, parts.participants)
        if c.key == "station":
            for s in parts.station:
                _share_row(sheet, names[s.key], s, parts.participants)
    _note(sheet, [*parts.channels, *parts.station])


def _days(sheet: WriteOnlyWorksheet, parts: Breakdowns) -> None:
    _row(sheet, [_("日期（北京时间）"), _("参与人数"), _("占名册人数")], bold=True)
    for c in parts.days:
        _share_row(sheet, c.key.isoformat(), c, parts.eligible)
    _note(sheet, parts.days)


def _share_row(sheet: WriteOnlyWorksheet, label: str, cell: Cell[Any], whole: int) -> None:
    share = None if cell.count is None else (cell.count / whole if whole else 0.0)
    _row(sheet, [label, _count(sheet, cell), _pct(sheet, share)])


def _note(sheet: WriteOnlyWorksheet, cells: Sequence[Cell[Any]]) -> None:
    if any(c.withheld for c in cells):
        _row(sheet, [])
        _row(sheet, [_("不足 10 人的格不公布；只有一格不公布时，另一格也不公布。")])


def _council(sheet: WriteOnlyWorksheet, results: RoundResults) -> None:
    rnd = results.round
    meeting = rnd.council
    if meeting is None:
        _row(sheet, [_("尚未录入")], bold=True)
        return
    facts: list[tuple[str, Any]] = [
        (_("会议日期"), meeting.held_on.isoformat()),
        (_("地点"), meeting.place),
        (_("应到人数"), meeting.members_expected),
        (_("实到人数"), meeting.members_present),
        (_("决议"), meeting.resolution),
        (_("状态"), _("已定稿") if rnd.status_enum is RoundStatus.FINALIZED else _("未定稿")),
    ]
    for label, value in facts:
        _row(sheet, [_cell(sheet, label, bold=True), value])
    _row(sheet, [])
    _row(
        sheet, [_("投票序号"), _("项目名称"), _("议事会得票"), _("票选入选"), _("理由")], bold=True
    )
    for e in rnd.entries:
        votes = "" if e.council_votes is None else e.council_votes
        chosen = _("是") if e.council_selected else ""
        _row(sheet, [e.position, e.candidate.title, votes, chosen, e.council_reason])
