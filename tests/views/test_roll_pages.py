"""The official's roll import over HTTP: upload, preview (writes nothing), confirm (writes).

CSRF stays on: tokens are read from the pages, as a browser would.
"""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from tests import roll_data
from tests.conftest import CSRF_RE, Browser, submit
from tests.factories import World, make_staff
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import AuditEvent, Resident
from voting.services import roll_uploads

UPLOAD = "/official/roll/"
CONFIRM = "/official/roll/confirm"
TOKEN_RE = re.compile(r'name="token" type="hidden" value="([^"]+)"')


@pytest.fixture
def world(app: Flask) -> World:
    return World(candidates=0)


@pytest.fixture
def uploads(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Kept files go to a temporary folder, not the real instance folder."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "ROLL_UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def official(browser, world, uploads) -> Browser:  # type: ignore[no-untyped-def]
    return browser(world.official)


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def all_cells(table: str) -> list[str]:
    rows = db.session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 — fixed names
    return [str(value) for row in rows for value in row if value is not None]


def upload(client: Browser, data: bytes, filename: str = "名册.csv", **fields: object):  # type: ignore[no-untyped-def]
    return submit(client, UPLOAD, {"file": (io.BytesIO(data), filename), **fields})


def confirm(client: Browser, preview_html: str, token: str | None = None):  # type: ignore[no-untyped-def]
    csrf = CSRF_RE.search(preview_html)
    assert csrf, "no CSRF token on the preview page"
    found = TOKEN_RE.search(preview_html)
    assert found, "no confirm form on the preview page"
    return client.post(CONFIRM, data={"csrf_token": csrf.group(1), "token": token or found[1]})


def kept_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*")) if folder.exists() else []


# --- preview and confirm --------------------------------------------------------------------


def test_upload_page_has_labelled_file_field_and_is_linked_from_official_home(official):
    page = text_of(official.get(UPLOAD))
    home = text_of(official.get("/official/"))

    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<label for="file">', page)
    assert re.search(r'<input[^>]+id="file"[^>]+type="file"', page)
    assert 'href="/official/roll/"' in home


def test_preview_shows_counts_and_masked_samples_and_writes_nothing(official, uploads):
    records = roll_data.rows(12)
    events = count(AuditEvent)

    response = upload(official, roll_data.to_csv(records))

    html = text_of(response)
    assert response.status_code == 200
    assert re.search(r"<dt>数据行数</dt><dd>12</dd>", html)
    assert re.search(r"<dt>新增居民</dt><dd>12</dd>", html)
    assert "确认导入" in html
    first = records[0]["姓名"]
    assert first[0] + "*" * (len(first) - 1) in html
    assert first not in html
    leaks = [r["身份证号"] for r in records] + [r["手机号"] for r in records if r["手机号"]]
    assert [s for s in leaks if s in html] == []
    assert count(Resident) == 0
    assert count(AuditEvent) == events
    kept = kept_files(uploads)
    assert len(kept) == 1
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}\.upload", kept[0].name)  # never the client's name


def test_confirm_imports_previewed_file_audits_counts_and_deletes_it(official, uploads):
    records = roll_data.rows(12)
    preview = upload(official, roll_data.to_csv(records))

    response = confirm(official, text_of(preview))

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == UPLOAD
    assert count(Resident) == 12
    assert kept_files(uploads) == []
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "roll.imported"
    assert '"created":12' in event.payload
    assert event.actor_id is not None
    done = text_of(official.get(UPLOAD))
    assert "名册已导入" in done
    assert "新增 12 人" in done


def test_confirm_twice_refused_second_time(official):
    preview = text_of(upload(official, roll_data.to_csv(roll_data.rows(3))))
    assert confirm(official, preview).status_code == 302

    again = confirm(official, preview)

    assert again.status_code == 409
    assert "预览已过期或已经导入过" in text_of(again)
    assert count(Resident) == 3


def test_preview_of_reimport_reports_unchanged_and_moved_out(official):
    records = roll_data.rows(6)
    confirm(official, text_of(upload(official, roll_data.to_csv(records))))
    changed = [{**r, "状态": "迁出" if i == 2 else "在册"} for i, r in enumerate(records)]

    html = text_of(upload(official, roll_data.to_csv(changed)))

    assert re.search(r"<dt>信息有更新</dt><dd>1</dd>", html)
    assert re.search(r"<dt>没有变化</dt><dd>5</dd>", html)
    assert re.search(r"<dt>标为迁出</dt><dd>1（", html)
    assert db.session.scalars(select(Resident.status)).all().count("moved_out") == 0


def test_full_roll_from_web_marks_absent_residents_after_confirm(official):
    records = roll_data.rows(8)  # even rows: 南肖埠社区
    confirm(official, text_of(upload(official, roll_data.to_csv(records))))

    html = text_of(upload(official, roll_data.to_csv(records[2:]), full_roll="南肖埠社区"))
    assert re.search(r"<dt>标为迁出</dt><dd>1（", html)
    assert count(Resident) == 8
    assert confirm(official, html).status_code == 302

    db.session.expire_all()
    assert db.session.scalars(select(Resident.status)).all().count("moved_out") == 1


