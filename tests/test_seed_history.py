"""The demo's finished 2025 round (seeds/kaixuan_2025.json), driven by ``load_seed`` through
the services a street uses: public vote → council meeting → request and second-person
approval → 公示 with an objection filed by phone code and answered → implementation with
milestones → supervision rounds whose suggestions are answered and closed → satisfaction
vote → exports. Then what residents see of it on the public pages. Runs on both databases.
"""

from __future__ import annotations

import random
import re
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select

from voting.domain.satisfaction import Rating
from voting.domain.supervision import ImplementationStatus, SuggestionStatus
from voting.extensions import db
from voting.models import (
    CouncilNotice,
    Implementation,
    Objection,
    RoundCandidate,
    SatisfactionRating,
    Suggestion,
    SupervisionVisit,
    VotingRound,
)
from voting.seeding import load_seed
from voting.services import audit, notice_period, supervision_reports

TAGS = re.compile(r"<[^>]+>")


def _text(client, path: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return re.sub(r"\s+", " ", TAGS.sub(" ", response.get_data(as_text=True)))


def _count(model: type, *where: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_finished_round_runs_from_vote_to_satisfaction_and_exports(app):
    made = load_seed(rng=random.Random(5))
    round_id = made["finished_round"]
    rnd = db.session.get(VotingRound, round_id)

    # The vote and the council's decision, approved by a second person.
    assert rnd.status == "finalized"
    assert rnd.ballot_count == 280  # 70 % of the 400 on the roll
    assert rnd.council.approved_at is not None
    assert rnd.council.finalized_by_id != rnd.council.requested_by_id
    winners = db.session.scalars(
        select(RoundCandidate).where(
            RoundCandidate.round_id == round_id, RoundCandidate.council_selected
        )
    ).all()
    assert len(winners) == 4
    assert all(w.responsible_unit and w.planned_completion for w in winners)
    departures = [w for w in rnd.entries if w.council_selected != bool(w.rule_selected)]
    assert departures  # the council chose 濮家 over 景芳's seats, with written reasons
    assert all(w.council_reason for w in departures)

    # 公示: one objection, filed with a phone code during the period, answered publicly.
    notice = db.session.scalars(
        select(CouncilNotice).where(CouncilNotice.round_id == round_id)
    ).one()
    [objection] = db.session.scalars(select(Objection).where(Objection.round_id == round_id))
    assert notice.published_at < objection.filed_at < notice.objections_close_at
    assert objection.answer.startswith("已会同社区和物业现场踏勘")
    assert notice_period.implementation_open(rnd)

    # Implementation: every project completed, its milestones reached.
    records = db.session.scalars(
        select(Implementation).where(Implementation.round_id == round_id)
    ).all()
    assert [r.status for r in records] == [ImplementationStatus.COMPLETED.value] * 4
    assert all(r.progress_percent == 100 and r.actual_completion for r in records)
    assert all(m.done_on for r in records for m in r.milestones)

    # Supervision: five rounds (two on one project), six suggestions, all closed.
    ids = [r.id for r in records]
    assert _count(SupervisionVisit, SupervisionVisit.implementation_id.in_(ids)) == 5
    statuses = db.session.scalars(select(Suggestion.status)).all()
    assert statuses == [SuggestionStatus.CLOSED.value] * 6

    # Satisfaction: graded by the street's rule (满意 > ½ → 满意; 满意+基本满意 > ½ → 基本满意).
    grades = dict(
        db.session.execute(
            select(SatisfactionRating.implementation_id, SatisfactionRating.grade)
        ).all()
    )
    corner = next(r.id for r in records if r.entry.candidate.title == "新风社区道路拐角拓宽")
    assert grades[corner] == Rating.BASIC.value  # 14 of 32 满意, 29 of 32 at least 基本满意
    assert sorted(grades.values()).count(Rating.SATISFIED.value) == 3

    # Exports: the 满意度测评表 and the completion report read back with the figures.
    with supervision_reports.satisfaction_workbook(round_id) as stream:
        sheet = load_workbook(stream).active
        rows = {r[1]: r for r in sheet.iter_rows(min_row=5, values_only=True) if r[1]}
    assert rows["新风社区道路拐角拓宽"][3:8] == (32, 14, 15, 3, "基本满意")
    with supervision_reports.completion_workbook(round_id, date(2026, 1, 5)) as stream:
        report = load_workbook(stream).active
        cells = [c for row in report.iter_rows(values_only=True) for c in row if c]
    assert "南肖埠社区老旧门窗修葺" in cells
    assert "凯旋街道城建办" in cells

    # Everything above is in the audit chain, which still verifies.
    assert audit.verify_chain()[1] is None


def test_finished_round_shows_on_the_public_pages(app, client):
    made = load_seed(rng=random.Random(5))
    round_id = made["finished_round"]
    record = db.session.scalars(
        select(Implementation)
        .where(Implementation.round_id == round_id)
        .order_by(Implementation.id)
    ).first()

    home = _text(client, "/")
    notice = _text(client, f"/rounds/{round_id}/notice")
    project = _text(client, f"/projects/{record.id}")
    street_id = record.entry.round.street_id
    dashboard = _text(client, f"/streets/{street_id}/supervision")

    assert "2025年凯旋街道民生实事候选项目公开投票" in home
    assert "实施与督办" in home
    assert "公示期已满，项目进入实施" in notice
    assert "充电桩建在8幢南侧空地" in notice  # the objection, without who filed it
    assert "已会同社区和物业现场踏勘" in notice  # and the street's answer
    assert "实施进度与督办情况" in notice
    assert "责任单位：凯旋街道城建办" in notice
    assert "已完工" in project
    assert "议事会满意度测评" in project
    assert "钢筋等材料用围挡围好" in project
    assert "梁晓红" not in project  # participants are counted by kind, never named
    assert "督办 5 次，提出意见建议 6 条，已答复 6 条，已办结 6 条" in dashboard
