"""Photo pages over HTTP: a station uploads and deletes through the form; residents see the
thumbnail on the card and the photos on the detail page; files are served cached for ever."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.factories import World, candidate_input, make_staff, make_station
from tests.services.test_photos import encoded, jpeg_with_gps, png_header
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import AuditEvent, CandidatePhoto
from voting.services import intake


@pytest.fixture
def folder(app, tmp_path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "photos"
    monkeypatch.setitem(app.config, "PHOTO_FOLDER", str(path))
    return path


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    return World(candidates=3)


def page(candidate_id: int) -> str:
    return f"/station/candidates/{candidate_id}/photos"


def upload(client, candidate_id: int, data: bytes, *, alt: str = "3幢北侧空地现状", name="a.jpg"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, page(candidate_id))
    return client.post(
        page(candidate_id),
        data={"csrf_token": token, "alt_text": alt, "photo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def only_photo() -> CandidatePhoto:
    return db.session.scalars(select(CandidatePhoto)).one()


def test_station_uploads_photo_listed_on_its_page(world, folder, browser):
    client = browser(world.station_staff)
    candidate_id = world.candidates[0].id

    response = upload(client, candidate_id, jpeg_with_gps())

    assert response.status_code == 303
    photo = only_photo()
    html = client.get(page(candidate_id)).get_data(as_text=True)
    assert f"/photos/{photo.thumb_sha256}.jpg" in html
    assert "3幢北侧空地现状" in html
    assert len(files_in(folder)) == 2


@pytest.mark.parametrize(
    ("data", "name", "sentence"),
    [
        (b"not a photo at all\n" * 50, "photo.jpg", "不是可以识别的照片"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "site.svg", "不是可以识别的照片"),
        (encoded("GIF"), "site.gif", "不是可以识别的照片"),
        (encoded("JPEG")[:2000], "cut.jpg", "已损坏或不完整"),
        (png_header(30_000, 30_000), "bomb.png", "像素太多"),
    ],
    ids=["text", "svg", "gif", "truncated", "bomb"],
)
def test_upload_not_a_real_photo_refused_with_sentence(
    world, folder, browser, data, name, sentence
):
    client = browser(world.station_staff)

    response = upload(client, world.candidates[0].id, data, name=name)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'<p class="error" role="alert">[^<]*{sentence}', html)
    assert db.session.scalar(select(CandidatePhoto.id)) is None
    assert files_in(folder) == []


def test_upload_over_photo_limit_refused_with_sentence(world, folder, browser, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 20_000)
    client = browser(world.station_staff)

    response = upload(client, world.candidates[0].id, encoded("PNG", (800, 600)) + b"\0" * 20_000)

    assert response.status_code == 422
    assert "照片文件太大，上限" in response.get_data(as_text=True)
    assert files_in(folder) == []


def test_upload_without_caption_refused_next_to_caption(world, folder, browser):
    client = browser(world.station_staff)

    response = upload(client, world.candidates[0].id, jpeg_with_gps(), alt="")

    assert response.status_code == 422
    assert 'id="alt_text"' in response.get_data(as_text=True)
    assert files_in(folder) == []


def test_other_station_refused_403(world, folder, browser):
    other = make_station(world.street, name="景芳人大代表联络站")
    client = browser(make_staff(world.street, Role.STATION, station=other))
    candidate_id = world.candidates[0].id
    own = browser(world.station_staff)
    token = csrf_token(own, page(candidate_id))  # a valid token for a form it cannot load

    assert client.get(page(candidate_id)).status_code == 403
    response = client.post(
        page(candidate_id),
        data={
            "csrf_token": token,
            "alt_text": "x",
            "photo": (io.BytesIO(jpeg_with_gps()), "a.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code in (400, 403)  # the CSRF token is bound to the other session
    assert files_in(folder) == []


def test_other_station_post_with_own_token_refused_403(world, folder, browser):
    other = make_station(world.street, name="景芳人大代表联络站")
    other_staff = make_staff(world.street, Role.STATION, station=other)
    own_candidate = intake.submit_candidate(other_staff, candidate_input(world.communities[0].id))
    client = browser(other_staff)
    token = csrf_token(client, page(own_candidate.id))

    response = client.post(
        page(world.candidates[0].id),
        data={
            "csrf_token": token,
            "alt_text": "x",
            "photo": (io.BytesIO(jpeg_with_gps()), "a.jpg"),
        },
        content_type="multipart/form-data",
    )

    assert response.status_code == 403
    assert files_in(folder) == []


def test_photo_served_with_immutable_cache_headers(world, folder, browser, client):
    upload(browser(world.station_staff), world.candidates[0].id, jpeg_with_gps())
    photo = only_photo()

    for digest in (photo.sha256, photo.thumb_sha256):
        response = client.get(f"/photos/{digest}.jpg")
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        cache = response.headers["Cache-Control"]
        assert {"public", "max-age=31536000", "immutable"} <= {p.strip() for p in cache.split(",")}
        assert "Set-Cookie" not in response.headers
    assert client.get(f"/photos/{'0' * 64}.jpg").status_code == 404
    assert client.get("/photos/not-a-hash.jpg").status_code == 404


def test_photo_of_unreviewed_candidate_staff_only(world, folder, browser, client):
    submitted = intake.submit_candidate(
        world.station_staff, candidate_input(world.communities[0].id)
    )
    staff = browser(world.station_staff)
    upload(staff, submitted.id, jpeg_with_gps())
    url = f"/photos/{only_photo().sha256}.jpg"

    assert client.get(url).status_code == 404
    response = staff.get(url)
    assert response.status_code == 200
    assert "private" in response.headers["Cache-Control"]
    assert browser(world.official).get(url).status_code == 200


def test_card_and_detail_page_show_photos(world, folder, browser, client, now):
    staff = browser(world.station_staff)
    candidate_id = world.candidates[0].id
    upload(staff, candidate_id, jpeg_with_gps((1600, 1200), orientation=1))
    upload(staff, candidate_id, encoded("PNG", (600, 800)), alt="路口现状")
    first, second = db.session.scalars(select(CandidatePhoto).order_by(CandidatePhoto.position))
    round_id = world.open_round(now)

    card = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert (
        f'<img class="thumb" src="/photos/{first.thumb_sha256}.jpg" width="160" height="120"'
        ' alt="3幢北侧空地现状">'
    ) in card

    detail = client.get(f"/rounds/{round_id}/candidates/{candidate_id}").get_data(as_text=True)
    assert (
        f'<img src="/photos/{first.sha256}.jpg" width="320" height="240"'
        ' alt="3幢北侧空地现状" loading="lazy">'
    ) in detail
    assert (
        f'<img src="/photos/{second.sha256}.jpg" width="320" height="427"'
        ' alt="路口现状" loading="lazy">'
    ) in detail


def test_delete_through_page_removes_row_and_files(world, folder, browser):
    client = browser(world.station_staff)
    candidate_id = world.candidates[0].id
    upload(client, candidate_id, jpeg_with_gps())
    photo_id = only_photo().id
    token = csrf_token(client, page(candidate_id))

    response = client.post(f"{page(candidate_id)}/{photo_id}/delete", data={"csrf_token": token})

    assert response.status_code == 303
    assert db.session.scalar(select(CandidatePhoto.id)) is None
    assert files_in(folder) == []
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["photo.added", "photo.deleted"]


def test_delete_by_other_station_refused_403(world, folder, browser):
    upload(browser(world.station_staff), world.candidates[0].id, jpeg_with_gps())
    photo_id = only_photo().id
    other = make_station(world.street, name="景芳人大代表联络站")
    other_staff = make_staff(world.street, Role.STATION, station=other)
    mine = intake.submit_candidate(other_staff, candidate_input(world.communities[0].id))
    client = browser(other_staff)
    token = csrf_token(client, page(mine.id))

    response = client.post(
        f"{page(world.candidates[0].id)}/{photo_id}/delete", data={"csrf_token": token}
    )

    assert response.status_code == 403
    assert len(files_in(folder)) == 2
