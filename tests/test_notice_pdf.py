"""The printable notice as an A4 PDF: Chinese text, the candidates, the council, the hashes.

As in ``test_slips_pdf``, the tests read the PDF made with ``compress=False``: STSong-Light
text is in the content streams as UTF-16BE literal strings, Courier text (the hashes) as
plain ASCII literals.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from tests.closed_rounds import closed_round, finalize
from tests.factories import World
from tests.test_slips_pdf import pdf_literal
from voting.extensions import db
from voting.models import Candidate
from voting.notice_pdf import render_notice_pdf
from voting.services import audit
from voting.services.notice import public_notice

GENERATED = datetime(2026, 5, 30, 1, 5, tzinfo=UTC)  # 09:05 in Beijing


@pytest.fixture
def world(app):
    return World()


def render(round_id: int) -> bytes:
    notice = public_notice(round_id)
    return render_notice_pdf(notice, now=GENERATED, base_url="http://vote.test", compress=False)


def shows(pdf: bytes, text: str) -> bool:
    return pdf_literal(text) in pdf


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def test_notice_pdf_closed_round_title_window_results_and_hashes(world, now):
    rnd = closed_round(world, now)

    pdf = render(rnd.id)

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4
    assert b"STSong-Light" in pdf
    assert shows(pdf, "凯旋街道民生实事候选项目公开投票结果")
    assert shows(pdf, rnd.title)
    assert shows(pdf, "2026年5月11日 10:30 至 5月25日 10:30")
    assert shows(pdf, "增设停车位（南肖埠社区）")
    assert shows(pdf, "建议入选")
    assert shows(pdf, "最终项目由议事会票选产生")
    assert f"({rnd.tally_digest}) Tj".encode() in pdf
    assert f"({audit.head_hash()}) Tj".encode() in pdf
    assert shows(pdf, "生成时间：2026-05-30 09:05（北京时间）")
    assert pages(pdf) == 1


def test_notice_pdf_finalized_round_council_decision_and_reasons(world, now):
    rnd = closed_round(world, now)
    a, b, c = (x.id for x in world.candidates[:3])
    reasons = {b: "已列入区级计划", c: "老年居民需求迫切"}
    finalize(world, rnd.id, now, selected={a, c}, reasons=reasons)

    pdf = render(rnd.id)

    assert shows(pdf, "凯旋街道民生实事项目票选结果公示")
    assert shows(pdf, "应到 30 人，实到 25 人。")
    assert shows(pdf, "以下 2 个项目确定为民生实事项目：")
    assert shows(pdf, "经议事会票选，确定以下项目。")
    assert shows(pdf, "电动自行车充电桩：已列入区级计划")
    assert shows(pdf, "休闲座椅：老年居民需求迫切")
    assert shows(pdf, "议事会得票")


def test_notice_pdf_title_markup_printed_as_text(world, now):
    title = '<font size="40">大</font> & <b>'
    db.session.execute(
        update(Candidate).where(Candidate.id == world.candidates[0].id).values(title=title)
    )
    db.session.commit()
    rnd = closed_round(world, now)

    pdf = render(rnd.id)

    assert shows(pdf, title + "（南肖埠社区）")


def test_notice_pdf_long_candidate_list_flows_onto_pages_with_header_repeated(app, now):
    world = World(candidates=40)
    rnd = closed_round(world, now, seats=5)

    pdf = render(rnd.id)

    assert pages(pdf) >= 2
    assert shows(pdf, "第 2 页")
    assert pdf.count(pdf_literal("项目（社区）")) >= 2  # the header row, on every table page
