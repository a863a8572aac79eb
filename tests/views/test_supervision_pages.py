"""Supervision pages: officials, supervisors and the clerk each do their part over HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import submit
from tests.factories import make_staff, make_street
from tests.supervised import completed, jpeg, open_record, supervised_round, visit_input
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import Implementation, Suggestion, SupervisionVisit
from voting.services import implementation, supervision
from voting.services._tx import utcnow

TODAY = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def s(app, now):  # type: ignore[no-untyped-def]
    return supervised_round(now)


def _record(s) -> int:  # type: ignore[no-untyped-def]
    return open_record(s)


def test_official_opens_record_and_reports_progress(s, browser):
    client = browser(s.world.official)
    path = f"/supervision/rounds/{s.round_id}/candidates/{s.selected[0]}/setup"
    response = submit(
        client,
        path,
        {"responsible_unit": "凯旋街道城建科", "unit_leader": "科长 李明",
         "planned_start": "2026-06-01", "planned_completion": "2026-09-30"},
    )  # fmt: skip
    assert response.status_code == 303
    record_id = db.session.scalar(select(Implementation.id))
    page = f"/supervision/projects/{record_id}"
    response = submit(
        client,
        f"{page}/progress",
        {"status": "in_progress", "progress_percent": "45", "budget_spent_yuan": "120000"},
        page=page,
    )
    assert response.status_code == 303
    assert db.session.get(Implementation, record_id).progress_percent == 45
    html = client.get(page).get_data(as_text=True)
    assert "45%" in html


def test_progress_contradiction_shows_chinese_sentence_and_changes_nothing(s, browser):
    record_id = _record(s)
    client = browser(s.world.official)
    page = f"/supervision/projects/{record_id}"
    response = submit(
        client,
        f"{page}/progress",
        {"status": "completed", "progress_percent": "80", "budget_spent_yuan": "1"},
        page=page,
    )
    assert response.status_code == 422
    assert "进度应为 100%" in response.get_data(as_text=True)
    assert db.session.get(Implementation, record_id).status == "planned"
    bad = submit(
        client, f"{page}/progress",
        {"status": "in_progress", "progress_percent": "abc", "budget_spent_yuan": "1"}, page=page,
    )  # fmt: skip
    assert bad.status_code == 422
    assert "不是有效的整数" in bad.get_data(as_text=True)


def test_supervisor_records_visit_on_phone_form_and_uploads_photo(s, browser, app, tmp_path):
    app.config["PHOTO_FOLDER"] = str(tmp_path / "photos")
    record_id = _record(s)
    client = browser(s.world.supervisor)
    path = f"/supervision/projects/{record_id}/visits/new"
    form = client.get(path).get_data(as_text=True)
    assert 'name="participants-5-name"' in form
    day = (TODAY - timedelta(days=1)).isoformat()
    response = submit(
        client,
        path,
        {
            "held_on": day, "site": "3幢北侧工地", "findings": "划线未完成",
            "participants-0-name": "张代表", "participants-0-kind": "deputy",
            "participants-1-name": "王居民", "participants-1-kind": "resident",
            "spot_checks-0-item": "排水坡度", "spot_checks-0-result": "fail",
            "suggestions-0-text": "东侧增设排水沟",
            "suggestions-0-deadline": (TODAY + timedelta(days=7)).isoformat(),
        },
    )  # fmt: skip
    assert response.status_code == 303, response.get_data(as_text=True)
    visit_id = db.session.scalar(select(SupervisionVisit.id))
    visit_page = f"/supervision/visits/{visit_id}"
    html = client.get(visit_page).get_data(as_text=True)
    assert 'capture="environment"' in html
    assert 'accept="image/*"' in html
    response = submit(
        client, f"{visit_page}/photos", {"photo": (jpeg(), "x.jpg"), "alt_text": "东侧积水"},
        page=visit_page, content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 303
    assert len(implementation.load(record_id).photos) == 1


def test_visit_suggestion_without_deadline_refused_in_chinese(s, browser):
    record_id = _record(s)
    client = browser(s.world.supervisor)
    path = f"/supervision/projects/{record_id}/visits/new"
    response = submit(
        client, path,
        {"held_on": TODAY.isoformat(), "site": "工地", "findings": "好",
         "participants-0-name": "张代表", "participants-0-kind": "deputy",
         "suggestions-0-text": "夜间施工噪声"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "办理期限" in response.get_data(as_text=True)
    assert db.session.scalars(select(SupervisionVisit)).all() == []


def test_answer_then_close_over_http(s, browser):
    record_id = _record(s)
    supervision.record_visit(
        s.world.supervisor, record_id, visit_input(date(2026, 6, 3)), now=s.now
    )
    sid = db.session.scalars(select(Suggestion.id)).first()
    page = f"/supervision/projects/{record_id}"
    official = browser(s.world.official)
    empty = submit(official, f"/supervision/suggestions/{sid}/answer", {"answer": " "}, page=page)
    assert empty.status_code == 422
    ok = submit(official, f"/supervision/suggestions/{sid}/answer", {"answer": "已整改"}, page=page)
    assert ok.status_code == 303
    sup = browser(s.world.supervisor)
    assert submit(sup, f"/supervision/suggestions/{sid}/close", {}, page=page).status_code == 303
    again = submit(sup, f"/supervision/suggestions/{sid}/close", {}, page=page)
    assert again.status_code == 409
    assert "已经办结" in again.get_data(as_text=True)
    assert db.session.get(Suggestion, sid).status == "closed"


def test_post_without_csrf_refused(s, browser):
    record_id = _record(s)
    client = browser(s.world.official)
    response = client.post(
        f"/supervision/projects/{record_id}/progress",
        data={"status": "in_progress", "progress_percent": "10", "budget_spent_yuan": "0"},
    )
    assert response.status_code == 400
    assert db.session.get(Implementation, record_id).progress_percent == 0


def test_other_street_staff_refused(s, browser):
    record_id = _record(s)
    street = make_street(name="闸弄口街道", communities=("天杭社区",))
    for role in (Role.SUPERVISOR, Role.OFFICIAL, Role.CLERK):
        client = browser(make_staff(street, role))
        assert client.get(f"/supervision/projects/{record_id}").status_code == 403
    other_sup = browser(make_staff(street, Role.SUPERVISOR))
    path = f"/supervision/projects/{record_id}/visits/new"
    assert other_sup.get(path).status_code == 403


@pytest.mark.parametrize("who", ["official", "clerk", "station_staff"])
def test_visit_form_only_for_supervisors(s, browser, who):
    record_id = _record(s)
    client = browser(getattr(s.world, who))
    assert client.get(f"/supervision/projects/{record_id}/visits/new").status_code == 403


def test_public_project_page_and_dashboard_show_no_names(s, client):
    record_id = _record(s)
    supervision.record_visit(
        s.world.supervisor, record_id, visit_input(date(2026, 6, 3)), now=s.now
    )
    html = client.get(f"/projects/{record_id}").get_data(as_text=True)
    assert "凯旋街道城建科" in html
    assert "人大代表 1 人" in html
    assert "居民 1 人" in html
    assert "张代表" not in html
    assert "王居民" not in html
    assert "建议1：东侧增设排水沟" in html
    assert "0%" in html
    board = client.get(f"/streets/{s.world.street.id}/supervision").get_data(as_text=True)
    assert "督导组共督办 1 次，提出意见建议 2 条" in board


def test_public_pages_english(s, browser):
    record_id = _record(s)
    client = browser()
    client.set_cookie("lang", "en")
    html = client.get(f"/projects/{record_id}").get_data(as_text=True)
    assert "Progress" in html
    board = client.get(f"/streets/{s.world.street.id}/supervision").get_data(as_text=True)
    assert "supervision" in board.lower()


def test_satisfaction_entry_grades_and_exports(s, browser):
    record_id = _record(s)
    implementation.report_progress(s.world.official, record_id, completed(), now=s.now)
    clerk = browser(s.world.clerk)
    path = f"/supervision/rounds/{s.round_id}/satisfaction"
    over = submit(
        clerk, path,
        {"held_on": TODAY.isoformat(), "members_present": "10", f"satisfied-{record_id}": "8",
         f"basic-{record_id}": "2", f"dissatisfied-{record_id}": "1"},
    )  # fmt: skip
    assert over.status_code == 422
    assert "超过了实到人数" in over.get_data(as_text=True)
    ok = submit(
        clerk, path,
        {"held_on": TODAY.isoformat(), "members_present": "10", f"satisfied-{record_id}": "5",
         f"basic-{record_id}": "3", f"dissatisfied-{record_id}": "2"},
    )  # fmt: skip
    assert ok.status_code == 303
    sheet = clerk.get(f"/supervision/rounds/{s.round_id}/satisfaction/sheet")
    assert "基本满意" in sheet.get_data(as_text=True)
    xlsx = clerk.get(f"/supervision/rounds/{s.round_id}/satisfaction.xlsx")
    assert xlsx.status_code == 200
    from io import BytesIO

    rows = list(load_workbook(BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert tuple(str(v) if i == 0 else v for i, v in enumerate(rows[4])) == (
        "1",
        "增设停车位",
        "凯旋街道城建科",
        10,
        5,
        3,
        2,
        "基本满意",
    )
    report = clerk.get(f"/supervision/rounds/{s.round_id}/report.xlsx")
    rows = list(load_workbook(BytesIO(report.data)).active.iter_rows(values_only=True))
    first = rows[3]
    assert first[1] == "增设停车位"
    assert first[3] == "已完工"
    assert first[7] == 280_000
    assert first[8] == 265_000
    assert first[14] == "基本满意"
    html = clerk.get(f"/supervision/rounds/{s.round_id}/report").get_data(as_text=True)
    assert "已完工 100%" in html


def test_satisfaction_by_supervisor_refused(s, browser):
    client = browser(s.world.supervisor)
    assert client.get(f"/supervision/rounds/{s.round_id}/satisfaction").status_code == 403


def test_staff_index_lists_selected_projects(s, browser):
    html = browser(s.world.official).get("/supervision/").get_data(as_text=True)
    assert html.count("尚未建立实施档案") == 2
    assert html.count('/setup"') == 2
