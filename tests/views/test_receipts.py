"""The public receipt board and receipt checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.conftest import TEST_PEPPER, submit
from tests.factories import World
from voting.services import voting


def _setup(count: int):
    world = World()
    now = datetime.now(UTC)
    round_id = world.open_round(now)
    world.residents(count)
    receipts = []
    for code in world.issue_codes(round_id):
        login = voting.login_with_code(code, pepper=TEST_PEPPER.encode(), now=now)
        receipts.append(voting.cast_ballot(login, [world.candidates[0].id], now=now))
    return world, round_id, receipts


def test_receipt_board_lists_sorted_hints_without_choices(app, browser):
    world, round_id, receipts = _setup(5)
    page = browser().get(f"/rounds/{round_id}/receipts").get_data(as_text=True)
    hints = re.findall(r"<code>([0-9A-Z]{4})-([0-9A-Z]{4})</code>", page)
    assert ["".join(h) for h in hints] == sorted(r[:8] for r in receipts)
    assert "已记录的选票：5 张" in page
    assert world.candidates[0].title not in page


def test_receipt_check_found_and_not_found(app, browser):
    _world, round_id, receipts = _setup(2)
    client = browser()
    found = submit(client, f"/rounds/{round_id}/receipts", {"receipt": receipts[0].lower()})
    assert "已找到" in found.get_data(as_text=True)
    missing = submit(client, f"/rounds/{round_id}/receipts", {"receipt": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"})
    assert "没有找到这个回执码" in missing.get_data(as_text=True)


def test_receipt_check_is_rate_limited_per_ip(app, browser, monkeypatch):
    monkeypatch.setitem(app.config, "RECEIPT_CHECK_LIMIT_PER_IP", "3 per hour")
    _world, round_id, _receipts = _setup(1)
    client = browser()
    statuses = [
        submit(client, f"/rounds/{round_id}/receipts", {"receipt": "ABCD"}).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]


def test_receipt_board_pages_by_hint(app, browser, monkeypatch):
    monkeypatch.setattr("voting.services.receipts.PAGE_SIZE", 3)
    _world, round_id, receipts = _setup(7)
    client = browser()
    seen: list[str] = []
    pages = 0
    path = f"/rounds/{round_id}/receipts"
    while path:
        pages += 1
        page = client.get(path).get_data(as_text=True)
        seen += ["".join(h) for h in re.findall(r"<code>(\w{4})-(\w{4})</code>", page)]
        nxt = re.search(r'href="([^"]+after=[^"]+)"', page)
        path = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert seen == sorted(r[:8] for r in receipts)
    assert pages == 3
