"""One whole round through HTTP, CSRF on: intake, review, set-up, voting, close, council.

Every step goes through the pages a person would use, with the CSRF token read from the
page; the database and the public pages are checked after each step.
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.conftest import TEST_PEPPER, Browser, submit
from tests.factories import PASSWORD, World, make_resident
from voting.domain.codes import format_code, generate_code, receipt_hash
from voting.extensions import db
from voting.models import (
    AuditEvent,
    Ballot,
    BallotChoice,
    Candidate,
    CouncilMeeting,
    Participation,
    RoundCandidate,
    VotingCode,
    VotingRound,
)
from voting.services import audit
from voting.services import codes as codes_service
from voting.views.slips import qr_svg

BEIJING = ZoneInfo("Asia/Shanghai")
LOCAL = "%Y-%m-%dT%H:%M"
RECEIPT_RE = re.compile(
    r'<p class="receipt" id="receipt-code">([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</p>'
)
ROW_RE = re.compile(
    r"<tr[^>]*>\s*<td>(\d+)</td>\s*<td>([^<]+)<br>.*?<td>(\d+)<br><meter.*?</tr>", re.DOTALL
)
COUNCIL_CELL_RE = re.compile(
    r"<td>(\d+|—)(?: <span class=\"badge ok\">票选入选</span>)?</td>\s*</tr>"
)

PARKING, CHARGING, BENCHES, LIFT = "增设停车位", "电动自行车充电桩", "休闲座椅", "加装电梯"


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def redirected_to(response, path: str) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and response.headers["Location"] == path


def staff_login(browser: Browser, username: str, home: str) -> None:
    response = submit(browser, "/staff/login", {"username": username, "password": PASSWORD})
    assert redirected_to(response, home)


def vote(browser: Browser, round_id: int, code: str, choices: list[int], *, typed: bool) -> str:
    """One resident's whole path; returns the receipt code shown at the end."""
    if typed:
        entered = submit(browser, "/vote/", {"code": format_code(code)})  # "1234 5678 9012"
    else:
        entered = browser.get(f"/vote/c/{code}")  # the QR link on the slip
    assert redirected_to(entered, f"/vote/{round_id}/ballot")
    ballot = browser.get(f"/vote/{round_id}/ballot")
    assert ballot.status_code == 200
    assert "可选 1 至 2 个项目。" in text_of(ballot)
    chosen = submit(browser, f"/vote/{round_id}/ballot", {"choices": [str(c) for c in choices]})
    assert redirected_to(chosen, f"/vote/{round_id}/review")
    review = browser.get(f"/vote/{round_id}/review")
    assert review.status_code == 200
    listed = re.findall(r"<li><strong>([^<]+)</strong>", text_of(review))
    assert len(listed) == len(choices)
    confirmed = submit(browser, f"/vote/{round_id}/confirm", {}, page=f"/vote/{round_id}/review")
    assert redirected_to(confirmed, f"/vote/{round_id}/receipt")
    receipt = browser.get(f"/vote/{round_id}/receipt")
    assert receipt.status_code == 200
    assert "投票成功，谢谢您！" in text_of(receipt)
    return RECEIPT_RE.search(text_of(receipt)).group(1)


def result_rows(html: str) -> list[tuple[int, str, int]]:
    """(rank, title, public votes) of each line of a results table."""
    return [(int(rank), title.strip(), int(votes)) for rank, title, votes in ROW_RE.findall(html)]


def council_snapshot(round_id: int) -> tuple[object, ...]:
    meeting = db.session.get(CouncilMeeting, round_id)
    entries = db.session.scalars(
        select(RoundCandidate)
        .where(RoundCandidate.round_id == round_id)
        .order_by(RoundCandidate.position)
    ).all()
    rnd = db.session.get(VotingRound, round_id)
    return (
        rnd.status,
        rnd.finalized_at,
        meeting.held_on,
        meeting.place,
        meeting.members_expected,
        meeting.members_present,
        meeting.resolution,
        meeting.recorded_at,
        tuple((e.council_votes, e.council_selected, e.council_reason) for e in entries),
        db.session.scalar(select(func.count()).select_from(AuditEvent)),
        audit.head_hash(),
    )


