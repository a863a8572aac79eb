"""Staff pages over HTTP: who may reach what, frozen objects, log-in and log-out, health."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import Browser, csrf_token, is_postgres, submit
from tests.council_records import council_input, request_and_approve
from tests.factories import PASSWORD, World, candidate_input, make_staff, make_station
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import AuditEvent, Candidate, CouncilMeeting, RoundCandidate, VotingRound
from voting.services import council as council_service
from voting.services import intake, rounds

BEIJING = ZoneInfo("Asia/Shanghai")
LOCAL = "%Y-%m-%dT%H:%M"


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    return World(candidates=3)


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def field_errors(html: str) -> dict[str, list[str]]:
    """Error sentences under each form field, keyed by the field's id."""
    errors: dict[str, list[str]] = {}
    for chunk in html.split('<div class="field')[1:]:
        label = re.search(r'<label for="([\w-]+)"', chunk)
        found = re.findall(r'<p class="error" role="alert">([^<]+)</p>', chunk)
        if label and found:
            errors[label.group(1)] = found
    return errors


def candidate_form(community_id: int, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "增设停车位",
        "summary": "在空地增设停车位",
        "description": "利用闲置空地增设停车位。",
        "category": "停车出行",
        "community_id": str(community_id),
        "location": "3幢北侧空地",
        "target": "新增停车位30个",
        "cost_yuan": "280000",
        "source": "seminar",
        "raised_by": "37",
    }
    data.update(overrides)
    return data


def login(client: Browser, username: str, password: str, *, next_: str | None = None):  # type: ignore[no-untyped-def]
    path = "/staff/login" + (f"?next={next_}" if next_ is not None else "")
    return submit(client, path, {"username": username, "password": password})


# --- who may reach what -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/station/", "/official/", "/council/"])
def test_staff_pages_anonymous_redirect_to_login(app, browser, path):
    response = browser().get(path)

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/staff/login"
    assert location.query == "next=" + path.replace("/", "%2F")


@pytest.mark.parametrize("path", ["/official/", "/council/", "/official/rounds/new"])
def test_staff_pages_station_user_on_other_role_gets_403(world, browser, path):
    response = browser(world.station_staff).get(path)

    assert response.status_code == 403
    assert "没有权限" in text_of(response)


def test_station_pages_own_role_gets_200(world, browser):
    response = browser(world.station_staff).get("/station/")

    assert response.status_code == 200
    assert "南肖埠人大代表联络站" in text_of(response)


def test_candidate_edit_other_station_refused_403_unchanged(world, browser):
    station_b = make_station(world.street, name="景芳人大代表联络站")
    staff_b = make_staff(world.street, Role.STATION, station=station_b)
    theirs = intake.submit_candidate(
        staff_b, candidate_input(world.communities[1].id, title="景芳微花园", cost_yuan=60_000)
    )
    theirs_id = theirs.id
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    station_a = browser(world.station_staff)

    opened = station_a.get(f"/station/candidates/{theirs_id}/edit")
    token = csrf_token(station_a, "/station/candidates/new")
    edited = station_a.post(
        f"/station/candidates/{theirs_id}/edit",
        data={
            **candidate_form(world.communities[0].id, title="改掉别站的项目"),
            "csrf_token": token,
        },
    )
    listing = station_a.get("/station/")

    assert opened.status_code == 403
    assert "只能查看和修改本联络站提交的项目。" in text_of(opened)
    assert edited.status_code == 403
    candidate = db.session.get(Candidate, theirs_id)
    assert (candidate.title, candidate.cost_yuan, candidate.community_id) == (
        "景芳微花园",
        60_000,
        world.communities[1].id,
    )
    assert candidate.station_id == station_b.id
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert "景芳微花园" not in text_of(listing)


