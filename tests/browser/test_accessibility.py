"""axe-core on every resident page: no serious or critical violation.

None today. Should one appear, mark only that page's case
``pytest.param(name, marks=pytest.mark.xfail(strict=True, reason="axe rule <id>"))`` and
never loosen the assertion: the fix then flips the case and the mark has to go.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from voting.domain.codes import generate_code

from .conftest import Street, wait_for
from .steps import CONFIRM, go_next, open_ballot, tick

BLOCKING = ("serious", "critical")


def serious_violations(axe: Any, page: Any) -> list[str]:
    """One line per failing element: rule id, impact, CSS target."""
    results = axe.run(page)
    return [
        f"{v['id']} ({v['impact']}) at {', '.join(map(str, node['target']))}: {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]


def _code_entry(page: Any, street: Street, live: Any) -> None:
    page.goto("/vote/")


def _code_error(page: Any, street: Street, live: Any) -> None:
    page.goto(f"/vote/c/{generate_code(random.Random(404))}")


def _ballot(page: Any, street: Street, live: Any) -> None:
    open_ballot(page, street)


def _review(page: Any, street: Street, live: Any) -> None:
    open_ballot(page, street)
    tick(page, street, 0, 1)
    go_next(page, street)


def _receipt(page: Any, street: Street, live: Any) -> None:
    _review(page, street, live)
    page.get_by_role("button", name=CONFIRM).tap()
    page.wait_for_url(f"**{street.path('receipt')}")


def _already_voted(page: Any, street: Street, live: Any) -> None:
    _receipt(page, street, live)
    page.goto(f"/vote/c/{street.codes[0]}")


def _round(page: Any, street: Street, live: Any) -> None:
    page.goto(f"/rounds/{street.round_id}")


def _results(page: Any, street: Street, live: Any) -> None:
    page.goto(f"/rounds/{street.round_id}/results")


def _receipt_board(page: Any, street: Street, live: Any) -> None:
    page.goto(f"/rounds/{street.round_id}/receipts")


def _phone(page: Any, street: Street, live: Any) -> None:
    page.goto("/vote/phone")


def _phone_verify(page: Any, street: Street, live: Any) -> None:
    page.goto("/vote/phone")
    page.get_by_label("姓名").fill(street.person.name)
    page.get_by_label("身份证号").fill(street.person.id_number)
    page.get_by_label("手机号").fill(street.person.phone)
    page.get_by_role("button", name="获取验证码").tap()
    page.wait_for_url("**/vote/phone/verify")
    wait_for(lambda: live.sms().messages)


def _no_session(page: Any, street: Street, live: Any) -> None:
    page.goto(street.path("ballot"))


PAGES: dict[str, Callable[[Any, Street, Any], None]] = {
    "code_entry": _code_entry,
    "code_error": _code_error,
    "ballot": _ballot,
    "review": _review,
    "receipt": _receipt,
    "already_voted": _already_voted,
    "no_session": _no_session,
    "round": _round,
    "results": _results,
    "receipt_board": _receipt_board,
    "phone": _phone,
    "phone_verify": _phone_verify,
}


@pytest.mark.parametrize("mode", ["standard", "elderly"])
@pytest.mark.parametrize("name", PAGES)
def test_resident_page_axe_no_serious_or_critical(page, street, live, axe, name, mode):
    if mode == "elderly":  # the switch's cookie, as the header button sets it
        page.context.add_cookies([{"name": "elderly", "value": "1", "url": live.url}])
    PAGES[name](page, street, live)
    assert (page.locator("html").get_attribute("class") == "elderly") == (mode == "elderly")

    assert serious_violations(axe, page) == []


def test_not_open_page_axe_no_serious_or_critical(page, seed, axe):
    now = datetime.now(UTC)
    street = seed(opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=9))
    page.goto(f"/vote/c/{street.codes[0]}")

    assert serious_violations(axe, page) == []
