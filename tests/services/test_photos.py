"""Candidate photos: only real JPEG/PNG/WebP photos pass; what is kept has no metadata, is
upright and resized; files are named by their hash, deleted with their row, audited."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from tests.factories import World, make_staff, make_station
from voting.domain.errors import Conflict, InvalidInput, NotPermitted
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import AuditEvent, CandidatePhoto
from voting.services import photos, rounds

LIMITS = photos.PhotoLimits(max_bytes=8 * 1024 * 1024, max_pixels=40_000_000, min_side=200)


# --- test images, made here with Pillow -------------------------------------------------


def two_colour(size: tuple[int, int] = (800, 600), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: shows which way an image was turned."""
    width, height = size
    image = Image.new(mode, size, (200, 30, 30, 255)[: len(mode)])
    image.paste((30, 30, 200, 255)[: len(mode)], (width // 2, 0, width, height))
    return image


def jpeg_with_gps(size: tuple[int, int] = (800, 600), orientation: int = 6) -> bytes:
    """A camera-like JPEG: EXIF with GPS position, camera make and an orientation tag,
    plus a comment and XMP, which Pillow would otherwise carry over."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretPhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 16.0, 42.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 11.0, 7.0)
    out = io.BytesIO()
    two_colour(size).save(
        out,
        "JPEG",
        quality=90,
        exif=exif,
        comment=b"home of the photographer",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SecretXMP</x:xmpmeta>',
    )
    return out.getvalue()


def encoded(fmt: str, size: tuple[int, int] = (800, 600), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    two_colour(size, mode).save(out, fmt)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that only claims its size: a decompression bomb is refused on this alone."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_clean_jpeg(data: bytes) -> None:
    image = opened(data)
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0
    assert not {"exif", "comment", "xmp", "icc_profile", "XML:com.adobe.xmp"} & set(image.info)
    for secret in (b"Exif", b"SecretPhone", b"photographer", b"SecretXMP"):
        assert secret not in data


# --- processing ---------------------------------------------------------------------------


def test_process_jpeg_with_gps_strips_metadata_and_turns_upright():
    source = jpeg_with_gps((800, 600), orientation=6)
    assert b"SecretPhone" in source  # the test image really carries the metadata

    result = photos.process(source, LIMITS)

    assert_clean_jpeg(result.large.data)
    assert_clean_jpeg(result.thumb.data)
    # Orientation 6: turned 90° clockwise to show, so the red left half is now on top.
    large = opened(result.large.data)
    assert large.size == (600, 800) == (result.large.width, result.large.height)
    red, blue = large.getpixel((300, 100)), large.getpixel((300, 700))
    assert red[0] > 150 > red[2]
    assert blue[2] > 150 > blue[0]
    assert result.original_bytes == len(source)


def test_process_large_photo_resized_to_phone_size_and_thumbnail():
    result = photos.process(encoded("JPEG", (4000, 3000)), LIMITS)

    assert (result.large.width, result.large.height) == (1080, 810)
    assert (result.thumb.width, result.thumb.height) == photos.THUMB_SIZE
    assert opened(result.thumb.data).size == photos.THUMB_SIZE


def test_process_png_with_transparency_flattened_on_white():
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")

    result = photos.process(out.getvalue(), LIMITS)

    assert opened(result.large.data).getpixel((10, 10)) >= (250, 250, 250)


@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "RGB"), ("PNG", "P"), ("WEBP", "RGB")])
def test_process_png_and_webp_accepted_as_jpeg(fmt, mode):
    source = two_colour((500, 400)).convert(mode) if mode == "P" else two_colour((500, 400), mode)
    out = io.BytesIO()
    source.save(out, fmt)

    result = photos.process(out.getvalue(), LIMITS)

    assert_clean_jpeg(result.large.data)
    assert (result.large.width, result.large.height) == (500, 400)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"just some text, renamed to photo.jpg\n" * 20, "photo_not_image"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600">'
            b'<rect width="800" height="600"/></svg>',
            "photo_not_image",
        ),
        (encoded("GIF"), "photo_not_image"),
        (encoded("BMP"), "photo_not_image"),
        (encoded("JPEG")[:2000], "photo_unreadable"),
        (b"", "photo_empty"),
    ],
    ids=["text", "svg", "gif", "bmp", "truncated-jpeg", "empty"],
)
def test_process_not_a_real_photo_refused(data, code):
    def check() -> None:
        photos.process(photos.read_upload(io.BytesIO(data), LIMITS), LIMITS)

    with pytest.raises(InvalidInput) as caught:
        check()
    assert caught.value.code == code


@pytest.mark.parametrize(
    "size", [(30_000, 30_000), (10_000, 8_000), (8_000, 6_000)], ids=["bomb", "huge", "48mp"]
)
def test_process_too_many_pixels_refused_before_decoding(size):
    with pytest.raises(InvalidInput) as caught:
        photos.process(png_header(*size), LIMITS)
    assert caught.value.code == "photo_too_many_pixels"


def test_process_tiny_image_refused():
    with pytest.raises(InvalidInput) as caught:
        photos.process(encoded("PNG", (120, 90)), LIMITS)
    assert caught.value.code == "photo_too_small"


def test_read_upload_over_limit_refused():
    small = photos.PhotoLimits(max_bytes=1000, max_pixels=LIMITS.max_pixels, min_side=200)
    with pytest.raises(InvalidInput) as caught:
        photos.read_upload(io.BytesIO(b"\xff" * 1001), small)
    assert caught.value.code == "photo_too_large"
    assert photos.read_upload(io.BytesIO(b"\xff" * 1000), small) == b"\xff" * 1000


# --- storing, deleting, auditing ------------------------------------------------------------


@pytest.fixture
def folder(app, tmp_path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "photos"
    monkeypatch.setitem(app.config, "PHOTO_FOLDER", str(path))
    return path


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    return World(candidates=3)


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def add(world: World, data: bytes, *, candidate: int = 0, alt: str = "3幢北侧空地现状"):  # type: ignore[no-untyped-def]
    return photos.add_photo(
        world.station_staff, world.candidates[candidate].id, io.BytesIO(data), alt
    )


def test_add_photo_files_named_by_their_hash_row_and_audit(world, folder):
    photo = add(world, jpeg_with_gps())

    files = stored_files(folder)
    assert [f.name for f in files] == sorted([f"{photo.sha256}.jpg", f"{photo.thumb_sha256}.jpg"])
    for f in files:
        assert hashlib.sha256(f.read_bytes()).hexdigest() + ".jpg" == f.name
        assert_clean_jpeg(f.read_bytes())
    assert photo.size_bytes == photos.file_path(photo.sha256).stat().st_size
    assert (photo.width, photo.height, photo.position) == (600, 800, 1)
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.object_id) == ("photo.added", str(photo.id))
    assert photo.sha256 in event.payload


def test_add_photo_caption_required(world, folder):
    with pytest.raises(InvalidInput) as caught:
        add(world, jpeg_with_gps(), alt="   ")
    assert caught.value.code == "photo_alt_required"
    assert stored_files(folder) == []


def test_add_photo_fake_image_stores_nothing(world, folder):
    with pytest.raises(InvalidInput):
        add(world, b"GIF89a not really")
    assert stored_files(folder) == []
    assert db.session.scalar(select(CandidatePhoto.id)) is None


def test_add_photo_twice_refused_files_kept_once(world, folder):
    data = jpeg_with_gps()
    add(world, data)
    with pytest.raises(InvalidInput) as caught:
        add(world, data)
    assert caught.value.code == "photo_duplicate"
    assert len(stored_files(folder)) == 2
    assert len(db.session.scalars(select(CandidatePhoto)).all()) == 1


def test_add_photo_over_the_per_candidate_limit_refused(world, folder, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_PER_CANDIDATE", 2)
    add(world, encoded("PNG", (400, 300)))
    add(world, jpeg_with_gps())
    before = stored_files(folder)
    with pytest.raises(InvalidInput) as caught:
        add(world, encoded("PNG", (500, 300)))
    assert caught.value.code == "photo_limit"
    assert stored_files(folder) == before


def test_add_photo_other_station_refused(world, folder):
    other = make_station(world.street, name="景芳人大代表联络站")
    intruder = make_staff(world.street, Role.STATION, station=other)
    with pytest.raises(NotPermitted):
        photos.add_photo(intruder, world.candidates[0].id, io.BytesIO(jpeg_with_gps()), "现状")
    with pytest.raises(NotPermitted):
        photos.add_photo(
            world.official, world.candidates[0].id, io.BytesIO(jpeg_with_gps()), "现状"
        )
    assert stored_files(folder) == []


def test_add_photo_during_open_round_allowed_and_audited_after_close_refused(world, folder, now):
    round_id = world.open_round(now)
    photo = add(world, jpeg_with_gps())
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert f'"round_id":{round_id}' in event.payload
    assert photos.listed_in_open_round(world.candidates[0].id)

    rounds.close_round(world.official, round_id, reason="测试：提前结束", now=now)
    with pytest.raises(Conflict) as caught:
        add(world, encoded("PNG", (400, 300)))
    assert caught.value.code == "photo_round_closed"
    # A photo can still be taken down after the vote (a face, a number plate).
    photos.delete_photo(world.station_staff, world.candidates[0].id, photo.id)
    assert stored_files(folder) == []


def test_delete_photo_removes_row_files_and_audits(world, folder):
    photo = add(world, jpeg_with_gps())
    photo_id, candidate_id = photo.id, photo.candidate_id

    photos.delete_photo(world.station_staff, candidate_id, photo_id)

    assert stored_files(folder) == []
    assert db.session.get(CandidatePhoto, photo_id) is None
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.object_id) == ("photo.deleted", str(photo_id))


def test_delete_photo_keeps_files_another_candidate_shows(world, folder):
    data = jpeg_with_gps()
    first = add(world, data, candidate=0)
    add(world, data, candidate=1)

    photos.delete_photo(world.station_staff, first.candidate_id, first.id)

    assert len(stored_files(folder)) == 2


def test_photo_access_public_only_once_accepted(world, folder):
    accepted = add(world, jpeg_with_gps())
    access = photos.photo_access(accepted.thumb_sha256)
    assert access is not None
    assert access.public
    assert photos.photo_access("0" * 64) is None
    assert photos.photo_access("../../etc/passwd") is None
