"""The resident's pages over HTTP: every dead end says what to do, and the rules hold."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import TEST_PEPPER, Browser, csrf_token, submit
from tests.factories import World
from voting.domain.codes import check_digit, format_code, generate_code, receipt_hash
from voting.extensions import db
from voting.models import Ballot, BallotChoice, Participation, VotingCode
from voting.services import rounds, voting
from voting.views.messages import message_for

BEIJING = ZoneInfo("Asia/Shanghai")
RECEIPT_RE = re.compile(r'<p class="receipt" id="receipt-code">([0-9A-Z-]{19})</p>')


@dataclass(frozen=True)
class Setup:
    world: World
    round_id: int
    codes: list[str]

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.world.candidates]

    def path(self, page: str) -> str:
        return f"/vote/{self.round_id}/{page}"


def _setup(**overrides: object) -> Setup:
    world = World(candidates=3)
    round_id = world.open_round(datetime.now(UTC), max_choices=2, **overrides)
    world.residents(3)
    return Setup(world, round_id, world.issue_codes(round_id))


@pytest.fixture
def open_round(app) -> Setup:  # type: ignore[no-untyped-def]
    """An open round (window around the real clock), 3 candidates, choose 1–2, 3 codes."""
    return _setup()


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def code_errors(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<p class="error" role="alert">([^<]+)</p>', text_of(response))


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def enter(client: Browser, code: str):  # type: ignore[no-untyped-def]
    return submit(client, "/vote/", {"code": code})


def choose(client: Browser, setup: Setup, choices: list[int]):  # type: ignore[no-untyped-def]
    return submit(client, setup.path("ballot"), {"choices": [str(c) for c in choices]})


def logged_in_with_choices(browser, setup: Setup, choices: list[int]) -> Browser:  # type: ignore[no-untyped-def]
    client = browser()
    assert client.get(f"/vote/c/{setup.codes[0]}").status_code == 302
    assert choose(client, setup, choices).status_code == 302
    return client


# --- the code ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1234", "1234 5678 901", "abcd efgh ijkl", "1234 5678 90123"])
def test_enter_code_wrong_format_shows_format_message_422(open_round, browser, raw):
    response = enter(browser(), raw)

    assert response.status_code == 422
    assert code_errors(response) == ["投票码是 12 位数字，请核对后重新输入。"]
    assert 'aria-invalid="true"' in text_of(response)


def test_enter_code_wrong_check_digit_shows_check_digit_message_422(open_round, browser):
    good = open_round.codes[0]
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)

    response = enter(browser(), format_code(bad))

    assert response.status_code == 422
    assert code_errors(response) == ["投票码有一位数字不对，请对照投票单仔细核对。"]


def test_enter_code_unknown_shows_not_found_message_422(open_round, browser):
    unknown = generate_code(random.Random(424242))
    assert unknown not in open_round.codes
    assert check_digit(unknown[:-1]) == unknown[-1]

    response = enter(browser(), unknown)

    assert response.status_code == 422
    assert code_errors(response) == [
        "没有找到这个投票码。请核对投票单；如仍无法使用，请到联络站咨询。"
    ]


def test_enter_code_empty_asks_for_code_422(open_round, browser):
    response = enter(browser(), "")

    assert response.status_code == 422
    assert code_errors(response) == ["请输入投票码"]


def test_enter_code_full_width_digits_with_spaces_accepted(open_round, browser):
    typed = format_code(open_round.codes[0]).translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )

    response = enter(browser(), typed)

    assert response.status_code == 302
    assert response.headers["Location"] == open_round.path("ballot")


@pytest.mark.parametrize("how", ["link", "typed"])
def test_code_used_shows_already_voted_with_time_and_channel_409(open_round, browser, how):
    code = open_round.codes[0]
    login = voting.login_with_code(code, pepper=TEST_PEPPER.encode())
    voting.cast_ballot(login, [open_round.ids[0]])
    voted_at = db.session.scalars(select(Participation.voted_at)).one()
    shown = voted_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    client = browser()

    response = client.get(f"/vote/c/{code}") if how == "link" else enter(client, code)

    assert response.status_code == 409
    page = text_of(response)
    assert "这张投票单已经投过票了" in page
    assert f"投票时间：{shown}；投票方式：投票码。" in page
    assert client.get(open_round.path("ballot")).status_code == 401
    assert count(Ballot) == 1


def test_code_round_not_started_shows_not_started_409(app, browser):
    real_now = datetime.now(UTC)
    setup = _setup(opens_at=real_now + timedelta(days=2), closes_at=real_now + timedelta(days=9))
    opens = (real_now + timedelta(days=2)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")

    response = browser().get(f"/vote/c/{setup.codes[0]}")

    assert response.status_code == 409
    page = text_of(response)
    assert "投票还没有开始" in page
    assert f"投票将于 {opens} 开始" in page
    assert db.session.scalar(select(VotingCode.used_at).limit(1)) is None


@pytest.mark.parametrize("ended_by", ["official", "clock"])
def test_code_round_over_shows_ended_409(app, browser, ended_by):
    real_now = datetime.now(UTC)
    if ended_by == "official":
        setup = _setup()
        rounds.close_round(setup.world.official, setup.round_id, reason="测试提前结束")
    else:
        setup = _setup(
            opens_at=real_now - timedelta(days=9), closes_at=real_now - timedelta(hours=1)
        )

    response = enter(browser(), setup.codes[0])

    assert response.status_code == 409
    assert "投票已经结束" in text_of(response)
    assert count(Participation) == 0


# --- the voter session ------------------------------------------------------------------


@pytest.mark.parametrize("page", ["ballot", "review"])
def test_vote_pages_without_session_ask_for_code_401(open_round, browser, page):
    response = browser().get(open_round.path(page))

    assert response.status_code == 401
    assert "<h1>请先输入投票码</h1>" in text_of(response)


def test_confirm_without_session_asks_for_code_401_nothing_stored(open_round, browser):
    client = browser()

    response = submit(client, open_round.path("confirm"), {}, page="/vote/")

    assert response.status_code == 401
    assert "请先输入投票码" in text_of(response)
    assert count(Ballot) == 0


def test_ballot_session_for_other_round_asks_for_code_401(open_round, browser):
    client = browser()
    client.get(f"/vote/c/{open_round.codes[0]}")

    response = client.get(f"/vote/{open_round.round_id + 1}/ballot")

    assert response.status_code == 401
    assert "请先输入投票码" in text_of(response)


def test_ballot_expired_session_shows_too_long_401_code_still_usable(open_round, browser):
    client = browser()
    client.get(f"/vote/c/{open_round.codes[0]}")
    with client.session_transaction() as session:
        session["voter"] = {**session["voter"], "t": session["voter"]["t"] - 31 * 60}

    response = client.get(open_round.path("ballot"))
    again = client.get(f"/vote/c/{open_round.codes[0]}")

    assert response.status_code == 401
    assert "<h1>页面停留时间太久了</h1>" in text_of(response)
    assert "您还没有投票，投票码仍然可以使用。" in text_of(response)
    assert again.status_code == 302
    assert client.get(open_round.path("ballot")).status_code == 200


def test_ballot_session_active_within_limit_slides(open_round, browser):
    client = browser()
    client.get(f"/vote/c/{open_round.codes[0]}")
    with client.session_transaction() as session:
        session["voter"] = {**session["voter"], "t": session["voter"]["t"] - 29 * 60}

    first = client.get(open_round.path("ballot"))
    with client.session_transaction() as session:
        refreshed = session["voter"]["t"]

    assert first.status_code == 200
    assert refreshed >= int(datetime.now(UTC).timestamp()) - 60


# --- the ballot -------------------------------------------------------------------------


def test_ballot_over_selection_refused_422_nothing_stored(open_round, browser):
    client = browser()
    client.get(f"/vote/c/{open_round.codes[0]}")

    response = choose(client, open_round, open_round.ids)
    review = client.get(open_round.path("review"))

    assert response.status_code == 422
    page = text_of(response)
    assert "最多只能选" in page
    assert "每张选票最多只能选 2 个项目，您选了 3 个，请减少一些。" in page
    assert review.status_code == 302  # nothing remembered: back to the ballot
    assert review.headers["Location"] == open_round.path("ballot")
    assert (count(Ballot), count(BallotChoice), count(Participation)) == (0, 0, 0)
    assert db.session.scalar(select(func.count()).where(VotingCode.used_at.is_not(None))) == 0


def test_ballot_no_choice_refused_422(open_round, browser):
    client = browser()
    client.get(f"/vote/c/{open_round.codes[0]}")

    response = choose(client, open_round, [])

    assert response.status_code == 422
    assert message_for("too_few", minimum=1, chosen=0) in text_of(response)


def test_ballot_choices_survive_reload_checked(open_round, browser):
    client = browser()
    client.get(f"/vote/c/{open_round.codes[0]}")
    first, _, third = open_round.ids

    chosen = choose(client, open_round, [third, first])
    reload = client.get(open_round.path("ballot"))

    assert chosen.status_code == 302
    assert chosen.headers["Location"] == open_round.path("review")
    assert reload.status_code == 200
    checked = re.findall(r'id="choice-(\d+)"[^>]* checked', text_of(reload))
    assert sorted(map(int, checked)) == sorted([first, third])
    assert count(Ballot) == 0


def test_review_lists_the_chosen_projects(open_round, browser):
    client = logged_in_with_choices(browser, open_round, open_round.ids[:2])

    response = client.get(open_round.path("review"))

    assert response.status_code == 200
    chosen = re.findall(r"<li><strong>([^<]+)</strong>", text_of(response))
    assert chosen == ["增设停车位", "电动自行车充电桩"]
    assert "您选了 2 个项目：" in text_of(response)


# --- confirming -------------------------------------------------------------------------


def test_confirm_records_one_ballot_and_shows_receipt(open_round, browser):
    client = logged_in_with_choices(browser, open_round, open_round.ids[1:])

    response = submit(client, open_round.path("confirm"), {}, page=open_round.path("review"))
    receipt_page = client.get(open_round.path("receipt"))

    assert response.status_code == 302
    assert response.headers["Location"] == open_round.path("receipt")
    shown = RECEIPT_RE.search(text_of(receipt_page)).group(1)
    ballot = db.session.scalars(select(Ballot)).one()
    assert ballot.receipt_hash == receipt_hash(shown)
    chosen = db.session.scalars(select(BallotChoice.candidate_id)).all()
    assert sorted(chosen) == sorted(open_round.ids[1:])


def test_confirm_double_post_same_browser_ends_on_receipt_one_ballot(open_round, browser):
    client = logged_in_with_choices(browser, open_round, open_round.ids[:1])
    token = csrf_token(client, open_round.path("review"))

    first = client.post(open_round.path("confirm"), data={"csrf_token": token})
    second = client.post(
        open_round.path("confirm"), data={"csrf_token": token}, follow_redirects=True
    )

    assert first.status_code == 302
    assert first.headers["Location"] == open_round.path("receipt")
    assert second.status_code == 200
    assert second.request.path == open_round.path("receipt")
    assert "投票成功，谢谢您！" in text_of(second)
    assert (count(Ballot), count(Participation)) == (1, 1)


def test_confirm_double_post_in_flight_both_end_on_the_same_receipt(open_round, browser):
    """A double tap: both requests leave the phone with the cookie from before the first,
    and whichever response lands last, the phone shows the one ballot's receipt."""
    client = logged_in_with_choices(browser, open_round, open_round.ids[:2])
    token = csrf_token(client, open_round.path("review"))
    cookie_before = client.get_cookie("session").value

    first = client.post(open_round.path("confirm"), data={"csrf_token": token})
    first_receipt = RECEIPT_RE.search(text_of(client.get(open_round.path("receipt")))).group(1)
    client.set_cookie("session", cookie_before)
    second = client.post(open_round.path("confirm"), data={"csrf_token": token})
    second_receipt = RECEIPT_RE.search(text_of(client.get(open_round.path("receipt")))).group(1)

    assert (first.status_code, second.status_code) == (302, 302)
    assert second.headers["Location"] == open_round.path("receipt")
    assert first_receipt == second_receipt
    assert db.session.scalars(select(Ballot.receipt_hash)).one() == receipt_hash(first_receipt)
    assert (count(Ballot), count(Participation), count(BallotChoice)) == (1, 1, 2)


