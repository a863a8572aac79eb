"""The station desk over HTTP, CSRF on: look-up, check-in, paper entry, reconciliation,
the official's statistics — and the ID number never reaching the database or a log."""

from __future__ import annotations

import logging
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import TEST_PEPPER, Browser, is_postgres, submit
from tests.factories import World, make_id_number, make_staff, make_station, make_street
from tests.services.test_station_desk import add_resident
from voting.domain import identity
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import Ballot, BallotChoice, PaperBallot, Participation
from voting.services import station_desk, voting

PEPPER = TEST_PEPPER.encode()


class Setup:
    def __init__(self) -> None:
        self.world = World(candidates=4)
        self.round_id = self.world.open_round(datetime.now(UTC))
        self.staff_a = self.world.station_staff
        self.staff_b = make_staff(self.world.street, Role.STATION, station=self.world.station)
        self.ids = [c.id for c in self.world.candidates]
        self.resident, self.number = add_resident(self.world.communities[0], random.Random(21))

    def path(self, page: str) -> str:
        return f"/desk/{self.round_id}/{page}"


@pytest.fixture
def setup(app) -> Setup:  # type: ignore[no-untyped-def]
    return Setup()


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def token_of(html: str) -> str:
    match = re.search(r'name="token" type="hidden" value="([^"]+)"', html)
    assert match, "no check-in token on the page"
    return match.group(1)


def look_up(client: Browser, setup: Setup, number: str):  # type: ignore[no-untyped-def]
    return submit(client, setup.path("check-in"), {"id_number": number})


def check_in(client: Browser, setup: Setup, **assistance: str):  # type: ignore[no-untyped-def]
    page = look_up(client, setup, setup.number)
    assert page.status_code == 200
    data = {"token": token_of(text_of(page)), "assisted_by": "", "assist_reason": "", **assistance}
    return submit(client, setup.path("check-in/confirm"), data, page=setup.path("check-in"))


def enter(client: Browser, setup: Setup, serial: str, choices=(), *, invalid=False):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {"serial": serial, "choices": [str(c) for c in choices]}
    if invalid:
        data["invalid"] = "y"
    return submit(client, setup.path("paper"), data)


def test_desk_index_lists_open_round_for_station_staff(setup, browser):
    client = browser(setup.staff_a)

    response = client.get("/desk/")

    html = text_of(response)
    assert response.status_code == 200
    assert "2026年凯旋街道民生实事候选项目公开投票" in html
    assert setup.path("check-in") in html
    assert setup.path("paper") in html
    assert 'href="/desk/"' in text_of(client.get("/station/"))  # the nav link 现场投票
    assert response.headers["Cache-Control"] == "no-store"


def test_look_up_shows_card_without_the_id_number(setup, browser):
    client = browser(setup.staff_a)

    response = look_up(client, setup, setup.number)

    html = text_of(response)
    assert response.status_code == 200
    assert "李阿婆" in html
    assert f"尾号 {setup.number[-4:]}" in html
    assert "南肖埠社区" in html
    assert "5幢 2单元 301" in html
    assert "该居民可以在本次投票中投票" in html
    assert setup.number not in html
    assert setup.number[:14] not in html


def test_check_in_with_assistance_creates_station_participation(setup, browser):
    client = browser(setup.staff_a)

    response = check_in(
        client, setup, assisted_by="张志愿", assist_reason="其他", assist_other="手部受伤"
    )

    html = text_of(response)
    assert response.status_code == 200
    assert "已登记为现场投票" in html
    assert "协助人：张志愿；原因：其他：手部受伤。" in html
    row = db.session.scalars(select(Participation)).one()
    assert (row.channel, row.checked_in_by_id) == ("station", setup.staff_a.id)
    assert (row.assisted_by, row.assist_reason) == ("张志愿", "其他：手部受伤")


def test_check_in_helper_without_reason_refused_422(setup, browser):
    client = browser(setup.staff_a)

    response = check_in(client, setup, assisted_by="张志愿")

    assert response.status_code == 422
    assert "请同时填写协助人姓名和协助原因" in text_of(response)
    assert count(Participation) == 0


def test_check_in_helper_name_too_long_shows_card_again_422(setup, browser):
    client = browser(setup.staff_a)

    response = check_in(client, setup, assisted_by="张" * 41, assist_reason="视力不便")

    html = text_of(response)
    assert response.status_code == 422
    assert "协助人姓名最多 40 个字" in html
    assert "李阿婆" in html
    assert count(Participation) == 0


