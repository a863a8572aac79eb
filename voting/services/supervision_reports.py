"""The 满意度测评表 and the completion report of a round, as rows and as XLSX workbooks.

Rows are built once and serve the printable pages and the workbooks alike. No personal
data: projects, units, dates, money, counts and grades only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from tempfile import SpooledTemporaryFile
from typing import IO

from openpyxl import Workbook

from ..domain.satisfaction import Rating
from ..domain.supervision import ImplementationStatus, SuggestionCounts
from ..extensions import db
from ..models import Implementation, StaffUser, VotingRound
from . import audit
from ._tx import begin_write, commit
from .export_xlsx import SPOOL_BYTES, _row, _sheet
from .implementation import ensure_implementable
from .rounds import load_round
from .satisfaction import completed_records, meeting_of
from .supervision import counts

GRADE_LABELS = {Rating.SATISFIED: "满意", Rating.BASIC: "基本满意", Rating.DISSATISFIED: "不满意"}
STATUS_LABELS = {
    ImplementationStatus.PLANNED: "未开工",
    ImplementationStatus.IN_PROGRESS: "实施中",
    ImplementationStatus.COMPLETED: "已完工",
}


@dataclass(frozen=True)
class SatisfactionRow:
    title: str
    unit: str
    present: int | None
    satisfied: int | None
    basic: int | None
    dissatisfied: int | None
    grade: Rating | None


@dataclass(frozen=True)
class SatisfactionSheet:
    round: VotingRound
    held_on: date | None
    place: str
    present: int | None
    rows: list[SatisfactionRow]


def finalized_round(round_id: int) -> VotingRound:
    """The round, if the council's decision is final (Conflict otherwise, 404 if missing)."""
    rnd = load_round(round_id)
    ensure_implementable(rnd)
    return rnd


def satisfaction_sheet(round_id: int) -> SatisfactionSheet:
    """Each completed project with the council's counts and grade (blank if not yet rated)."""
    rnd = finalized_round(round_id)
    meeting = meeting_of(round_id)
    ratings = {r.implementation_id: r for r in meeting.ratings} if meeting else {}
    titles = {e.candidate_id: e.candidate.title for e in rnd.entries}
    rows = []
    for record in completed_records(round_id):
        r = ratings.get(record.id)
        rows.append(
            SatisfactionRow(
                titles[record.candidate_id],
                record.responsible_unit,
                r.members_present if r else None,
                r.satisfied if r else None,
                r.basic if r else None,
                r.dissatisfied if r else None,
                r.grade_enum if r else None,
            )
        )
    return SatisfactionSheet(
        rnd,
        meeting.held_on if meeting else None,
        meeting.place if meeting else "",
        meeting.members_present if meeting else None,
        rows,
    )


@dataclass(frozen=True)
class CompletionRow:
    title: str
    unit: str
    status: ImplementationStatus | None
    progress: int | None
    planned_completion: date | None
    actual_completion: date | None
    budget_yuan: int
    spent_yuan: int | None
    supervision: SuggestionCounts
    grade: Rating | None


def completion_report(round_id: int, today: date) -> tuple[VotingRound, list[CompletionRow]]:
    """Every selected project of the round: plan against outcome, money, supervision, grade."""
    rnd = finalized_round(round_id)
    records = {
        (r.candidate_id): r
        for r in db.session.scalars(
            db.select(Implementation).where(Implementation.round_id == round_id)
        )
    }
    figures = counts([r.id for r in records.values()], today)
    meeting = meeting_of(round_id)
    grades = {r.implementation_id: r.grade_enum for r in meeting.ratings} if meeting else {}
    rows = []
    for entry in (e for e in rnd.entries if e.council_selected):
        record = records.get(entry.candidate_id)
        rows.append(
            CompletionRow(
                entry.candidate.title,
                record.responsible_unit if record else "",
                record.status_enum if record else None,
                record.progress_percent if record else None,
                record.planned_completion if record else None,
                record.actual_completion if record else None,
                entry.candidate.cost_yuan,
                record.budget_spent_yuan if record else None,
                figures.per_project.get(record.id, SuggestionCounts())
                if record
                else SuggestionCounts(),
                grades.get(record.id) if record else None,
            )
        )
    return rnd, rows


def record_export(actor: StaffUser, round_id: int, kind: str, *, now: datetime) -> None:
    """Put the export in the audit chain (its own small unit of work)."""
    begin_write()
    audit.record(actor, "supervision.exported", ("round", round_id), {"kind": kind}, now=now)
    commit()


def _save(book: Workbook) -> IO[bytes]:
    out = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response
    book.save(out)
    out.seek(0)
    return out


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def satisfaction_workbook(round_id: int) -> IO[bytes]:
    """The 满意度测评表 as one sheet, rewound, for the caller to send and close."""
    data = satisfaction_sheet(round_id)
    book = Workbook(write_only=True)
    sheet = _sheet(book, "满意度测评表", (6, 30, 30, 10, 10, 10, 10, 12))
    _row(sheet, [data.round.title, "满意度测评表"], bold=True)
    _row(sheet, ["测评日期", _day(data.held_on), "地点", data.place])
    _row(sheet, [])
    _row(
        sheet,
        ["序号", "项目", "责任单位", "实到人数", "满意", "基本满意", "不满意", "测评结果"],
        bold=True,
    )
    for i, row in enumerate(data.rows, start=1):
        grade = GRADE_LABELS[row.grade] if row.grade else "未测评"
        _row(
            sheet,
            [
                i,
                row.title,
                row.unit,
                row.present,
                row.satisfied,
                row.basic,
                row.dissatisfied,
                grade,
            ],
        )
    return _save(book)


def completion_workbook(round_id: int, today: date) -> IO[bytes]:
    """The completion report as one sheet, rewound, for the caller to send and close."""
    rnd, rows = completion_report(round_id, today)
    book = Workbook(write_only=True)
    widths = (6, 30, 26, 10, 8, 12, 12, 12, 12, 8, 8, 8, 8, 8, 10)
    sheet = _sheet(book, "完成情况", widths)
    _row(sheet, [rnd.title, "民生实事项目完成情况报告", f"统计日期 {today.isoformat()}"], bold=True)
    _row(sheet, [])
    header = [
        "序号", "项目", "责任单位", "状态", "进度%", "计划完工", "实际完工", "预算（元）",
        "已支出（元）", "督办次数", "建议", "已答复", "已办结", "逾期", "满意度",
    ]  # fmt: skip
    _row(sheet, header, bold=True)
    for i, row in enumerate(rows, start=1):
        s = row.supervision
        _row(
            sheet,
            [
                i, row.title, row.unit,
                STATUS_LABELS[row.status] if row.status else "未建档",
                row.progress, _day(row.planned_completion), _day(row.actual_completion),
                row.budget_yuan, row.spent_yuan,
                s.rounds, s.suggestions, s.answered, s.closed, s.overdue,
                GRADE_LABELS[row.grade] if row.grade else "",
            ],
        )  # fmt: skip
    return _save(book)