def test_confirm_with_a_code_already_used_elsewhere_shows_already_voted(open_round, browser):
    """Two phones, one code: the second phone's session has its own receipt, which is on no
    ballot, so it gets the already-voted page and no receipt."""
    phone_a = logged_in_with_choices(browser, open_round, open_round.ids[:1])
    phone_b = logged_in_with_choices(browser, open_round, open_round.ids[1:2])
    token_b = csrf_token(phone_b, open_round.path("review"))
    submit(phone_a, open_round.path("confirm"), {}, page=open_round.path("review"))

    refused = phone_b.post(open_round.path("confirm"), data={"csrf_token": token_b})

    assert refused.status_code == 409
    assert "这张投票单已经投过票了" in text_of(refused)
    assert "投票方式：投票码" in text_of(refused)
    assert phone_b.get(open_round.path("receipt")).status_code == 302
    assert (count(Ballot), count(Participation), count(BallotChoice)) == (1, 1, 1)


def test_confirm_without_csrf_token_refused_400_nothing_stored(open_round, browser):
    client = logged_in_with_choices(browser, open_round, open_round.ids[:1])

    response = client.post(open_round.path("confirm"))

    assert response.status_code == 400
    assert "<h1>页面已过期</h1>" in text_of(response)
    assert (count(Ballot), count(Participation)) == (0, 0)
    assert db.session.scalar(select(func.count()).where(VotingCode.used_at.is_not(None))) == 0
    assert client.get(open_round.path("review")).status_code == 200  # still in session