def test_xlsx_upload_previews_and_imports(official):
    records = roll_data.rows(5)

    preview = upload(official, roll_data.to_xlsx(records), filename="名册.xlsx")

    assert preview.status_code == 200
    assert "<dd>XLSX</dd>" in text_of(preview)
    assert confirm(official, text_of(preview)).status_code == 302
    assert count(Resident) == 5


# --- refusals ---------------------------------------------------------------------------------


def test_tampered_kept_file_refused_and_nothing_written(official, uploads):
    records = roll_data.rows(4)
    preview = text_of(upload(official, roll_data.to_csv(records)))
    [kept] = kept_files(uploads)
    kept.write_bytes(roll_data.to_csv(roll_data.rows(40)))  # swapped for a bigger roll

    response = confirm(official, preview)

    assert response.status_code == 409
    assert "预览后文件被改动过，已拒绝导入" in text_of(response)
    assert count(Resident) == 0
    assert kept_files(uploads) == []


def test_confirm_with_another_token_refused(official, uploads):
    preview = text_of(upload(official, roll_data.to_csv(roll_data.rows(4))))

    response = confirm(official, preview, token="A" * 32)

    assert response.status_code == 409
    assert count(Resident) == 0
    assert len(kept_files(uploads)) == 1  # the real preview can still be confirmed
    assert confirm(official, preview).status_code == 302


def test_confirm_after_upload_expired_refused(app, official, uploads, monkeypatch):
    preview = text_of(upload(official, roll_data.to_csv(roll_data.rows(4))))
    monkeypatch.setitem(app.config, "ROLL_UPLOAD_MAX_AGE", -1)

    response = confirm(official, preview)

    assert response.status_code == 409
    assert count(Resident) == 0
    assert kept_files(uploads) == []


def test_kept_files_older_than_an_hour_swept_when_page_is_opened(app, official, uploads):
    upload(official, roll_data.to_csv(roll_data.rows(2)))
    upload(official, roll_data.to_csv(roll_data.rows(3)))  # replaces the first preview
    [old] = kept_files(uploads)
    stale = old.stat().st_mtime - 3601
    os.utime(old, (stale, stale))

    assert official.get(UPLOAD).status_code == 200

    assert kept_files(uploads) == []
    with app.test_request_context():
        assert roll_uploads.sweep() == 0


def test_upload_larger_than_max_content_length_refused(app, official, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)

    response = upload(official, roll_data.to_csv(roll_data.rows(200)))

    assert response.status_code == 413
    assert kept_files(uploads) == []
    assert count(Resident) == 0


def test_bad_file_shows_line_numbered_chinese_errors_and_no_confirm(official, uploads):
    data = (Path(__file__).resolve().parents[2] / "seeds" / "roll_bad_example.csv").read_bytes()
    events = count(AuditEvent)

    response = upload(official, data)

    html = text_of(response)
    assert response.status_code == 422
    assert re.search(r"<td>第 4 行</td><td>身份证号校验位不正确</td>", html)
    assert re.search(r"<td>第 6 行</td><td>手机号应为 11 位数字</td>", html)
    assert "整个文件都不会导入" in html
    assert CONFIRM not in html
    assert 'name="token"' not in html
    assert kept_files(uploads) == []
    assert count(Resident) == 0
    assert count(AuditEvent) == events


def test_unreadable_file_refused_on_upload_form(official, uploads):
    response = upload(official, "姓名,社区\n张三,景芳社区\n".encode("gbk"))

    assert response.status_code == 422
    assert "文件不是 UTF-8 编码的 CSV" in text_of(response)
    assert kept_files(uploads) == []


def test_wrong_extension_refused_by_form(official, uploads):
    response = upload(official, b"%PDF-1.4", filename="roll.pdf")

    assert response.status_code == 422
    assert "只接受 .csv 或 .xlsx 文件" in text_of(response)


@pytest.mark.parametrize("role", [Role.STATION, Role.CLERK])
def test_roll_pages_forbidden_to_other_staff(browser, world, uploads, role):
    station = world.station if role is Role.STATION else None
    client = browser(make_staff(world.street, role, station=station))

    assert client.get(UPLOAD).status_code == 403
    assert client.post(CONFIRM, data={}).status_code in (400, 403)  # CSRF or role: refused
    assert count(Resident) == 0


def test_roll_page_anonymous_redirected_to_login(browser, uploads):
    response = browser().get(UPLOAD)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/staff/login"


def test_web_import_logs_and_stores_no_id_number_or_phone(official, caplog):
    caplog.set_level(logging.DEBUG)
    records = roll_data.rows(10)

    preview = upload(official, roll_data.to_csv(records))
    confirm(official, text_of(preview))

    assert count(Resident) == 10
    secrets = [r["身份证号"] for r in records] + [r["手机号"] for r in records if r["手机号"]]
    stored = all_cells("resident") + all_cells("audit_event")
    assert [s for s in secrets if s in caplog.text] == []
    assert [s for s in secrets if any(s in cell for cell in stored)] == []
