"""The officials' XLSX export: sheets and values read back with openpyxl, formula injection,
who may download it, and that it never reads a ballot row."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from tests.council_records import council_input, request_and_approve
from tests.factories import World, make_staff, make_street
from tests.voters import BALLOT_TABLES, closed_round, issue, statements
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import AuditEvent, Candidate, Community, VotingRound
from voting.services import audit, council, export_xlsx

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHEETS = ["概况", "候选项目", "社区", "渠道", "日期", "议事会"]
MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    return World(candidates=4)


def download(client, round_id: int):  # type: ignore[no-untyped-def]
    response = client.get(f"/official/rounds/{round_id}/export.xlsx")
    assert response.status_code == 200, response.status_code
    return response, load_workbook(io.BytesIO(response.get_data()))


def rows(book, sheet: str) -> list[list[object]]:  # type: ignore[no-untyped-def]
    """The sheet's rows, without the empty cells openpyxl pads short rows with."""
    table = [list(r) for r in book[sheet].iter_rows(values_only=True)]
    for row in table:
        while row and row[-1] is None:
            row.pop()
    return table


def summary(book) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {r[0]: (r[1] if len(r) > 1 else None) for r in rows(book, "概况")}


def test_export_sends_a_workbook_with_a_chinese_file_name(world, browser, now):
    round_id = closed_round(world, now)
    response, book = download(browser(world.official), round_id)
    assert response.mimetype == MIMETYPE
    assert response.content_length == len(response.get_data())
    title = db.session.get(VotingRound, round_id).title
    name = quote(f"{title}（计票与参与情况）.xlsx", safe="")
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=\"round-{round_id}.xlsx\"; filename*=UTF-8''{name}"
    )
    assert book.sheetnames == SHEETS


def test_export_summary_matches_the_round_and_the_audit_chain(world, browser, now):
    round_id = closed_round(world, now)
    _response, book = download(browser(world.official), round_id)
    rnd = db.session.get(VotingRound, round_id)
    facts = summary(book)
    assert facts["投票活动"] == rnd.title
    assert facts["状态"] == "投票已结束"
    assert facts["投票时间（北京时间）"] == "2026-05-11 10:30 — 2026-05-25 10:30"
    assert facts["实际结束时间"] == "2026-05-14 10:30"
    assert facts["建议名单规则"] == "排名前 2 项"
    assert (facts["有效选票"], facts["名册人数"], facts["参与人数"]) == (30, 36, 30)
    assert facts["参与率"] == pytest.approx(30 / 36)
    assert book["概况"]["B11"].number_format == "0.0%"
    assert facts["计票摘要（SHA-256）"] == rnd.tally_digest
    assert len(rnd.tally_digest) == 64
    # The export is itself on the chain, and the file names the chain's head after it.
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (last.action, last.payload) == ("tally.exported", '{"format":"xlsx"}')
    assert facts["审计链头哈希"] == audit.head_hash() == last.hash
    assert facts["导出人"] == world.official.username


def test_export_candidates_communities_channels_and_days(world, browser, now):
    round_id = closed_round(world, now)
    _response, book = download(browser(world.official), round_id)
    nanxiao, jingfang = (c.name for c in world.communities)
    candidates = rows(book, "候选项目")
    assert candidates[0] == [
        "排名",
        "投票序号",
        "项目名称",
        "社区",
        "估算金额(元)",
        "得票",
        "得票率",
        "规则建议入选",
    ]
    assert candidates[1:] == [
        [1, 2, "电动自行车充电桩", jingfang, 120000, 24, pytest.approx(0.8), "是"],
        [2, 1, "增设停车位", nanxiao, 280000, 14, pytest.approx(14 / 30), "是"],
        [3, 3, "休闲座椅", nanxiao, 32000, 6, pytest.approx(0.2)],
        [4, 4, "健身点", jingfang, 450000, 0, 0.0],
    ]
    # The public page's suppression: 6 of 景芳社区 stayed home, so both counts are withheld.
    assert rows(book, "社区")[:4] == [
        ["社区", "名册人数", "参与人数", "参与率"],
        [nanxiao, 18, "不公布", "不公布"],
        [jingfang, 18, "不公布", "不公布"],
        ["合计", 36, 30, pytest.approx(30 / 36)],
    ]
    assert rows(book, "渠道")[:4] == [
        ["渠道", "参与人数", "占参与人数"],
        ["投票码", 30, 1.0],
        ["手机验证码", 0, 0.0],
        ["联络站现场", 0, 0.0],
    ]
    assert rows(book, "社区")[5:] == [["不足 10 人的格不公布；只有一格不公布时，另一格也不公布。"]]
    assert [r[:2] for r in rows(book, "日期")] == [
        ["日期（北京时间）", "参与人数"],
        ["2026-05-11", 0],
        ["2026-05-12", 20],
        ["2026-05-13", 10],
        ["2026-05-14", 0],
    ]
    assert rows(book, "议事会") == [["尚未录入"]]