def test_enter_code_without_csrf_token_refused_400(open_round, browser):
    client = browser()

    response = client.post("/vote/", data={"code": open_round.codes[0]})

    assert response.status_code == 400
    assert client.get(open_round.path("ballot")).status_code == 401


def test_ballot_post_without_csrf_token_refused_400_nothing_remembered(open_round, browser):
    client = browser()
    client.get(f"/vote/c/{open_round.codes[0]}")

    response = client.post(open_round.path("ballot"), data={"choices": [str(open_round.ids[0])]})

    assert response.status_code == 400
    assert client.get(open_round.path("review")).headers["Location"] == open_round.path("ballot")


def test_receipt_without_vote_redirects_to_round_page(open_round, browser):
    response = browser().get(open_round.path("receipt"))

    assert response.status_code == 302
    assert response.headers["Location"] == f"/rounds/{open_round.round_id}"


# --- headers and language ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/vote/", "/staff/login", "/healthz"])
def test_pages_carry_security_headers(open_round, browser, path):
    response = browser().get(path)

    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_ballot_and_receipt_pages_not_stored_in_cache(open_round, browser):
    client = logged_in_with_choices(browser, open_round, open_round.ids[:1])

    ballot = client.get(open_round.path("ballot"))
    review = client.get(open_round.path("review"))
    submit(client, open_round.path("confirm"), {}, page=open_round.path("review"))
    receipt = client.get(open_round.path("receipt"))

    for response in (ballot, review, receipt):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/", "/vote/", "/staff/login"])
def test_pages_declare_simplified_chinese(open_round, browser, path):
    response = browser().get(path)

    assert '<html lang="zh-Hans">' in text_of(response)
