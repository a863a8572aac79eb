"""The official's street settings page: roles, the street's own values, validation, audit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token, submit
from tests.factories import World, make_staff
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import AuditEvent, Street

PAGE = "/official/street"


@pytest.fixture
def world(app):
    return World()


def settings(street_id: int) -> tuple[int, int, int]:
    street = db.session.get(Street, street_id)
    db.session.refresh(street)
    return street.quorum_num, street.quorum_den, street.objection_days


def events() -> list[dict[str, object]]:
    query = select(AuditEvent.payload).where(AuditEvent.action == "street.settings_changed")
    return [json.loads(p) for p in db.session.scalars(query)]


def save(client, num: object, den: object, days: object):  # type: ignore[no-untyped-def]
    return submit(client, PAGE, {"quorum_num": num, "quorum_den": den, "objection_days": days})


def test_street_settings_linked_from_official_index_shows_current(world, browser):
    official = browser(world.official)
    assert f'href="{PAGE}"' in official.get("/official/").get_data(as_text=True)
    page = official.get(PAGE)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "现行设置：实到人数须超过应到人数的 2/3；公示异议期 5 个工作日。" in body
    assert 'name="quorum_den" required type="number" value="3"' in body
    assert 'name="objection_days" required type="number" value="5"' in body


def test_street_settings_saved_redirect_says_saved_and_audited(world, browser):
    official = browser(world.official)

    response = save(official, 3, 4, 7)

    assert response.status_code == 302
    assert response.headers["Location"] == f"{PAGE}?saved=1"
    page = official.get(response.headers["Location"]).get_data(as_text=True)
    assert "已保存，修改已记入审计链。" in page
    assert "实到人数须超过应到人数的 3/4；公示异议期 7 个工作日。" in page
    assert settings(world.street.id) == (3, 4, 7)
    assert events() == [{"quorum": ["2/3", "3/4"], "objection_days": [5, 7]}]


@pytest.mark.parametrize(
    ("num", "den", "days", "message"),
    [
        (1, 3, 5, "法定人数比例须不低于二分之一、小于 1"),
        (2, 2, 5, "法定人数比例须不低于二分之一、小于 1"),
        (2, 0, 5, "法定人数比例的分母至少为 1。"),
        (2, 3, 0, "公示异议期须为 1 到 30 个工作日。"),
        (2, 3, 31, "公示异议期须为 1 到 30 个工作日。"),
        ("", 3, 5, "请填写 0 到 999 之间的整数"),
        ("二", 3, 5, "不是有效的整数。"),
        (2, 3, -1, "请填写 0 到 999 之间的整数"),
        (2, 3, 10**12, "请填写 0 到 999 之间的整数"),
    ],
)
def test_street_settings_bad_input_422_in_chinese_nothing_saved(
    world, browser, num, den, days, message
):
    response = save(browser(world.official), num, den, days)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert settings(world.street.id) == (2, 3, 5)
    assert events() == []


def test_street_settings_clerk_and_station_403(world, browser):
    for user in (world.clerk, world.station_staff):
        assert browser(user).get(PAGE).status_code == 403
    clerk = browser(world.clerk)
    token = csrf_token(clerk, "/council/")
    data = {"quorum_num": 3, "quorum_den": 4, "objection_days": 7, "csrf_token": token}
    assert clerk.post(PAGE, data=data).status_code == 403
    assert settings(world.street.id) == (2, 3, 5)


def test_street_settings_anonymous_sent_to_login(world, client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_street_settings_official_changes_only_own_street(world, browser):
    other = World(candidates=0, street="闸弄口街道")
    official = browser(make_staff(other.street, Role.OFFICIAL))

    assert save(official, 4, 5, 9).status_code == 302

    assert settings(other.street.id) == (4, 5, 9)
    assert settings(world.street.id) == (2, 3, 5)


def test_street_settings_without_csrf_400(world, browser):
    response = browser(world.official).post(
        PAGE, data={"quorum_num": 3, "quorum_den": 4, "objection_days": 7}
    )
    assert response.status_code == 400
    assert settings(world.street.id) == (2, 3, 5)
