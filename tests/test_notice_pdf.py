"""The printable notice as an A4 PDF: Chinese text, the candidates, the council, the hashes.

As in ``test_slips_pdf``, the tests read the PDF made with ``compress=False``: STSong-Light
text is in the content streams as UTF-16BE literal strings, Courier text (the hashes) as
plain ASCII literals.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.closed_rounds import closed_round, finalize
from tests.factories import World
from tests.phone_roll import PEPPER, enrol
from tests.services.test_otp import sent_code
from tests.test_slips_pdf import pdf_literal
from voting.extensions import db
from voting.models import Candidate, CouncilNotice
from voting.notice_pdf import render_notice_pdf
from voting.services import audit, objections
from voting.services.notice import public_notice
from voting.services.sms import MemorySender

GENERATED = datetime(2026, 5, 30, 1, 5, tzinfo=UTC)  # 09:05 in Beijing


@pytest.fixture
def world(app):
    return World()


def render(round_id: int, at: datetime | None = None) -> bytes:
    notice = public_notice(round_id, at)
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


def _object(world: World, round_id: int, at: datetime, *, seed: int, name: str, text: str) -> int:
    """A resident on the roll files ``text`` against the 公示 with a phone code."""
    person, phone = enrol(world, seed=seed, name=name), MemorySender()
    challenge = objections.request_code(
        round_id, person.name, person.id_number, person.phone, pepper=PEPPER, sender=phone, now=at
    )
    code = sent_code(phone.messages[-1][1])
    return objections.file_objection(challenge, code, text, pepper=PEPPER, now=at)


def _finalized_with_objections(world: World, now: datetime) -> tuple[int, datetime]:
    rnd = closed_round(world, now)
    a, b, c = (x.id for x in world.candidates[:3])
    finalize(world, rnd.id, now, selected={a, c}, reasons={b: "已列入区级计划", c: "需求迫切"})
    at = now + timedelta(days=16)  # the day after approval, inside the period
    _object(world, rnd.id, at, seed=21, name="赵异议", text="停车位选址离学校太近，存在安全隐患。")
    _object(world, rnd.id, at, seed=22, name="钱异议", text="座椅应放在公园入口附近。")
    objections.answer(world.official, rnd.id, 1, "已请规划部门复核选址。", now=at)
    return rnd.id, at


def test_notice_pdf_finalized_winners_with_cost_target_unit_completion(world, now):
    round_id, at = _finalized_with_objections(world, now)

    pdf = render(round_id, at)

    for text in (
        "增设停车位（南肖埠社区）",
        "28万元",  # 280,000 yuan, in 万元
        "3.2万元",
        "目标",
        "责任单位",
        "计划完成",
        "新增停车位30个",
        "凯旋街道城管科",
        "2026-11-24",  # held on 2026-05-28, completion 180 days later
    ):
        assert shows(pdf, text), text


def test_notice_pdf_finalized_public_and_council_counts_and_ballots(world, now):
    round_id, at = _finalized_with_objections(world, now)

    pdf = render(round_id, at)

    for text in (
        "有效选票",
        "6 张",  # six public ballots
        "名册人数",
        "参与率",
        "应到 30 人，实到 25 人。",
        "发出选票 25 张，收回 25 张，有效 24 张。",
        "计票人、监票人：王计票、李监票",
        "议事会得票",
    ):
        assert shows(pdf, text), text


def test_notice_pdf_period_open_then_over_status(world, now):
    round_id, at = _finalized_with_objections(world, now)
    closes = db.session.get(CouncilNotice, round_id).objections_close_at

    running = render(round_id, at)
    over = render(round_id, closes + timedelta(seconds=1))

    assert shows(running, "公示开始：2026-05-27 10:30")  # approval, Beijing time
    assert shows(running, "异议截止：2026-06-04 00:00")  # midnight after the 5th working day
    assert shows(running, "异议期：5 个工作日（周六、周日不计）。")
    assert shows(running, "状态：公示中，接受异议。公示期满后项目进入实施。")
    assert not shows(running, "状态：公示期已满，项目进入实施。")
    assert shows(over, "状态：公示期已满，项目进入实施。")


def test_notice_pdf_objections_with_answers_never_the_filer(world, now):
    round_id, at = _finalized_with_objections(world, now)

    pdf = render(round_id, at)

    assert shows(pdf, "异议与答复")
    assert shows(pdf, "第 1 条异议（2026-05-28 10:30）")
    assert shows(pdf, "停车位选址离学校太近，存在安全隐患。")
    assert shows(pdf, "答复（2026-05-28 10:30）：")
    assert shows(pdf, "已请规划部门复核选址。")
    assert shows(pdf, "第 2 条异议（2026-05-28 10:30）")
    assert shows(pdf, "座椅应放在公园入口附近。")
    assert shows(pdf, "尚未答复。")
    for name in ("赵异议", "钱异议"):
        assert pdf_literal(name) not in pdf


def test_notice_pdf_finalized_prints_head_stored_at_approval(world, now):
    round_id, at = _finalized_with_objections(world, now)
    stored = db.session.get(CouncilNotice, round_id).head_hash

    pdf = render(round_id, at)

    assert stored != audit.head_hash()  # the objections and the answer came after
    assert f"({stored}) Tj".encode() in pdf
    assert f"({audit.head_hash()}) Tj".encode() not in pdf
    assert shows(pdf, "审计链头哈希（确认票选结果、发布公示时）：")


def test_notice_pdf_finalized_without_objections_says_none(world, now):
    rnd = closed_round(world, now)
    a, b, c = (x.id for x in world.candidates[:3])
    finalize(world, rnd.id, now, selected={a, c}, reasons={b: "另有安排", c: "需求迫切"})

    pdf = render(rnd.id, now + timedelta(days=16))

    assert shows(pdf, "目前没有收到异议。")
