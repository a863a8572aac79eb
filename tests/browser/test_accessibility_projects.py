"""axe-core on the resident pages of issue 6, standard and 长辈版: no serious or critical
violation. The 公示 notice, the objection pages (period over on the finished 2025 round;
period open on a round approved just now), a project's page and the street dashboard.

As in test_accessibility.py: should one appear, fix the page, never loosen the assertion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import ARTIFACTS, Finished, Gongshi, LiveApp, wait_for
from .test_accessibility import serious_violations

CORNER = "新风社区道路拐角拓宽"  # two suggestions, a delay, a 基本满意 grade
WINDOWS = "南肖埠社区老旧门窗修葺"  # two supervision rounds, a failed spot check


def _elderly(page: Any, live: LiveApp, mode: str) -> None:
    if mode == "elderly":  # the switch's cookie, as the header button sets it
        page.context.add_cookies([{"name": "elderly", "value": "1", "url": live.url}])


def _looks(page: Any, mode: str) -> None:
    assert (page.locator("html").get_attribute("class") == "elderly") == (mode == "elderly")


def _notice(page: Any, made: Finished) -> None:
    page.goto(f"/rounds/{made.round_id}/notice")
    assert "公示期已满，项目进入实施" in page.locator("main").inner_text()


def _objection_closed(page: Any, made: Finished) -> None:
    response = page.goto(f"/rounds/{made.round_id}/objection")
    assert response.status == 409
    assert page.locator("h1").inner_text() == "不在异议期内"


def _project(page: Any, made: Finished) -> None:
    page.goto(f"/projects/{made.projects[WINDOWS]}")
    assert page.locator("h1").inner_text() == WINDOWS


def _project_delayed(page: Any, made: Finished) -> None:
    page.goto(f"/projects/{made.projects[CORNER]}")
    assert "基本满意" in page.locator("main").inner_text()


def _dashboard(page: Any, made: Finished) -> None:
    page.goto(f"/streets/{made.street_id}/supervision")
    assert page.locator("h1").inner_text() == "凯旋街道民生实事督办情况"


FINISHED: dict[str, Callable[[Any, Finished], None]] = {
    "notice": _notice,
    "objection_closed": _objection_closed,
    "project": _project,
    "project_delayed": _project_delayed,
    "dashboard": _dashboard,
}


@pytest.mark.parametrize("mode", ["standard", "elderly"])
def test_finished_round_pages_axe_no_serious_or_critical(page, finished, live, axe, mode):
    """Every page in one test: loading the demo takes seconds, the pages only read it."""
    _elderly(page, live, mode)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, visit in FINISHED.items():
        visit(page, finished)
        _looks(page, mode)
        found[name] = serious_violations(axe, page)
        page.screenshot(path=str(ARTIFACTS / f"finished_{name}_{mode}.png"), full_page=True)

    assert found == {name: [] for name in FINISHED}


def _notice_open(page: Any, made: Gongshi, live: LiveApp) -> None:
    page.goto(made.path("notice"))
    assert page.get_by_role("link", name="我有异议").is_visible()


def _objection(page: Any, made: Gongshi, live: LiveApp) -> None:
    page.goto(made.path("objection"))
    assert page.locator("h1").inner_text() == "对公示提出异议"


def _objection_file(page: Any, made: Gongshi, live: LiveApp) -> None:
    _objection(page, made, live)
    page.get_by_label("姓名").fill(made.person.name)
    page.get_by_label("身份证号").fill(made.person.id_number)
    page.get_by_label("手机号").fill(made.person.phone)
    page.get_by_role("button", name="获取验证码").tap()
    page.wait_for_url(f"**{made.path('objection/file')}")
    wait_for(lambda: live.sms().messages)


def _objection_refused(page: Any, made: Gongshi, live: LiveApp) -> None:
    """A wrong code and an empty text: the errors are announced and tied to their fields."""
    _objection_file(page, made, live)
    page.get_by_label("短信验证码").fill("000000")
    page.get_by_role("button", name="提交异议").tap()
    page.get_by_role("alert").first.wait_for()


OPEN: dict[str, Callable[[Any, Gongshi, LiveApp], None]] = {
    "notice_open": _notice_open,
    "objection": _objection,
    "objection_file": _objection_file,
    "objection_refused": _objection_refused,
}


@pytest.mark.parametrize("mode", ["standard", "elderly"])
@pytest.mark.parametrize("name", OPEN)
def test_open_period_page_axe_no_serious_or_critical(page, gongshi, live, axe, name, mode):
    _elderly(page, live, mode)
    OPEN[name](page, gongshi, live)
    _looks(page, mode)

    assert serious_violations(axe, page) == []
