"""What helps a resident on the ballot and after it: the live "已选 n/m" count, the budget
bar, the copy button on the receipt, 长辈版 and English along the whole path, and the dead
ends of a timed-out session and a closed round."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.phone_roll import stranger
from voting.extensions import db
from voting.models import StaffUser
from voting.services import rounds as rounds_service

from .steps import (
    CONFIRM,
    ballots,
    checkbox,
    go_next,
    matches_ballot,
    open_ballot,
    receipt_text,
    tick,
)


def test_ballot_counts_as_boxes_are_ticked_and_says_when_over(page, street):
    open_ballot(page, street)
    tally = page.locator("#tally")
    assert "已选 0/2" in tally.inner_text()

    tick(page, street, 0)
    assert "已选 1/2" in tally.inner_text()
    tick(page, street, 1, 2)

    assert "已选 3/2" in tally.inner_text()
    warning = tally.locator("[data-warning]")
    assert warning.is_visible()
    assert warning.inner_text() == "最多只能选 2 个项目，您选了 3 个，请去掉一些。"
    box = checkbox(page, street.titles[2])
    page.locator(f"label[for='{box.get_attribute('id')}']").tap()
    assert not warning.is_visible()
    assert "已选 2/2" in tally.inner_text()


def test_budget_ballot_shows_total_against_budget_in_words_and_bar(page, seed):
    # Candidates cost 28万, 12万, 3.2万 and 45万 (tests/factories.py); the budget is 50万.
    street = seed(max_choices=4, budget_yuan=500_000)
    open_ballot(page, street)
    tally = page.locator("#tally")
    assert "合计 0元 / 预算 50万元" in tally.inner_text()

    tick(page, street, 0, 1)
    assert "合计 40万元 / 预算 50万元" in tally.inner_text()
    assert page.locator("#tally meter").evaluate("m => m.value") == 400_000
    tick(page, street, 3)

    assert "合计 85万元 / 预算 50万元" in tally.inner_text()
    assert tally.locator("[data-warning]").inner_text() == "已超出预算，请去掉一些项目。"
    page.get_by_role("button", name="下一步").tap()  # the server refuses it too, in words
    assert "超过了预算上限" in page.get_by_role("alert").inner_text()


@pytest.mark.parametrize(
    "context_options", [{"permissions": ["clipboard-read", "clipboard-write"]}], ids=["clip"]
)
def test_receipt_copy_button_puts_the_code_on_the_clipboard(page, street, live):
    open_ballot(page, street)
    tick(page, street, 0)
    go_next(page, street)
    page.get_by_role("button", name=CONFIRM).tap()
    page.wait_for_url(f"**{street.path('receipt')}")

    page.get_by_role("button", name="复制回执码").tap()

    page.get_by_role("status").filter(has_text="已复制").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == receipt_text(page)
    [ballot] = ballots(live, street.round_id)
    assert matches_ballot(copied, ballot)
    # The saved ticks are gone once the ballot is cast.
    assert page.evaluate("Object.keys(sessionStorage).length") == 0


def _px(page, selector: str, prop: str) -> float:
    value = page.locator(selector).first.evaluate(
        f"e => getComputedStyle(e).getPropertyValue('{prop}')"
    )
    return float(value.removesuffix("px"))


def test_elderly_mode_whole_path_large_text_and_targets(page, street, live):
    page.goto(f"/rounds/{street.round_id}")
    with page.expect_navigation():
        page.get_by_role("button", name="长辈版（大字）").tap()
    assert page.get_by_role("button", name="退出长辈版").is_visible()

    open_ballot(page, street)
    assert _px(page, "body", "font-size") >= 18
    assert _px(page, ".button.big", "font-size") >= 30
    first_box = checkbox(page, street.titles[0]).bounding_box()
    assert first_box["width"] >= 60
    assert first_box["height"] >= 60
    tick(page, street, 1)
    go_next(page, street)
    page.get_by_role("button", name=CONFIRM).tap()
    page.wait_for_url(f"**{street.path('receipt')}")

    assert page.locator("html").get_attribute("class") == "elderly"
    [ballot] = ballots(live, street.round_id)
    assert matches_ballot(receipt_text(page), ballot)


def test_english_whole_path(page, street, live):
    page.goto(f"/rounds/{street.round_id}")
    with page.expect_navigation():
        page.get_by_role("button", name="English").tap()

    open_ballot(page, street)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Choose the projects you support"
    tick(page, street, 0)
    assert "Chosen 1/2" in page.locator("#tally").inner_text()
    page.get_by_role("button", name="Next").tap()
    page.wait_for_url(f"**{street.path('review')}")
    page.get_by_role("button", name="Confirm my vote").tap()
    page.wait_for_url(f"**{street.path('receipt')}")

    [ballot] = ballots(live, street.round_id)
    assert matches_ballot(receipt_text(page), ballot)
    assert page.get_by_role("button", name="Copy the receipt code").count() == 1


def test_session_timed_out_says_the_code_still_works(page, street, live):
    open_ballot(page, street)
    tick(page, street, 0)
    live.app.config["VOTER_SESSION_SECONDS"] = 1
    try:
        time.sleep(1.5)
        with page.expect_navigation():
            page.get_by_role("button", name="下一步").tap()
    finally:
        live.app.config["VOTER_SESSION_SECONDS"] = 1800

    assert page.locator("h1").inner_text() == "页面停留时间太久了"
    main = page.locator("main").inner_text()
    assert "您还没有投票，投票码仍然可以使用" in main
    assert street.station_address in main
    page.get_by_role("link", name="重新输入投票码").tap()
    page.wait_for_url("**/vote/")
    assert ballots(live, street.round_id) == []


def test_closed_round_says_it_ended_and_where_results_are(page, street, live):
    with live.app.app_context():
        official = db.session.scalars(
            db.select(StaffUser).where(StaffUser.role == "official")
        ).first()
        rounds_service.close_round(
            official, street.round_id, reason="测试：提前结束", now=datetime.now(UTC)
        )

    page.goto(f"/vote/c/{street.codes[0]}")

    assert page.locator("h1").inner_text() == "投票已经结束"
    main = page.locator("main").inner_text()
    assert "不能再投票了" in main
    assert street.station_address in main
    assert page.get_by_role("link", name="回到首页").is_visible()


def test_round_not_open_yet_in_elderly_mode_names_no_deadline_pressure(page, seed):
    now = datetime.now(UTC)
    street = seed(opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=9))
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("button", name="长辈版（大字）").tap()

    page.goto(f"/vote/c/{street.codes[0]}")

    assert page.locator("h1").inner_text() == "投票还没有开始"
    assert _px(page, "h1", "font-size") >= 30


def test_not_on_the_roll_gets_the_same_page_and_is_sent_to_the_station(page, street, live):
    """Off the roll, the phone channel answers exactly as on it (nobody can probe the roll);
    the page says what to do when no text comes: check the details, or go to the station."""
    person = stranger(seed=77)
    page.goto("/vote/phone")
    page.get_by_label("姓名").fill(person.name)
    page.get_by_label("身份证号").fill(person.id_number)
    page.get_by_label("手机号").fill(person.phone)
    with page.expect_navigation():
        page.get_by_role("button", name="获取验证码").tap()

    assert page.url.endswith("/vote/phone/verify")
    main = page.locator("main").inner_text()
    assert "如果您在本次投票的居民名册上，验证码已发送到您填写的手机号" in main
    assert "没有收到短信？" in main
    assert street.station_address in main
    time.sleep(0.5)  # a text would leave just after the response
    assert live.sms().messages == []
