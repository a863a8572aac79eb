"""The resident's path on a phone, in Chromium: QR link → ballot → review → confirm → receipt,
the phone-code channel, a reload mid-ballot, a double tap on confirm, and the dead ends."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from voting.domain.codes import generate_code

from .conftest import wait_for
from .steps import (
    CONFIRM,
    NEXT,
    RECEIPT,
    ballots,
    checkbox,
    go_next,
    matches_ballot,
    open_ballot,
    participations,
    receipt_text,
    tick,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_code_link_two_choices_confirmed_shows_receipt_and_board_link(page, street, live):
    open_ballot(page, street)
    tick(page, street, 0, 2)
    go_next(page, street)

    review = page.locator("main").inner_text()
    assert street.titles[0] in review
    assert street.titles[2] in review
    assert street.titles[1] not in review
    page.get_by_role("button", name=CONFIRM).tap()
    page.wait_for_url(f"**{street.path('receipt')}")

    receipt = receipt_text(page)
    assert RECEIPT.match(receipt), receipt
    board = page.get_by_role("link", name="到回执公示查询")
    assert board.get_attribute("href") == f"/rounds/{street.round_id}/receipts"
    [ballot] = ballots(live, street.round_id)
    assert matches_ballot(receipt, ballot)


@pytest.mark.parametrize("context_options", [{"java_script_enabled": False}], ids=["no-js"])
def test_code_link_with_javascript_off_reaches_receipt(page, street, live):
    open_ballot(page, street)
    tick(page, street, 1)
    go_next(page, street)
    page.get_by_role("button", name=CONFIRM).tap()
    page.wait_for_url(f"**{street.path('receipt')}")

    [ballot] = ballots(live, street.round_id)
    assert matches_ballot(receipt_text(page), ballot)


def test_ballot_over_selection_refused_with_a_sentence(page, street, live):
    open_ballot(page, street)
    tick(page, street, 0, 1, 2)  # the round allows 2

    page.get_by_role("button", name=NEXT).tap()

    assert page.url.endswith(street.path("ballot"))
    assert "最多只能选 2 个项目" in page.get_by_role("alert").inner_text()
    assert ballots(live, street.round_id) == []


def test_ballot_reload_before_next_keeps_ticks(page, street):
    """Before "next" the ticks live in the tab's sessionStorage (static/js/resident.js)."""
    open_ballot(page, street)
    tick(page, street, 0, 1)

    page.reload()

    assert [checkbox(page, t).is_checked() for t in street.titles] == [True, True, False, False]
    assert "已选 2/2" in page.locator("#tally").inner_text()


def test_ballot_ticks_of_one_voter_never_reach_the_next_on_the_same_phone(page, street):
    open_ballot(page, street, code_index=0)
    tick(page, street, 0, 1)

    open_ballot(page, street, code_index=1)  # the next resident scans their own slip

    assert not any(checkbox(page, t).is_checked() for t in street.titles)
    assert "已选 0/2" in page.locator("#tally").inner_text()


def test_ballot_reload_and_back_after_next_keep_ticks(page, street):
    open_ballot(page, street)
    tick(page, street, 0, 1)
    go_next(page, street)

    page.go_back()
    page.wait_for_url(f"**{street.path('ballot')}")
    after_back = [checkbox(page, t).is_checked() for t in street.titles]
    page.reload()
    after_reload = [checkbox(page, t).is_checked() for t in street.titles]

    assert after_back == after_reload == [True, True, False, False]


def test_confirm_double_tap_one_ballot_one_receipt(page, street, live):
    open_ballot(page, street)
    tick(page, street, 1)
    go_next(page, street)
    confirms: list[str] = []
    page.on("request", lambda r: confirms.append(r.method) if "/confirm" in r.url else None)

    page.get_by_role("button", name=CONFIRM).dblclick()
    page.wait_for_url(f"**{street.path('receipt')}")
    page.wait_for_load_state()

    assert confirms, "the confirm button did not submit"
    [ballot] = ballots(live, street.round_id)
    assert participations(live, street.round_id) == 1
    assert matches_ballot(receipt_text(page), ballot)


# Two confirmations in flight at once, as a double tap on a slow network sends them (Chromium
# itself folds a double click into one POST, above): both carry the same voter session.
SUBMIT_TWICE = """async () => {
  const form = document.querySelector('form[action$="/confirm"]');
  const send = () => fetch(form.action, {method: 'POST', body: new FormData(form)});
  await Promise.all([send(), send()]);
}"""


def test_confirm_sent_twice_at_once_casts_one_ballot(page, street, live):
    open_ballot(page, street)
    tick(page, street, 1)
    go_next(page, street)

    page.evaluate(SUBMIT_TWICE)
    page.goto(street.path("receipt"))

    [ballot] = ballots(live, street.round_id)
    assert participations(live, street.round_id) == 1
    # Whichever response's cookie landed last, the phone holds the one ballot's receipt.
    assert matches_ballot(receipt_text(page), ballot)


def test_used_code_shows_when_and_how_it_voted(page, street):
    today = datetime.now(SHANGHAI).strftime("%Y-%m-%d")
    open_ballot(page, street)
    tick(page, street, 0)
    go_next(page, street)
    page.get_by_role("button", name=CONFIRM).tap()
    page.wait_for_url(f"**{street.path('receipt')}")

    page.goto(f"/vote/c/{street.codes[0]}")

    main = page.locator("main").inner_text()
    assert "这张投票单已经投过票了" in page.locator("h1").inner_text()
    assert re.search(rf"投票时间：{today} \d\d:\d\d；投票方式：投票码。", main), main
    assert street.station_address in main  # what to do next: the station


def test_round_not_open_yet_says_when_it_opens(page, seed):
    now = datetime.now(UTC)
    street = seed(opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=9))

    page.goto(f"/vote/c/{street.codes[0]}")

    assert page.locator("h1").inner_text() == "投票还没有开始"
    assert "开始，到时请再用同一个投票码投票" in page.locator("main").inner_text()
    assert street.station_address in page.locator("main").inner_text()


def test_unknown_code_says_so_next_to_the_field(page, street):
    page.goto(f"/vote/c/{generate_code(random.Random(404))}")  # well-formed, on no slip

    error = page.get_by_role("alert")
    assert error.count() == 1
    assert error.inner_text().strip()
    assert page.get_by_role("textbox").count() == 1  # the code can be typed again


def test_phone_code_from_sms_outbox_to_receipt(page, street, live):
    person = street.person
    page.goto("/vote/phone")
    page.get_by_label("姓名").fill(person.name)
    page.get_by_label("身份证号").fill(person.id_number)
    page.get_by_label("手机号").fill(person.phone)
    page.get_by_role("button", name="获取验证码").tap()
    page.wait_for_url("**/vote/phone/verify")

    to, text = wait_for(lambda: live.sms().messages)[-1]
    assert to == person.phone
    code = re.search(r"\b(\d{6})\b", text).group(1)
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name=re.compile("下一步")).tap()
    page.wait_for_url(f"**{street.path('ballot')}")
    tick(page, street, 3)
    go_next(page, street)
    page.get_by_role("button", name=CONFIRM).tap()
    page.wait_for_url(f"**{street.path('receipt')}")

    [ballot] = ballots(live, street.round_id)
    assert matches_ballot(receipt_text(page), ballot)
