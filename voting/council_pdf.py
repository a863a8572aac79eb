"""The council meeting's tally sheet (计票结果) as an A4 PDF, for signing.

The meeting's facts (attendance, ballots, tellers), the voting procedure adopted, the public
count beside the council's count for every candidate, the reasons wherever the council
departed from the public ranking, and blank lines for the tellers, scrutineers and chair to
sign. Same fonts, paragraph styles and page set-up as the notice (``pdf_layout``).
"""

from __future__ import annotations

from datetime import datetime

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from .models import CouncilMeeting, VotingRound
from .pdf_layout import GRID, build_a4, local
from .pdf_layout import para as _p

SIGNERS = ("计票人（签名）", "监票人（签名）", "主持人（签名）", "日期")


def _facts(rnd: VotingRound, meeting: CouncilMeeting) -> Table:
    ballots = "—"
    if meeting.ballots_issued is not None:
        ballots = (
            f"{meeting.ballots_issued} / {meeting.ballots_returned} / {meeting.ballots_valid} 张"
        )
    rows = [
        ("会议日期", meeting.held_on.isoformat()),
        ("地点", meeting.place or "—"),
        ("应到 / 实到", f"{meeting.members_expected} 人 / {meeting.members_present} 人"),
        ("发出 / 收回 / 有效选票", ballots),
        ("计票人、监票人", meeting.tellers or "—"),
        ("应选项目", f"{rnd.seats} 项（候选 {len(rnd.entries)} 项，差额票选）"),
    ]
    table = Table([[_p(k, "cell"), _p(v, "cell")] for k, v in rows], colWidths=[45 * mm, None])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _counts(rnd: VotingRound) -> Table:
    header = ["公开排名", "项目（社区）", "公开投票得票", "建议入选", "议事会得票", "票选结果"]
    rows: list[list[object]] = [[_p(h, "cell") for h in header]]
    for e in sorted(rnd.entries, key=lambda x: (x.public_rank or 0, x.position)):
        cells = [
            str(e.public_rank or "—"),
            f"{e.candidate.title}（{e.candidate.community.name}）",
            "—" if e.public_votes is None else f"{e.public_votes:,}",
            "是" if e.rule_selected else "",
            "—" if e.council_votes is None else str(e.council_votes),
            "入选" if e.council_selected else "",
        ]
        rows.append([_p(c, "cell") for c in cells])
    table = Table(rows, colWidths=[16 * mm, None, 24 * mm, 18 * mm, 22 * mm, 18 * mm], repeatRows=1)
    table.setStyle(GRID)
    return table


def _signatures() -> Table:
    rows = [[_p(f"{who}：", "body"), ""] for who in SIGNERS]
    table = Table(rows, colWidths=[40 * mm, 80 * mm], rowHeights=14 * mm, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (1, 0), (1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ]
        )
    )
    return table


def tally_flowables(rnd: VotingRound) -> list[Flowable]:
    meeting = rnd.council
    assert meeting is not None  # noqa: S101 - the view refuses rounds without a record
    parts: list[Flowable] = [
        _p(f"{rnd.street.name}居民议事会议 民生实事项目票选计票结果", "title"),
        _p(rnd.title, "subtitle"),
        _facts(rnd, meeting),
        _p("票决办法", "h2"),
        _p(meeting.procedure or "—"),
        _p("公开投票与议事会得票", "h2"),
        _counts(rnd),
    ]
    explained = [e for e in rnd.entries if e.council_reason]
    if explained:
        parts.append(_p("与公开投票建议不同之处的说明", "h2"))
        parts += [_p(f"{e.candidate.title}：{e.council_reason}") for e in explained]
    if meeting.resolution:
        parts += [_p("决议", "h2"), _p(meeting.resolution)]
    parts += [Spacer(0, 8 * mm), _signatures()]
    return parts


def render_tally_pdf(
    rnd: VotingRound, *, now: datetime, tz: str = "Asia/Shanghai", compress: bool = True
) -> bytes:
    """The tally sheet as an A4 PDF; ``now`` (aware) is printed as the generation time."""

    def content() -> list[Flowable]:
        generated = _p(f"生成时间：{local(now, tz)}（北京时间）", "small")
        return [*tally_flowables(rnd), generated]

    return build_a4(content, title="计票结果", subject=rnd.title, compress=compress)