def test_check_in_token_for_another_staff_member_refused(setup, browser):
    page = look_up(browser(setup.staff_a), setup, setup.number)
    token = token_of(text_of(page))
    other = browser(setup.staff_b)

    response = submit(
        other,
        setup.path("check-in/confirm"),
        {"token": token, "assisted_by": "", "assist_reason": ""},
        page=setup.path("check-in"),
    )

    assert response.status_code == 422
    assert "请重新输入身份证号查询" in text_of(response)
    assert count(Participation) == 0


def test_look_up_resident_who_voted_by_code_shows_when_and_channel(setup, browser):
    code = setup.world.issue_codes(setup.round_id)[0]
    login = voting.login_with_code(code, pepper=PEPPER)
    voting.cast_ballot(login, [setup.ids[0]])
    client = browser(setup.staff_a)

    response = look_up(client, setup, setup.number)

    html = text_of(response)
    assert "该居民已经在本次投票中投过票了" in html
    assert "投票方式：投票码" in html
    assert "投票时间：" in html
    assert 'name="token"' not in html  # nothing to confirm
    assert setup.world.candidates[0].title not in html  # never what was chosen


def test_second_check_in_refused_409_with_station_channel(setup, browser):
    client = browser(setup.staff_a)
    page = look_up(client, setup, setup.number)
    token = token_of(text_of(page))
    data = {"token": token, "assisted_by": "", "assist_reason": ""}
    first = submit(client, setup.path("check-in/confirm"), data, page=setup.path("check-in"))
    assert first.status_code == 200

    again = submit(client, setup.path("check-in/confirm"), data, page=setup.path("check-in"))

    assert again.status_code == 409
    assert "投票方式：联络站现场" in text_of(again)
    assert count(Participation) == 1


def test_look_up_wrong_check_digit_clear_message_and_no_lookup(setup, browser, monkeypatch):
    wrong = setup.number[:17] + ("0" if setup.number[17] != "0" else "1")
    calls: list[object] = []
    monkeypatch.setattr(identity, "id_hmac", lambda *a: calls.append(a) or "0" * 64)
    client = browser(setup.staff_a)

    response = look_up(client, setup, wrong)

    html = text_of(response)
    assert response.status_code == 422
    assert "身份证号校验位不正确" in html
    assert "请对照身份证逐位核对后重新输入" in html
    assert calls == []
    assert wrong not in html  # not echoed back into the page


def test_station_staff_of_another_street_get_403(setup, browser):
    street = make_street(name="闸弄口街道", communities=("东站社区",))
    station = make_station(street, name="闸弄口人大代表联络站")
    stranger = make_staff(street, Role.STATION, station=station)
    client = browser(stranger)

    assert client.get(setup.path("check-in")).status_code == 403
    lookup = submit(
        client, setup.path("check-in"), {"id_number": setup.number}, page="/station/candidates/new"
    )
    assert lookup.status_code == 403
    assert client.get(setup.path("paper")).status_code == 403
    assert count(Participation) == 0


@pytest.mark.parametrize("role", ["official", "clerk"])
def test_desk_pages_need_station_role(setup, browser, role):
    user = setup.world.official if role == "official" else setup.world.clerk

    assert browser(user).get(setup.path("check-in")).status_code == 403
    assert browser(user).get(setup.path("paper")).status_code == 403
    assert browser().get(setup.path("paper")).status_code in (302, 401)


def test_id_number_never_in_database_or_logs(setup, browser, caplog, app):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    client = browser(setup.staff_a)
    wrong = setup.number[:17] + ("5" if setup.number[17] != "5" else "4")
    assert look_up(client, setup, wrong).status_code == 422
    response = check_in(client, setup, assisted_by="张志愿", assist_reason="视力不便")
    assert response.status_code == 200
    caplog.set_level(logging.WARNING, logger="sqlalchemy.engine")

    assert "SELECT" in caplog.text  # SQL and its parameters were really logged
    dump = []
    for table in db.metadata.sorted_tables:
        dump += [repr(tuple(row)) for row in db.session.execute(table.select())]
    text = "\n".join(dump)
    for needle in (setup.number, wrong, setup.number[:17]):
        assert needle not in caplog.text
        assert needle not in text
    assert identity.id_hmac(PEPPER, setup.number) in text  # matched by HMAC only
    if not is_postgres():
        database = Path(db.engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())
        assert setup.number.encode() not in raw


def test_paper_double_entry_by_two_staff_counts_one_ballot(setup, browser):
    a, b = browser(setup.staff_a), browser(setup.staff_b)
    picked = [setup.ids[0], setup.ids[2]]

    first = enter(a, setup, "A0001", picked)
    assert first.status_code == 302
    assert "第 1 次录入已保存" in text_of(a.get(setup.path("paper")))
    blank = text_of(b.get(setup.path("paper")))
    assert " checked" not in blank
    assert "A0001" not in blank
    second = enter(b, setup, "A0001", picked)

    assert second.status_code == 302
    assert "两次录入一致，已计入结果" in text_of(b.get(setup.path("paper")))
    assert count(Ballot) == 1
    assert sorted(db.session.scalars(select(BallotChoice.candidate_id))) == sorted(picked)


