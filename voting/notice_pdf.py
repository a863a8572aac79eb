"""The printable notice (公示) of a closed round as an A4 PDF, in Chinese.

Title, voting window, ballots against the roll, the candidates with their public votes and
rank, the council's decision once finalized (the selected projects, the council's votes and
its reasons wherever it departed from the public ranking), the tally digest and the audit
head hash to check the record against, and when the PDF was generated. Chinese text uses the
built-in CID font STSong-Light, as the voting-code slips do (``slips_pdf``): no font file.
Layout is reportlab's platypus, so a long candidate list flows onto further pages with the
table header repeated.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
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

from .services.notice import Notice
from .slips_pdf import CJK_FONT, ZONE_LABELS, register_fonts, window_text
from .views.filters import yuan

HASH_FONT = "Courier"
MARGIN = 18 * mm
PAGE_W, PAGE_H = A4


def _style(name: str, size: float, **kw: object) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=CJK_FONT, fontSize=size, leading=size * 1.45, wordWrap="CJK", **kw
    )


STYLES = {
    "title": _style("title", 17, alignment=TA_CENTER, spaceAfter=3 * mm),
    "subtitle": _style("subtitle", 11, alignment=TA_CENTER, spaceAfter=5 * mm),
    "h2": _style("h2", 12.5, spaceBefore=5 * mm, spaceAfter=2 * mm, keepWithNext=1),
    "body": _style("body", 10.5, spaceAfter=1.5 * mm),
    "cell": _style("cell", 9),
    "small": _style("small", 8.5, textColor=colors.HexColor("#333333")),
    "hash": ParagraphStyle("hash", fontName=HASH_FONT, fontSize=8, leading=11),
}


def _p(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped: titles and reasons are not markup)."""
    return Paragraph(escape(text), STYLES[style])


def _local(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


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
        rows.append((_("计票时间"), _local(rnd.closed_at, tz)))
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
        widths += [18 * mm, 15 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


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
        _p(
            _(
                "会议日期：%(d)s；地点：%(p)s；应到 %(e)s 人，实到 %(a)s 人。",
                d=meeting.held_on.isoformat(),
                p=meeting.place or "—",
                e=meeting.members_expected,
                a=meeting.members_present,
            )
        ),
        _p(
            _(
                "经公开投票和居民议事会议票选，以下 %(n)s 个项目确定为民生实事项目：",
                n=len(notice.winners),
            )
        ),
    ]
    for number, line in enumerate(notice.winners, start=1):
        c = line.entry.candidate
        parts.append(
            _p(
                _(
                    "%(i)s. %(t)s（%(c)s，估算 %(y)s）：公开投票第 %(r)s 名，议事会得票 %(v)s",
                    i=number,
                    t=c.title,
                    c=c.community.name,
                    y=yuan(c.cost_yuan),
                    r=line.rank,
                    v="—" if line.entry.council_votes is None else line.entry.council_votes,
                )
            )
        )
    if meeting.resolution:
        parts += [_p(_("决议"), "h2"), _p(meeting.resolution)]
    if notice.reasons:
        parts.append(_p(_("与公开投票建议不同之处的说明"), "h2"))
        parts += [_p(f"{e.candidate.title}：{e.council_reason}") for e in notice.reasons]
    return parts


def _integrity(notice: Notice, base_url: str) -> Flowable:
    """The hashes and how to check them, kept on one page."""
    rnd = notice.round
    link = f"{base_url.rstrip('/')}/rounds/{rnd.id}/open-data.zip"
    block: list[Flowable] = [
        _p(_("核验"), "h2"),
        _p(_("计票摘要（SHA-256，投票结束时封存）："), "small"),
        Paragraph(rnd.tally_digest or "—", STYLES["hash"]),
        _p(_("审计链头哈希（生成本公示时）："), "small"),
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
    register_fonts()
    footer = _("生成时间：%(t)s（%(zone)s）", t=_local(now, tz), zone=ZONE_LABELS.get(tz, tz))
    title = _title(notice)

    def decorate(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(CJK_FONT, 8)
        canvas.setFillGray(0.3)
        canvas.drawString(MARGIN, MARGIN / 2, footer)
        page = _("第 %(n)s 页", n=doc.page)
        canvas.drawRightString(PAGE_W - MARGIN, MARGIN / 2, page)
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author="民生实事票决",
        subject=notice.round.title,
        creator="民生实事票决",
        lang="zh-CN",
        pageCompression=1 if compress else 0,
    )
    doc.build(
        list(notice_flowables(notice, tz=tz, base_url=base_url)),
        onFirstPage=decorate,
        onLaterPages=decorate,
    )
    return buffer.getvalue()