def test_export_council_sheet_and_columns_once_recorded(world, browser, now):
    round_id = closed_round(world, now)
    rnd = db.session.get(VotingRound, round_id)
    picked = frozenset(e.candidate_id for e in rnd.entries if e.rule_selected)
    votes = {e.candidate_id: (20 if e.candidate_id in picked else 3) for e in rnd.entries}
    data = replace(
        council_input(votes, selected=picked, votes=votes),
        place="议事厅",
        resolution="同意建议名单",
    )
    council.save_record(world.clerk, round_id, data, now=now + timedelta(days=8))
    request_and_approve(world.clerk, world.official, round_id, now=now + timedelta(days=8))
    _response, book = download(browser(world.official), round_id)
    assert summary(book)["状态"] == "议事会已票选"
    candidates = rows(book, "候选项目")
    assert candidates[0][-2:] == ["议事会得票", "议事会票选入选"]
    assert [r[7:] for r in candidates[1:]] == [
        ["是", 20, "是"],
        ["是", 20, "是"],
        [None, 3],
        [None, 3],
    ]
    sheet = rows(book, "议事会")
    assert sheet[:6] == [
        ["会议日期", "2026-05-20"],
        ["地点", "议事厅"],
        ["应到人数", 30],
        ["实到人数", 25],
        ["决议", "同意建议名单"],
        ["状态", "已定稿"],
    ]
    assert sheet[7] == ["投票序号", "项目名称", "议事会得票", "票选入选", "理由"]
    assert [r[:4] for r in sheet[8:]] == [
        [1, "增设停车位", 20, "是"],
        [2, "电动自行车充电桩", 20, "是"],
        [3, "休闲座椅", 3],
        [4, "健身点", 3],
    ]


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://x","点我")', "+1+2", "-3+4", "@SUM(A1)"])
def test_export_neutralises_formulas_in_text_cells(world, browser, now, formula):
    round_id = closed_round(world, now)
    db.session.execute(
        update(Candidate).where(Candidate.id == world.candidates[3].id).values(title=formula)
    )
    db.session.execute(
        update(Community).where(Community.id == world.communities[0].id).values(name=formula)
    )
    db.session.commit()
    _response, book = download(browser(world.official), round_id)
    sheet = book["候选项目"]
    [cell] = [c for c in sheet["C"] if c.value == "'" + formula]
    assert cell.data_type == "s"
    assert [c.value for c in book["社区"]["A"]][1] == "'" + formula
    for name in SHEETS:
        for row in book[name].iter_rows():
            for c in row:
                assert c.data_type != "f", (name, c.coordinate, c.value)
                assert not (isinstance(c.value, str) and c.value[:1] in "=+-@"), (name, c.value)


def test_export_is_for_officials_of_the_round_street_only(world, browser, now):
    round_id = closed_round(world, now)
    path = f"/official/rounds/{round_id}/export.xlsx"
    anonymous = browser().get(path)
    assert anonymous.status_code == 302
    assert "/staff/login" in anonymous.headers["Location"]
    assert browser(world.station_staff).get(path).status_code == 403
    assert browser(world.clerk).get(path).status_code == 403
    elsewhere = make_staff(make_street(name="闸弄口街道", communities=("红梅社区",)), Role.OFFICIAL)
    assert browser(elsewhere).get(path).status_code == 403
    exports = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "tally.exported")
    ).all()
    assert exports == []


def test_export_refuses_a_resident_holding_a_voting_session(world, browser):
    round_id = world.open_round(datetime.now(UTC))  # the page votes on the real clock
    [resident] = world.residents(1)
    code = issue(world, round_id)[resident.id]
    voter = browser()
    assert voter.get(f"/vote/c/{code}").headers["Location"] == f"/vote/{round_id}/ballot"
    response = voter.get(f"/official/rounds/{round_id}/export.xlsx")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_export_reads_no_ballot_rows(world, now):
    round_id = closed_round(world, now)
    with statements() as seen:
        out = export_xlsx.round_workbook(
            round_id, actor_name="official", now=now + timedelta(days=3), zone=SHANGHAI
        )
    out.close()
    assert seen
    assert not [sql for sql in seen if BALLOT_TABLES.search(sql)]


def test_export_of_an_open_round_only_aggregates_ballots(world, now):
    round_id = world.open_round(now)
    with statements() as seen:
        export_xlsx.round_workbook(round_id, actor_name="official", now=now, zone=SHANGHAI).close()
    touching = [sql for sql in seen if BALLOT_TABLES.search(sql)]
    assert touching  # the live count
    assert all("count(" in sql.lower() or "sum(" in sql.lower() for sql in touching), touching
