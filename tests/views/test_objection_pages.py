"""Objections to the 公示 over HTTP with CSRF on: a phone code, the text, the public answer.

The round is closed and its council decision approved with the real clock, so the objection
period is running; "after the period" moves the stored period into the past.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import Browser, csrf_token, submit
from tests.council_records import council_input, request_and_approve
from tests.factories import World, make_staff
from tests.phone_roll import Person, enrol, stranger
from tests.views import test_vote_phone
from tests.views.test_vote_phone import code_in, text_of, without_csrf, wrong
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import CouncilNotice, Objection, OtpChallenge
from voting.services import council, rounds
from voting.services.sms import MemorySender

TEXT = "停车位选址离学校太近，存在安全隐患。"


# The phone: every message the app sends in a test (the phone-voting tests' fixture).
sms = test_vote_phone.outbox


class Notice:
    """A round whose council decision was approved just now: objections are taken."""

    def __init__(self) -> None:
        self.world = World(candidates=4)
        round_id = self.world.open_round(datetime.now(UTC), max_choices=2)
        rounds.close_round(self.world.official, round_id, reason="测试提前结束")
        rnd = rounds.load_round(round_id)
        data = council_input(
            [e.candidate_id for e in rnd.entries],
            selected={e.candidate_id for e in rnd.entries if e.rule_selected},
            held_on=datetime.now(UTC).date(),
            votes={e.candidate_id: 0 for e in rnd.entries},
        )
        assert council.save_record(self.world.clerk, round_id, data) == []
        request_and_approve(self.world.clerk, self.world.official, round_id)
        self.round_id = round_id
        self.person = enrol(self.world, seed=1, name="赵异议")

    def path(self, page: str = "") -> str:
        return f"/rounds/{self.round_id}/{page}"

    def end_period(self) -> None:
        """Move the objection period into the past."""
        row = db.session.get(CouncilNotice, self.round_id)
        assert row is not None
        row.published_at -= timedelta(days=10)
        row.objections_close_at = row.published_at + timedelta(days=7)
        db.session.commit()


@pytest.fixture
def notice(app) -> Notice:  # type: ignore[no-untyped-def]
    return Notice()


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Objection)) or 0


def ask(client: Browser, notice: Notice, who: Person):  # type: ignore[no-untyped-def]
    data = {"name": who.name, "id_number": who.id_number, "phone": who.phone}
    return submit(client, notice.path("objection"), data)


def file(client: Browser, notice: Notice, code: str, body: str = TEXT):  # type: ignore[no-untyped-def]
    return submit(client, notice.path("objection/file"), {"code": code, "body": body})


def filed_by(client: Browser, notice: Notice, sms: MemorySender, body: str = TEXT):  # type: ignore[no-untyped-def]
    """The resident asks for a code and files ``body`` with it."""
    assert ask(client, notice, notice.person).status_code == 302
    return file(client, notice, code_in(sms), body)


def answer(client: Browser, notice: Notice, number: object, text: str):  # type: ignore[no-untyped-def]
    path = f"/council/rounds/{notice.round_id}/objections"
    return submit(client, path, {"number": number, "answer": text})


# --- filing ---------------------------------------------------------------------------------


def test_objection_on_roll_code_and_text_shown_on_notice_without_identity(notice, browser, sms):
    client = browser()
    asked = ask(client, notice, notice.person)
    assert asked.status_code == 302
    assert asked.headers["Location"] == notice.path("objection/file")
    assert sms.messages[-1][0] == notice.person.phone

    filed = file(client, notice, code_in(sms))

    assert filed.status_code == 302
    assert filed.headers["Location"] == notice.path("notice?filed=1")
    page = text_of(client.get(filed.headers["Location"]))
    assert "您的异议已提交（第 1 条），答复将在本页公开。" in page
    assert "第 1 条异议" in page
    assert TEXT in page
    assert "尚未答复。" in page
    for secret in (notice.person.name, notice.person.id_number, notice.person.phone):
        assert secret not in page
    assert stored() == 1


def test_objection_second_by_same_resident_refused_in_chinese(notice, browser, sms):
    client = browser()
    assert filed_by(client, notice, sms).status_code == 302
    # The phone's one-minute cool-down between codes has passed.
    for challenge in db.session.scalars(select(OtpChallenge)):
        challenge.created_at -= timedelta(minutes=5)
    db.session.commit()

    again = filed_by(client, notice, sms, body="我还有另一条意见要补充。")

    assert again.status_code == 409
    assert "您已经对这次公示提出过异议，每位居民只能提一次。" in text_of(again)
    assert stored() == 1
    assert "我还有另一条意见要补充。" not in text_of(browser().get(notice.path("notice")))


@pytest.mark.parametrize("off_roll", ["not_on_roll", "wrong_name", "wrong_phone"])
def test_objection_request_off_roll_identical_to_on_roll_no_sms(notice, browser, sms, off_roll):
    other = stranger(21)
    who = {
        "not_on_roll": other,
        "wrong_name": Person("赵一议", notice.person.id_number, notice.person.phone),
        "wrong_phone": Person(notice.person.name, notice.person.id_number, other.phone),
    }[off_roll]
    on_roll = enrol(notice.world, seed=5)  # another resident: the phones' cool-downs apart
    on_client, off_client = browser(), browser()

    on_asked, off_asked = ask(on_client, notice, on_roll), ask(off_client, notice, who)
    on_page = on_client.get(notice.path("objection/file"))
    off_page = off_client.get(notice.path("objection/file"))

    assert len(sms.messages) == 1  # only the resident on the roll got a text
    assert sms.messages[0][0] == on_roll.phone
    assert (on_asked.status_code, off_asked.status_code) == (302, 302)
    assert on_asked.headers["Location"] == off_asked.headers["Location"]
    assert on_asked.get_data() == off_asked.get_data()
    assert on_page.status_code == off_page.status_code == 200
    assert without_csrf(text_of(on_page)) == without_csrf(text_of(off_page))
    assert "如果您在名册上，验证码已发送到您填写的手机号" in text_of(off_page)


def test_objection_off_roll_any_code_refused_nothing_stored(notice, browser, sms):
    client = browser()
    ask(client, notice, stranger(22))

    response = file(client, notice, "123456")

    assert response.status_code == 422
    assert "验证码不对，还可以再试 4 次。" in text_of(response)
    assert stored() == 0


def test_objection_wrong_code_refused_in_chinese_then_right_one_files(notice, browser, sms):
    client = browser()
    ask(client, notice, notice.person)
    code = code_in(sms)

    refused = file(client, notice, wrong(code))

    assert refused.status_code == 422
    assert "验证码不对，还可以再试 4 次。" in text_of(refused)
    assert TEXT in text_of(refused)  # the text typed is kept for the next try
    assert stored() == 0
    assert file(client, notice, code).status_code == 302
    assert stored() == 1


def test_objection_after_period_409_on_both_pages_nothing_stored(notice, browser, sms):
    client = browser()
    ask(client, notice, notice.person)  # during the period: the code was sent
    token = csrf_token(client, notice.path("objection/file"))
    notice.end_period()

    request_page = client.get(notice.path("objection"))
    filed = client.post(
        notice.path("objection/file"),
        data={"code": code_in(sms), "body": TEXT, "csrf_token": token},
    )

    assert request_page.status_code == filed.status_code == 409
    for response in (request_page, filed):
        assert "异议期已于" in text_of(response)
        assert "不再受理异议" in text_of(response)
    assert stored() == 0
    assert "公示期已满，项目进入实施" in text_of(client.get(notice.path("notice")))


def test_objection_request_after_period_post_409_no_sms(notice, browser, sms):
    client = browser()
    token = csrf_token(client, notice.path("objection"))
    notice.end_period()
    person = notice.person
    data = {"name": person.name, "id_number": person.id_number, "phone": person.phone}

    response = client.post(notice.path("objection"), data={**data, "csrf_token": token})

    assert response.status_code == 409
    assert sms.messages == []


# --- answers --------------------------------------------------------------------------------


def test_objection_answered_by_official_shown_on_notice(notice, browser, sms):
    filed_by(browser(), notice, sms)
    official = browser(notice.world.official)

    response = answer(official, notice, 1, "已请规划部门复核选址，复核结果将另行公示。")

    assert response.status_code == 302
    page = text_of(browser().get(notice.path("notice")))
    assert "答复（" in page
    assert "已请规划部门复核选址，复核结果将另行公示。" in page
    assert "尚未答复。" not in page
    again = answer(official, notice, 1, "再答一次")
    assert again.status_code == 409
    assert "这条异议已经答复过了。" in text_of(again)


def test_objection_answer_by_clerk_of_other_street_404_nothing_written(notice, browser, sms):
    filed_by(browser(), notice, sms)
    outsider = browser(make_staff(World(candidates=0, street="闸弄口街道").street, Role.CLERK))
    path = f"/council/rounds/{notice.round_id}/objections"
    token = csrf_token(outsider, "/council/")

    shown = outsider.get(path)
    posted = outsider.post(path, data={"number": 1, "answer": "越权答复", "csrf_token": token})

    assert (shown.status_code, posted.status_code) == (404, 404)
    assert db.session.scalar(select(Objection.answered_at)) is None


def test_objection_answer_by_station_staff_403(notice, browser, sms):
    filed_by(browser(), notice, sms)
    station = browser(notice.world.station_staff)
    assert station.get(f"/council/rounds/{notice.round_id}/objections").status_code == 403


# --- bad input never gives a 500 -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "请写下您的异议"),
        ("   ", "请写下您的异议"),
        ("有意见", "异议内容太短，请至少写 5 个字"),
        ("长" * 1001, "字段长度不能超过 1000 个字符。"),
    ],
)
def test_objection_bad_text_422_in_place_nothing_stored(notice, browser, sms, body, message):
    client = browser()
    ask(client, notice, notice.person)

    response = file(client, notice, code_in(sms), body)

    assert response.status_code == 422
    assert message in text_of(response)
    assert stored() == 0


def test_objection_without_csrf_400_nothing_stored(notice, browser, sms):
    client = browser()
    person = notice.person
    data = {"name": person.name, "id_number": person.id_number, "phone": person.phone}
    asked = client.post(notice.path("objection"), data=data)
    assert asked.status_code == 400
    assert sms.messages == []
    ask(client, notice, person)
    filed = client.post(notice.path("objection/file"), data={"code": code_in(sms), "body": TEXT})
    assert filed.status_code == 400
    assert stored() == 0


@pytest.mark.parametrize(
    ("number", "text", "message"),
    [
        (1, "", "请填写此项"),
        (1, "   ", "请填写此项"),
        (1, "答" * 2001, "字段长度不能超过 2000 个字符。"),
        (2, "没有这一条", "没有找到这条异议。"),
        ("一", "编号不是数字", "没有找到这条异议。"),
        ("", "没有编号", "没有找到这条异议。"),
    ],
)
def test_objection_answer_bad_input_422_never_500(notice, browser, sms, number, text, message):
    filed_by(browser(), notice, sms)

    response = answer(browser(notice.world.clerk), notice, number, text)

    assert response.status_code == 422
    assert message in text_of(response)
    assert db.session.scalar(select(Objection.answered_at)) is None


def test_objection_answer_without_csrf_400(notice, browser, sms):
    filed_by(browser(), notice, sms)
    path = f"/council/rounds/{notice.round_id}/objections"
    response = browser(notice.world.official).post(path, data={"number": 1, "answer": "答复"})
    assert response.status_code == 400
    assert db.session.scalar(select(Objection.answered_at)) is None