def test_candidate_edit_accepted_refused_unchanged(world, browser):
    accepted = world.candidates[0]
    accepted_id = accepted.id
    station = browser(world.station_staff)

    response = submit(
        station,
        f"/station/candidates/{accepted_id}/edit",
        candidate_form(world.communities[0].id, title="偷偷改名", cost_yuan="1"),
    )

    assert response.status_code == 409
    assert "该项目已审查通过，不能再修改。" in text_of(response)
    candidate = db.session.get(Candidate, accepted_id)
    assert (candidate.title, candidate.cost_yuan, candidate.status) == (
        "增设停车位",
        280_000,
        "accepted",
    )


def test_candidate_edit_accepted_answers_409(world, browser):
    response = submit(
        browser(world.station_staff),
        f"/station/candidates/{world.candidates[0].id}/edit",
        candidate_form(world.communities[0].id, title="偷偷改名"),
    )

    assert response.status_code == 409


def _round_form(world: World, **overrides: object) -> dict[str, object]:
    local_now = datetime.now(BEIJING)
    data: dict[str, object] = {
        "title": "改过的投票活动",
        "description": "",
        "community_ids": [str(c.id) for c in world.communities],
        "candidate_ids": [str(c.id) for c in world.candidates],
        "opens_at": (local_now - timedelta(days=1)).strftime(LOCAL),
        "closes_at": (local_now + timedelta(days=7)).strftime(LOCAL),
        "min_choices": "1",
        "max_choices": "1",
        "budget_yuan": "",
        "seats": "2",
        "outcome_rule": "top_n",
    }
    data.update(overrides)
    return data


def test_round_edit_opened_refused_unchanged(world, browser):
    round_id = world.open_round(datetime.now(UTC), max_choices=2)
    before = db.session.get(VotingRound, round_id)
    snapshot = (before.title, before.max_choices, before.status, before.opens_at)
    official = browser(world.official)

    response = submit(official, f"/official/rounds/{round_id}/edit", _round_form(world))

    assert response.status_code == 409
    assert "投票已开始，规则和候选名单已冻结，不能再修改。" in text_of(response)
    after = db.session.get(VotingRound, round_id)
    assert (after.title, after.max_choices, after.status, after.opens_at) == snapshot
    assert snapshot[:3] == ("2026年凯旋街道民生实事候选项目公开投票", 2, "open")
    entries = db.session.scalar(
        select(func.count()).select_from(RoundCandidate).where(RoundCandidate.round_id == round_id)
    )
    assert entries == 3


def test_round_edit_opened_answers_409(world, browser):
    round_id = world.open_round(datetime.now(UTC), max_choices=2)

    response = submit(
        browser(world.official), f"/official/rounds/{round_id}/edit", _round_form(world)
    )

    assert response.status_code == 409


def _finalized_round(world: World) -> int:
    round_id = world.open_round(datetime.now(UTC), max_choices=2)
    rounds.close_round(world.official, round_id, reason="测试提前结束")
    rnd = rounds.load_round(round_id)
    picked = frozenset(e.candidate_id for e in rnd.entries if e.rule_selected)
    council_service.save_record(
        world.clerk,
        round_id,
        council_input(
            [e.candidate_id for e in rnd.entries],
            selected=picked,
            held_on=datetime.now(BEIJING).date(),
        ),
    )
    request_and_approve(world.clerk, world.official, round_id)
    return round_id


def test_council_record_after_finalize_answers_409(world, browser):
    round_id = _finalized_round(world)
    data = {
        "held_on": "2026-06-01",
        "place": "别处",
        "members_expected": "30",
        "members_present": "30",
        "resolution": "改",
        **{f"votes-{c.id}": "1" for c in world.candidates},
    }

    response = submit(browser(world.clerk), f"/council/rounds/{round_id}", data)

    assert response.status_code == 409
    assert db.session.get(CouncilMeeting, round_id).members_present == 25


