"""The printable notice (公示) of a closed round as an A4 PDF, in Chinese.

Title, voting window, ballots against the roll, the candidates with their public votes and
rank, and the tally digest and audit head hash to check the record against. Once the
council's decision is approved it carries what the notice page carries: the selected
projects with cost, target, responsible unit and planned completion; the meeting's counts
and ballot figures; the objection period and whether it is still open; the objections with
their answers (never who filed them); and the head hash stored at approval. Layout is
reportlab's platypus (``pdf_layout``), so long lists flow onto further pages with table
headers repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .models import CouncilMeeting, CouncilNotice, Objection
from .pdf_layout import GRID, MARGIN, PAGE_W, STYLES, build_a4, local
from .pdf_layout import para as _p
from .services.notice import Notice
from .slips_pdf import CJK_FONT, ZONE_LABELS, window_text
from .views.filters import yuan


def _title(notice: Notice) -> str:
    street = notice.round.street.name
    if notice.finalized:
        return str(_("%(street)s民生实事项目票选结果公示", street=street))
    return str(_("%(street)s民生实事候选项目公开投票结果", street=street))


def _facts(notice: Notice, tz: str) -> Table:
    rnd, results = notice.round, notice.results
    zone = ZONE_LABELS.get(tz, tz)
    rows = [
        (_("投票时间（%(zone)s）", zone=zone), window_text(rnd.opens_at, rnd.closes_at, tz)),
        (_("有效选票"), _("%(n)s 张", n=f"{results.ballots:,}")),
        (_("名册人数"), _("%(n)s 人", n=f"{results.eligible:,}")),
        (_("参与率"), f"{results.turnout_share * 100:.1f}%"),
    ]
    if rnd.closed_at is not None:
        rows.append((_("计票时间"), local(rnd.closed_at, tz)))
    table = Table(
        [[_p(k, "cell"), _p(v, "cell")] for k, v in rows], colWidths=[38 * mm, None], hAlign="LEFT"
    )
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )
    return table


def _results_table(notice: Notice) -> Table:
    council = notice.finalized
    header = [_("排名"), _("项目（社区）"), _("估算金额"), _("得票"), _("得票率"), _("规则建议")]
    if council:
        header += [_("议事会得票"), _("票选结果")]
    rows: list[list[object]] = [[_p(h, "cell") for h in header]]
    for line in notice.results.lines:
        c = line.entry.candidate
        row = [
            str(line.rank),
            f"{c.title}（{c.community.name}）",
            yuan(c.cost_yuan),
            f"{line.votes:,}",
            f"{line.share * 100:.1f}%",
            _("建议入选") if line.selected else "",
        ]
        if council:
            votes = line.entry.council_votes
            row += [
                "—" if votes is None else str(votes),
                _("入选") if line.entry.council_selected else "",
            ]
        rows.append([_p(cell, "cell") for cell in row])
    widths = [10 * mm, None, 20 * mm, 17 * mm, 15 * mm, 18 * mm]
    if council:
        widths += [21 * mm, 15 * mm]  # "议事会得票" on one line
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(GRID)
    return table


def _winners_table(notice: Notice) -> Table:
    """The selected projects with what the council committed to: target, unit, date."""
    header = [_("序号"), _("项目（社区）"), _("估算金额"), _("目标"), _("责任单位"), _("计划完成")]
    rows: list[list[object]] = [[_p(h, "cell") for h in header]]
    for number, line in enumerate(notice.winners, start=1):
        entry, c = line.entry, line.entry.candidate
        done = entry.planned_completion
        cells = [
            str(number),
            f"{c.title}（{c.community.name}）",
            yuan(c.cost_yuan),
            entry.target or c.target or "—",
            entry.responsible_unit or "—",
            done.isoformat() if done else "—",
        ]
        rows.append([_p(cell, "cell") for cell in cells])
    widths = [10 * mm, None, 20 * mm, 40 * mm, 30 * mm, 22 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(GRID)
    return table


def _meeting_lines(meeting: CouncilMeeting) -> list[Flowable]:
    lines = [
        _p(
            _(
                "会议日期：%(d)s；地点：%(p)s；应到 %(e)s 人，实到 %(a)s 人。",
                d=meeting.held_on.isoformat(),
                p=meeting.place or "—",
                e=meeting.members_expected,
                a=meeting.members_present,
            )
        )
    ]
    if meeting.ballots_issued is not None:
        lines.append(
            _p(
                _(
                    "发出选票 %(i)s 张，收回 %(r)s 张，有效 %(v)s 张。",
                    i=meeting.ballots_issued,
                    r=meeting.ballots_returned,
                    v=meeting.ballots_valid,
                )
            )
        )
    if meeting.tellers:
        lines.append(_p(_("计票人、监票人：%(t)s", t=meeting.tellers)))
    return lines


def _council(notice: Notice) -> list[Flowable]:
    meeting = notice.council
    if meeting is None:
        return [
            _p(_("居民议事会议"), "h2"),
            _p(
                _(
                    "公开投票结果是居民议事会议票选的重要依据之一，最终项目由议事会票选产生，届时另行公示。"
                )
            ),
        ]
    parts: list[Flowable] = [
        _p(_("居民议事会议"), "h2"),
        *_meeting_lines(meeting),
        _p(
            _(
                "经公开投票和居民议事会议票选，以下 %(n)s 个项目确定为民生实事项目：",
                n=len(notice.winners),
            )
        ),
        _winners_table(notice),
    ]
    if meeting.resolution:
        parts += [_p(_("决议"), "h2"), _p(meeting.resolution)]
    if notice.reasons:
        parts.append(_p(_("与公开投票建议不同之处的说明"), "h2"))
        parts += [_p(f"{e.candidate.title}：{e.council_reason}") for e in notice.reasons]
    return parts


def _period(gongshi: CouncilNotice, running: bool, tz: str) -> list[Flowable]:
    """The objection period, from approval to the midnight after its last working day."""
    status = (
        _("状态：公示中，接受异议。公示期满后项目进入实施。")
        if running
        else _("状态：公示期已满，项目进入实施。")
    )
    return [
        _p(_("公示期"), "h2"),
        _p(_("公示开始：%(t)s", t=local(gongshi.published_at, tz))),
        _p(_("异议截止：%(t)s", t=local(gongshi.objections_close_at, tz))),
        _p(_("异议期：%(n)s 个工作日（周六、周日不计）。", n=gongshi.objection_days)),
        _p(status),
    ]


def _objection(objection: Objection, tz: str) -> list[Flowable]:
    parts: list[Flowable] = [
        _p(
            _("第 %(n)s 条异议（%(t)s）", n=objection.number, t=local(objection.filed_at, tz)),
            "h3",
        ),
        _p(objection.body),
    ]
    if objection.answered_at is None:
        return [*parts, _p(_("尚未答复。"), "small")]
    return [
        *parts,
        _p(_("答复（%(t)s）：", t=local(objection.answered_at, tz))),
        _p(objection.answer),
    ]


def _objections(notice: Notice, tz: str) -> list[Flowable]:
    """Each objection with its answer; who filed it is never printed (nor stored in clear)."""
    if notice.gongshi is None:
        return []
    parts: list[Flowable] = [
        *_period(notice.gongshi, notice.objections_open, tz),
        _p(_("异议与答复"), "h2"),
    ]
    if not notice.objections:
        return [*parts, _p(_("目前没有收到异议。"))]
    for objection in notice.objections:
        parts += _objection(objection, tz)
    return parts


def _integrity(notice: Notice, base_url: str) -> Flowable:
    """The hashes and how to check them, kept on one page."""
    rnd = notice.round
    link = f"{base_url.rstrip('/')}/rounds/{rnd.id}/open-data.zip"
    head_label = (
        _("审计链头哈希（确认票选结果、发布公示时）：")
        if notice.gongshi
        else _("审计链头哈希（生成本公示时）：")
    )
    block: list[Flowable] = [
        _p(_("核验"), "h2"),
        _p(_("计票摘要（SHA-256，投票结束时封存）："), "small"),
        Paragraph(rnd.tally_digest or "—", STYLES["hash"]),
        _p(head_label, "small"),
        Paragraph(notice.head_hash, STYLES["hash"]),
        Spacer(0, 2 * mm),
        _p(
            _(
                "任何人都可以下载开放数据 %(link)s ，"
                "按其中 README.txt 的说明重新计算计票摘要并核对。",
                link=link,
            ),
            "small",
        ),
    ]
    return KeepTogether(block)


def notice_flowables(notice: Notice, *, tz: str, base_url: str) -> Sequence[Flowable]:
    return [
        _p(_title(notice), "title"),
        _p(notice.round.title, "subtitle"),
        _facts(notice, tz),
        _p(_("公开投票结果"), "h2"),
        _p(
            _("排名规则：得票多者在前；得票相同时，估算金额低者在前；再相同时按候选项目序号。"),
            "small",
        ),
        Spacer(0, 2 * mm),
        _results_table(notice),
        *_council(notice),
        *_objections(notice, tz),
        _integrity(notice, base_url),
    ]


def render_notice_pdf(
    notice: Notice,
    *,
    now: datetime,
    tz: str = "Asia/Shanghai",
    base_url: str = "",
    compress: bool = True,
) -> bytes:
    """The notice as an A4 PDF; ``now`` (aware) is printed as the generation time."""
    footer = _("生成时间：%(t)s（%(zone)s）", t=local(now, tz), zone=ZONE_LABELS.get(tz, tz))

    def decorate(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(CJK_FONT, 8)
        canvas.setFillGray(0.3)
        canvas.drawString(MARGIN, MARGIN / 2, footer)
        page = _("第 %(n)s 页", n=doc.page)
        canvas.drawRightString(PAGE_W - MARGIN, MARGIN / 2, page)
        canvas.restoreState()

    return build_a4(
        lambda: notice_flowables(notice, tz=tz, base_url=base_url),
        title=_title(notice),
        subject=notice.round.title,
        compress=compress,
        on_page=decorate,
    )