def test_round_end_to_end_through_http_intake_to_public_notice(app, tmp_path, monkeypatch):
    world = World(candidates=0)
    nanxiao, jingfang = world.communities
    station = Browser(app, app.response_class)
    official = Browser(app, app.response_class)
    clerk = Browser(app, app.response_class)

    # 1. Station staff log in through the form and submit four candidates. -----------------
    staff_login(station, world.station_staff.username, "/station/")
    submissions = [
        (PARKING, nanxiao, 280_000),
        (CHARGING, jingfang, 120_000),
        (BENCHES, nanxiao, 32_000),
        (LIFT, jingfang, 2_400_000),
    ]
    for title, community, cost in submissions:
        response = submit(
            station,
            "/station/candidates/new",
            {
                "title": title,
                "summary": f"{title}，方便居民",
                "description": f"{community.name}居民提出：{title}。",
                "category": "其他",
                "community_id": str(community.id),
                "location": f"{community.name}3幢旁",
                "target": "惠及全体居民",
                "cost_yuan": str(cost),
                "source": "door_to_door",
                "raised_by": "12",
            },
        )
        assert redirected_to(response, "/station/")
    submitted = {c.title: c for c in db.session.scalars(select(Candidate)).all()}
    assert sorted(submitted) == sorted([PARKING, CHARGING, BENCHES, LIFT])
    assert {(c.status, c.station_id, c.source) for c in submitted.values()} == {
        ("submitted", world.station.id, "door_to_door")
    }
    assert submitted[LIFT].cost_yuan == 2_400_000
    ids = {title: c.id for title, c in submitted.items()}
    a, b, c = ids[PARKING], ids[CHARGING], ids[BENCHES]
    assert text_of(station.get("/station/")).count("待审查") == 4

    # 2. The official logs in and reviews: three accepted, one rejected, each with a reason.
    staff_login(official, world.official.username, "/official/")
    assert "待审查的候选项目（4）" in text_of(official.get("/official/"))
    reviews = {
        PARKING: ("accept", "小区停车难问题突出，符合普惠性要求"),
        CHARGING: ("accept", "消除飞线充电安全隐患"),
        BENCHES: ("accept", "投入小、受益面广"),
        LIFT: ("reject", "需业主分摊出资，不属于民生实事项目范围"),
    }
    for title, (decision, reason) in reviews.items():
        path = f"/official/candidates/{ids[title]}/review"
        response = submit(official, path, {"decision": decision, "reason": reason})
        assert redirected_to(response, "/official/")
    reviewed = {c.title: c for c in db.session.scalars(select(Candidate)).all()}
    assert {t: (c.status, c.review_reason) for t, c in reviewed.items()} == {
        PARKING: ("accepted", reviews[PARKING][1]),
        CHARGING: ("accepted", reviews[CHARGING][1]),
        BENCHES: ("accepted", reviews[BENCHES][1]),
        LIFT: ("rejected", reviews[LIFT][1]),
    }
    assert all(c.reviewed_by_id == world.official.id for c in reviewed.values())
    assert reviews[LIFT][1] in text_of(station.get("/station/"))  # the station sees why

    # 3. The official sets up the round (Beijing time) and opens it. -----------------------
    form_page = text_of(official.get("/official/rounds/new"))
    assert PARKING in form_page
    assert LIFT not in form_page  # only accepted candidates can stand
    local_now = datetime.now(BEIJING)
    opens_local = (local_now - timedelta(days=1)).replace(second=0, microsecond=0)
    closes_local = (local_now + timedelta(days=7)).replace(second=0, microsecond=0)
    response = submit(
        official,
        "/official/rounds/new",
        {
            "title": "2026年凯旋街道民生实事候选项目公开投票",
            "description": "请选出您最支持的项目。",
            "community_ids": [str(nanxiao.id), str(jingfang.id)],
            "candidate_ids": [str(a), str(b), str(c)],
            "opens_at": opens_local.strftime(LOCAL),
            "closes_at": closes_local.strftime(LOCAL),
            "min_choices": "1",
            "max_choices": "2",
            "budget_yuan": "",
            "seats": "2",
            "outcome_rule": "top_n",
        },
    )
    assert response.status_code == 302
    match = re.fullmatch(r"/official/rounds/(\d+)", response.headers["Location"])
    assert match
    round_id = int(match.group(1))
    rnd = db.session.get(VotingRound, round_id)
    assert (rnd.status, rnd.min_choices, rnd.max_choices, rnd.seats, rnd.outcome_rule) == (
        "draft",
        1,
        2,
        2,
        "top_n",
    )
    assert rnd.opens_at == opens_local.astimezone(UTC)
    assert rnd.closes_at == closes_local.astimezone(UTC)
    assert [cm.id for cm in rnd.communities] == [nanxiao.id, jingfang.id]
    assert [(e.position, e.candidate_id) for e in rnd.entries] == [(1, a), (2, b), (3, c)]
    assert Browser(app, app.response_class).get(f"/rounds/{round_id}").status_code == 404

    response = submit(
        official, f"/official/rounds/{round_id}/open", {}, page=f"/official/rounds/{round_id}"
    )
    assert redirected_to(response, f"/official/rounds/{round_id}")
    rnd = db.session.get(VotingRound, round_id)
    assert rnd.status == "open"
    assert rnd.opened_at is not None
    public_round = Browser(app, app.response_class).get(f"/rounds/{round_id}")
    assert public_round.status_code == 200
    assert "投票进行中" in text_of(public_round)

    # 4. Residents on the roll get codes; the CLI prints slips for a late addition. ---------
    residents = world.residents(6)
    slips = codes_service.issue_codes(round_id, pepper=TEST_PEPPER.encode(), rng=random.Random(1))
    assert len(slips) == 6
    codes = [s.code for s in slips]
    late = make_resident(jingfang, rng=random.Random(99), name="陈阿姨")
    out = tmp_path / "slips.html"
    with monkeypatch.context() as patch:  # the CLI draws from the system RNG: pin it
        patch.setattr("voting.domain.codes._system_rng", random.Random(2024))
        result = app.test_cli_runner().invoke(
            args=["codes", "issue", str(round_id), "--out", str(out)]
        )
    assert result.exit_code == 0, result.output
    assert f"Issued 1 codes for round {round_id}" in result.output
    late_code = generate_code(random.Random(2024))
    assert late_code not in codes
    printed = out.read_text(encoding="utf-8")
    assert printed.count("<svg") == 1
    assert str(qr_svg(f"http://vote.test/vote/c/{late_code}")) in printed  # QR → /vote/c/…
    assert format_code(late_code) in printed
    assert "陈*" in printed
    assert "http://vote.test/vote/" in printed
    issued = db.session.scalars(select(VotingCode.resident_id)).all()
    assert sorted(issued) == sorted([r.id for r in residents] + [late.id])

    # 5. Residents vote, each on their own phone: QR links and typed codes. -----------------
    ballots = [
        (codes[0], [a, b], False),
        (codes[1], [a, b], True),
        (codes[2], [a, c], False),
        (codes[3], [a], True),
        (codes[4], [b], True),
        (late_code, [c], False),
    ]  # codes[5] is never used
    receipts = [
        vote(Browser(app, app.response_class), round_id, code, choices, typed=typed)
        for code, choices, typed in ballots
    ]
    assert len(set(receipts)) == 6
    stored = set(db.session.scalars(select(Ballot.receipt_hash)).all())
    assert stored == {receipt_hash(r) for r in receipts}
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 6
    assert set(db.session.scalars(select(Participation.channel)).all()) == {"code"}
    choices = db.session.execute(
        select(BallotChoice.candidate_id, func.count()).group_by(BallotChoice.candidate_id)
    ).all()
    assert dict(choices) == {a: 4, b: 3, c: 2}
    live = text_of(official.get(f"/official/rounds/{round_id}"))
    assert "已投票 6 人 / 名册 7 人（85.7%）" in live

    # 6. Results stay hidden until the official closes early, with a reason. ----------------
    public = Browser(app, app.response_class)
    hidden = public.get(f"/rounds/{round_id}/results")
    assert hidden.status_code == 403
    assert "投票结束后才公布结果。" in text_of(hidden)
    early = "议事会会期提前，经工委会议决定提前结束投票"
    response = submit(
        official,
        f"/official/rounds/{round_id}/close",
        {"reason": early},
        page=f"/official/rounds/{round_id}",
    )
    assert redirected_to(response, f"/official/rounds/{round_id}")
    rnd = db.session.get(VotingRound, round_id)
    assert (rnd.status, rnd.close_reason, rnd.ballot_count) == ("closed", early, 6)
    assert rnd.closed_at < rnd.closes_at
    assert [
        (e.candidate_id, e.public_votes, e.public_rank, e.rule_selected) for e in rnd.entries
    ] == [
        (a, 4, 1, True),
        (b, 3, 2, True),
        (c, 2, 3, False),
    ]
    too_late = Browser(app, app.response_class).get(f"/vote/c/{codes[5]}")
    assert too_late.status_code == 409
    assert "投票已经结束" in text_of(too_late)

    shown = public.get(f"/rounds/{round_id}/results")
    assert shown.status_code == 200
    assert result_rows(text_of(shown)) == [(1, PARKING, 4), (2, CHARGING, 3), (3, BENCHES, 2)]
    assert "有效选票 6 张；名册 7 人；参与率 85.7%" in text_of(shown)

    # 7. The official downloads the tally for the council's papers. -------------------------
    export = official.get(f"/official/rounds/{round_id}/tally.csv")
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    assert export.headers["Content-Disposition"] == (
        f"attachment; filename=tally-round-{round_id}.csv"
    )
    body = export.get_data(as_text=True)
    assert body.startswith("\ufeff排名,投票序号,项目名称,")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0] == [
        "排名",
        "投票序号",
        "项目名称",
        "社区",
        "估算金额(元)",
        "得票",
        "得票率",
        "规则入选",
        "议事会得票",
        "议事会票选",
    ]
    assert rows[1:4] == [
        ["1", "1", PARKING, "南肖埠社区", "280000", "4", "66.67%", "是", "", ""],
        ["2", "2", CHARGING, "景芳社区", "120000", "3", "50.00%", "是", "", ""],
        ["3", "3", BENCHES, "南肖埠社区", "32000", "2", "33.33%", "", "", ""],
    ]
    assert ["有效选票", "6", "名册人数", "7"] in rows
    assert ["审计链头哈希", audit.head_hash()] in rows
    exported = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (exported.action, exported.actor) == ("tally.exported", world.official.username)

    # 8. The clerk records the council meeting: benches in, charging out, both with reasons.
    staff_login(clerk, world.clerk.username, "/council/")
    assert f'href="/council/rounds/{round_id}"' in text_of(clerk.get("/council/"))
    assert "尚未录入议事会会议记录。" in text_of(clerk.get(f"/council/rounds/{round_id}"))
    held_on = datetime.now(BEIJING).date()
    reasons = {
        b: "充电桩已列入区级统一建设计划，本次不再重复安排",
        c: "老年居民代表反映休闲座椅需求迫切、投入小",
    }
    record = {
        "held_on": held_on.isoformat(),
        "place": "凯旋街道社区议事厅",
        "members_expected": "30",
        "members_present": "25",
        "resolution": "票选增设停车位、休闲座椅为2026年度民生实事项目。",
        "tellers": "王计票、李监票",
        "ballots_issued": "25",
        "ballots_returned": "25",
        "ballots_valid": "24",
        "procedure": "差额票选，每人最多选2项，得票多者入选。",
        f"target-{a}": "新增停车位30个",
        f"unit-{a}": "凯旋街道城管科",
        f"completion-{a}": (held_on + timedelta(days=200)).isoformat(),
        f"target-{c}": "新增休闲座椅20组",
        f"unit-{c}": "凯旋街道城管科",
        f"completion-{c}": (held_on + timedelta(days=90)).isoformat(),
        f"votes-{a}": "22",
        f"votes-{b}": "10",
        f"votes-{c}": "15",
        "selected": [str(a), str(c)],
        f"reason-{a}": "",
        f"reason-{b}": reasons[b],
        f"reason-{c}": reasons[c],
    }
    response = submit(clerk, f"/council/rounds/{round_id}", record)
    assert redirected_to(response, f"/council/rounds/{round_id}")
    meeting = db.session.get(CouncilMeeting, round_id)
    assert (
        meeting.held_on,
        meeting.place,
        meeting.members_expected,
        meeting.members_present,
        meeting.recorded_by_id,
    ) == (held_on, "凯旋街道社区议事厅", 30, 25, world.clerk.id)
    entries = db.session.get(VotingRound, round_id).entries
    assert [(e.council_votes, e.council_selected, e.council_reason) for e in entries] == [
        (22, True, ""),
        (10, False, reasons[b]),
        (15, True, reasons[c]),
    ]
    ready = text_of(clerk.get(f"/council/rounds/{round_id}"))
    assert "会议记录完整。提请后须由另一位工作人员审核确认" in ready
    assert "尚未公示" in text_of(public.get(f"/rounds/{round_id}/notice"))

    page = f"/council/rounds/{round_id}"
    response = submit(clerk, f"{page}/request", {}, page=page)
    assert redirected_to(response, page)
    assert f'action="{page}/approve"' not in text_of(clerk.get(page))  # not by the requester
    response = submit(official, f"{page}/approve", {}, page=page)
    assert redirected_to(response, f"/rounds/{round_id}/notice")
    rnd = db.session.get(VotingRound, round_id)
    assert rnd.status == "finalized"
    assert rnd.finalized_at is not None
    assert rnd.council.requested_by_id == world.clerk.id
    assert rnd.council.finalized_by_id == world.official.id

    # 9. The public notice: the council's winners, both counts, the audit head. -------------
    notice = public.get(f"/rounds/{round_id}/notice")
    assert notice.status_code == 200
    page = text_of(notice)
    assert "凯旋街道民生实事项目票选结果公示" in page
    assert "以下 2 个项目确定为民生实事项目" in page
    winners = re.search(r'<ol class="winners">(.*?)</ol>', page, re.DOTALL).group(1)
    assert re.findall(r"<strong>([^<]+)</strong>", winners) == [PARKING, BENCHES]
    assert "应到 30 人，实到 25 人" in page
    assert f"{CHARGING}：{reasons[b]}" in page
    assert f"{BENCHES}：{reasons[c]}" in page
    assert result_rows(page) == [(1, PARKING, 4), (2, CHARGING, 3), (3, BENCHES, 2)]
    assert COUNCIL_CELL_RE.findall(page) == ["22", "10", "15"]
    assert page.count("票选入选") == 2
    head = audit.head_hash()
    assert f'<code class="hash">{head}</code>' in page
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (last.action, last.hash) == ("round.finalized", head)

    # 10. After finalization the clerk cannot record again; nothing changes. ----------------
    before = council_snapshot(round_id)
    changed = {**record, "members_present": "30", f"votes-{b}": "29", "selected": [str(a), str(b)]}
    refused = submit(clerk, f"/council/rounds/{round_id}", changed)
    # 409 is what a Conflict should get; the view answers 422 today (see the xfail test
    # test_council_record_after_finalize_answers_409 in test_staff_access.py).
    assert refused.status_code == 409
    assert "议事会已确定结果，本次投票不能再修改。" in text_of(refused)
    assert council_snapshot(round_id) == before
    assert without_token(text_of(public.get(f"/rounds/{round_id}/notice"))) == without_token(page)