# --- log-in and log-out -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"),
    [("own", "wrong-password-123"), ("nobody-here", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_login_bad_credentials_shows_message_and_stays_anonymous(
    world, browser, username, password
):
    client = browser()
    name = world.station_staff.username if username == "own" else username

    response = login(client, name, password)
    after = client.get("/station/")

    assert response.status_code == 422
    assert field_errors(text_of(response)) == {"password": ["用户名或密码不正确。"]}
    assert after.status_code == 302
    assert urlsplit(after.headers["Location"]).path == "/staff/login"


@pytest.mark.parametrize(
    ("user", "home"),
    [("station_staff", "/station/"), ("official", "/official/"), ("clerk", "/council/")],
)
def test_login_right_password_goes_to_role_home(world, browser, user, home):
    client = browser()

    response = login(client, getattr(world, user).username, PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == home
    assert client.get(home).status_code == 200


@pytest.mark.parametrize(
    "target", ["//evil.example", "//evil.example/staff", "https://evil.example/", "evil.example"]
)
def test_login_next_to_other_host_not_followed(world, browser, target):
    response = login(browser(), world.station_staff.username, PASSWORD, next_=target)

    assert response.status_code == 302
    assert response.headers["Location"] == "/station/"


def test_login_next_same_site_path_followed(world, browser):
    response = login(
        browser(), world.station_staff.username, PASSWORD, next_="/station/candidates/new"
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/station/candidates/new"


def test_login_next_with_tab_to_other_host_not_followed(world, browser):
    response = login(browser(), world.station_staff.username, PASSWORD, next_="/%09/evil.example")

    assert response.status_code == 302
    assert response.headers["Location"] == "/station/"


def test_set_language_next_with_tab_to_other_host_not_followed(app, browser):
    client = browser()

    response = submit(client, "/lang/en", {"next": "/\t/evil.example"}, page="/vote/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_set_language_next_to_other_host_not_followed(app, browser):
    client = browser()

    response = submit(client, "/lang/en", {"next": "//evil.example"}, page="/vote/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get_cookie("lang").value == "en"


def test_logout_get_not_allowed(world, browser):
    client = browser(world.station_staff)

    response = client.get("/staff/logout")

    assert response.status_code == 405
    assert client.get("/station/").status_code == 200


def test_logout_post_without_csrf_refused_stays_logged_in(world, browser):
    client = browser(world.station_staff)

    response = client.post("/staff/logout")

    assert response.status_code == 400
    assert "页面已过期" in text_of(response)
    assert client.get("/station/").status_code == 200


def test_logout_post_with_csrf_logs_out(world, browser):
    client = browser()
    login(client, world.station_staff.username, PASSWORD)
    assert client.get("/station/").status_code == 200

    response = submit(client, "/staff/logout", {}, page="/station/candidates/new")
    after = client.get("/station/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert after.status_code == 302
    assert urlsplit(after.headers["Location"]).path == "/staff/login"


# --- health -------------------------------------------------------------------------------


def test_healthz_returns_ok_json(app, browser):
    response = browser().get("/healthz")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "status": "ok",
        "database": "postgresql" if is_postgres() else "sqlite",
    }


# --- candidate form input ---------------------------------------------------------------


def test_candidate_new_bad_input_shows_chinese_field_errors_422_stores_nothing(world, browser):
    before = db.session.scalar(select(func.count()).select_from(Candidate))

    response = submit(
        browser(world.station_staff),
        "/station/candidates/new",
        candidate_form(world.communities[0].id, title="", cost_yuan="-5", raised_by="-1"),
    )

    assert response.status_code == 422
    assert field_errors(text_of(response)) == {
        "title": ["请填写此项"],
        "cost_yuan": ["金额须为 0 或正整数"],
        "raised_by": ["人数须为 0 或正整数"],
    }
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == before == 3


def test_candidate_new_valid_input_stored_as_submitted(world, browser):
    response = submit(
        browser(world.station_staff),
        "/station/candidates/new",
        candidate_form(world.communities[1].id, title="景芳健身点", cost_yuan="45000"),
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/station/"
    stored = db.session.scalars(select(Candidate).where(Candidate.title == "景芳健身点")).one()
    assert (stored.cost_yuan, stored.status, stored.station_id, stored.community_id) == (
        45_000,
        "submitted",
        world.station.id,
        world.communities[1].id,
    )
