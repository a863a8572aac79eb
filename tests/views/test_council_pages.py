"""Council pages: tally sheet (HTML/PDF), two-person buttons, the 公示 and objection pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import submit
from tests.council_records import council_input, request_and_approve
from tests.factories import World, make_staff
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import CouncilNotice
from voting.services import council, rounds


@pytest.fixture
def world(app):
    return World()


def _closed(world) -> int:  # type: ignore[no-untyped-def]
    round_id = world.open_round(datetime.now(UTC), max_choices=2)
    rounds.close_round(world.official, round_id, reason="测试提前结束")
    rnd = rounds.load_round(round_id)
    picked = {e.candidate_id for e in rnd.entries if e.rule_selected}
    data = council_input(
        [e.candidate_id for e in rnd.entries],
        selected=picked,
        held_on=datetime.now(UTC).date(),
        votes={e.candidate_id: 0 for e in rnd.entries},
    )
    assert council.save_record(world.clerk, round_id, data) == []
    return round_id


def test_tally_sheet_html_and_pdf_with_signature_lines(world, browser):
    round_id = _closed(world)
    official = browser(world.official)
    page = official.get(f"/council/rounds/{round_id}/tally").get_data(as_text=True)
    for text in (
        "计票人（签名）",
        "监票人（签名）",
        "主持人（签名）",
        "王计票、李监票",
        "差额票选",
    ):
        assert text in page
    pdf = official.get(f"/council/rounds/{round_id}/tally.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")


def test_tally_sheet_other_street_404_station_403(world, browser):
    round_id = _closed(world)
    other = make_staff(World(candidates=0, street="闸弄口街道").street, Role.OFFICIAL)
    assert browser(other).get(f"/council/rounds/{round_id}/tally").status_code == 404
    assert browser(world.station_staff).get(f"/council/rounds/{round_id}").status_code == 403


def test_approve_by_requester_refused_with_chinese_403(world, browser):
    round_id = _closed(world)
    page = f"/council/rounds/{round_id}"
    official = browser(world.official)
    assert submit(official, f"{page}/request", {}, page=page).status_code == 302
    response = submit(official, f"{page}/approve", {}, page=page)
    assert response.status_code == 403
    assert "另一位工作人员" in response.get_data(as_text=True)


def test_approve_without_csrf_refused(world, browser):
    round_id = _closed(world)
    council.request_finalization(world.official, round_id)
    response = browser(world.clerk).post(f"/council/rounds/{round_id}/approve", data={})
    assert response.status_code == 400
    assert db.session.get(CouncilNotice, round_id) is None


def test_notice_shows_period_and_objection_form_validates(world, browser, client):
    round_id = _closed(world)
    request_and_approve(world.clerk, world.official, round_id)
    notice = client.get(f"/rounds/{round_id}/notice").get_data(as_text=True)
    assert "公示中，接受异议" in notice
    assert "新增停车位30个" in notice
    assert "凯旋街道城管科" in notice
    response = submit(
        client,
        f"/rounds/{round_id}/objection",
        {"name": "王", "id_number": "123", "phone": "1"},
    )
    assert response.status_code == 422
    assert "身份证" in response.get_data(as_text=True)


def test_objection_after_period_409_page(world, client):
    round_id = _closed(world)
    request_and_approve(world.clerk, world.official, round_id)
    notice = db.session.get(CouncilNotice, round_id)
    notice.published_at -= timedelta(days=9)
    notice.objections_close_at = notice.published_at + timedelta(days=7)
    db.session.commit()
    response = client.get(f"/rounds/{round_id}/objection")
    assert response.status_code == 409
    assert "异议期已于" in response.get_data(as_text=True)
    assert "公示期已满，项目进入实施" in client.get(f"/rounds/{round_id}/notice").get_data(
        as_text=True
    )