def test_paper_same_staff_twice_refused_with_sentence(setup, browser):
    a = browser(setup.staff_a)
    enter(a, setup, "A0002", [setup.ids[0]])

    response = enter(a, setup, "A0002", [setup.ids[0]])

    assert response.status_code == 422
    assert "必须由两位不同的工作人员完成" in text_of(response)
    assert count(Ballot) == 0


def test_paper_over_selection_refused_must_be_invalid(setup, browser):
    a = browser(setup.staff_a)

    response = enter(a, setup, "A0003", setup.ids)  # 4 chosen, at most 3 allowed

    html = text_of(response)
    assert response.status_code == 422
    assert "超过了最多可选的 3 项" in html
    assert "请勾选“废票”后重新录入" in html
    assert count(PaperBallot) == 0
    assert enter(a, setup, "A0003", invalid=True).status_code == 302


def test_paper_entry_after_close_refused(setup, browser):
    from voting.services import rounds

    rounds.close_round(setup.world.official, setup.round_id, reason="提前结束：测试")
    a = browser(setup.staff_a)

    page = a.get(setup.path("paper"))
    response = submit(a, setup.path("paper"), {"serial": "A0009", "choices": [str(setup.ids[0])]})

    assert page.status_code == 200
    assert "现在不能录入纸质选票" in text_of(page)
    assert response.status_code == 422
    assert "本次投票已经结束并计票，不能再录入纸质选票" in text_of(response)


def test_official_reconciles_mismatch_from_round_page(setup, browser):
    station_desk.check_in(setup.staff_a, setup.round_id, setup.resident.id)
    enter(browser(setup.staff_a), setup, "M0001", [setup.ids[0]])
    enter(browser(setup.staff_b), setup, "M0001", [setup.ids[1]])
    official = browser(setup.world.official)

    round_page = text_of(official.get(f"/official/rounds/{setup.round_id}"))
    assert "参与渠道与纸质选票" in round_page
    assert "核对不一致的纸质选票（1）" in round_page
    listing = text_of(official.get(setup.path("reconcile")))
    assert "选票编号 M0001" in listing
    detail = official.get(setup.path("reconcile/M0001"))
    html = text_of(detail)
    titles = [c.title for c in setup.world.candidates]
    assert "第 1 次录入" in html
    assert "第 2 次录入" in html
    assert titles[0] in html
    assert titles[1] in html
    no_note = submit(official, setup.path("reconcile/M0001"), {"choices": [str(setup.ids[1])]})
    assert no_note.status_code == 422

    response = submit(
        official,
        setup.path("reconcile/M0001"),
        {"choices": [str(setup.ids[1])], "note": "核对原件：勾选的是第 2 项"},
    )

    assert response.status_code == 302
    listing = text_of(official.get(setup.path("reconcile")))
    assert "编号 M0001：已按核对结果计入。" in listing
    assert "选票编号 M0001" not in listing
    assert sorted(db.session.scalars(select(BallotChoice.candidate_id))) == [setup.ids[1]]
    final = text_of(official.get(f"/official/rounds/{setup.round_id}"))
    assert "一致</span>" in final


def test_reconcile_pages_need_official_of_the_street(setup, browser):
    enter(browser(setup.staff_a), setup, "M0002", [setup.ids[0]])
    enter(browser(setup.staff_b), setup, "M0002", [setup.ids[1]])

    assert browser(setup.staff_a).get(setup.path("reconcile")).status_code == 403
    assert browser(setup.staff_a).get(setup.path("reconcile/M0002")).status_code == 403
    assert browser(setup.world.official).get(setup.path("reconcile/ZZZ")).status_code == 409


def test_official_round_page_shows_channel_counts(setup, browser):
    station_desk.check_in(
        setup.staff_a,
        setup.round_id,
        setup.resident.id,
        assisted_by="张志愿",
        assist_reason="视力不便",
    )

    html = text_of(browser(setup.world.official).get(f"/official/rounds/{setup.round_id}"))

    assert "联络站现场" in html
    assert "其中有人协助" in html
    assert "张志愿" in html  # the helpers table, for spotting one person helping many
    assert "还有 1 人次没有对应的选票" in html


def test_unknown_number_says_not_on_roll(setup, browser):
    number = make_id_number(random.Random(12345))

    response = look_up(browser(setup.staff_a), setup, number)

    assert response.status_code == 422
    assert "本街道的居民名册中没有这个身份证号" in text_of(response)
