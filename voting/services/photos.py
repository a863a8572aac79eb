"""Photos: check and re-encode an upload, store it, list, serve and delete it.

Candidate site photos have their rows here; the works' photos (services.implementation)
use the same checks, files and serving through ``prepare``, ``write_files``,
``image_values`` and ``discard_unreferenced``.

An upload is decoded only after its size and its header's pixel count pass, then turned
upright (EXIF orientation), converted to sRGB and encoded afresh as two JPEGs — a phone-size
photo and a 4:3 thumbnail — with no metadata at all (EXIF with GPS, XMP, comments, ICC).
Each file is named by the SHA-256 of its own bytes, so its URL can be cached for ever.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError, features
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from ..domain import staff as rules
from ..domain.errors import Conflict, InvalidInput, VotingError
from ..domain.lifecycle import RoundStatus
from ..domain.staff import CandidateStatus, Role
from ..extensions import db
from ..models import (
    Candidate,
    CandidatePhoto,
    ProjectPhoto,
    RoundCandidate,
    StaffUser,
    Station,
    VotingRound,
)
from . import audit
from ._tx import begin_write, commit, utcnow

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Phone size: 1080 px on the longest side is sharp on a 360-CSS-pixel screen at 3x.
LARGE_SIDE = 1080
LARGE_QUALITY = 78
# Thumbnail: cropped to 4:3, drawn 160×120 on the card (2x for sharpness).
THUMB_SIZE = (320, 240)
THUMB_QUALITY = 70
MEDIA_TYPE = "image/jpeg"
SUFFIX = ".jpg"
ALT_TEXT_MAX = 120
DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
# What a damaged or hostile file makes Pillow raise while decoding.
_UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Rendition:
    """One encoded file: its bytes and pixel size."""

    data: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Processed:
    """The two files made from one upload."""

    large: Rendition
    thumb: Rendition
    original_bytes: int


@dataclass(frozen=True)
class PhotoLimits:
    """What an upload may weigh and measure."""

    max_bytes: int
    max_pixels: int
    min_side: int

    @classmethod
    def from_config(cls) -> PhotoLimits:
        config = current_app.config
        return cls(config["PHOTO_MAX_BYTES"], config["PHOTO_MAX_PIXELS"], config["PHOTO_MIN_SIDE"])


def read_upload(stream: IO[bytes], limits: PhotoLimits) -> bytes:
    """The uploaded bytes, reading at most one byte past the limit."""
    data = stream.read(limits.max_bytes + 1)
    if not data:
        raise InvalidInput("photo_empty")
    if len(data) > limits.max_bytes:
        raise InvalidInput("photo_too_large", maximum_mb=limits.max_bytes // (1024 * 1024))
    return data


def process(data: bytes, limits: PhotoLimits) -> Processed:
    """Check the upload is a real JPEG, PNG or WebP photo and make the two clean files."""
    if len(data) > limits.max_bytes:
        raise InvalidInput("photo_too_large", maximum_mb=limits.max_bytes // (1024 * 1024))
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            _check_header(image, limits)
            # JPEG only: decode at 1/2…1/8 scale straight away, a fraction of the memory.
            image.draft("RGB", (LARGE_SIDE, LARGE_SIDE))
            image.load()
            return _renditions(image, len(data))
    except UnidentifiedImageError as exc:
        raise InvalidInput("photo_not_image") from exc
    except _BOMB as exc:
        raise InvalidInput("photo_too_many_pixels", maximum=limits.max_pixels // 10_000) from exc
    except _UNREADABLE as exc:
        raise InvalidInput("photo_unreadable") from exc


def _check_header(image: Image.Image, limits: PhotoLimits) -> None:
    width, height = image.size
    if width * height > limits.max_pixels:
        raise InvalidInput(
            "photo_too_many_pixels",
            width=width,
            height=height,
            maximum=limits.max_pixels // 10_000,
        )
    if min(width, height) < limits.min_side:
        raise InvalidInput("photo_too_small", width=width, height=height, minimum=limits.min_side)


def _renditions(image: Image.Image, original_bytes: int) -> Processed:
    upright = ImageOps.exif_transpose(image)
    rgb = _to_srgb(upright)
    large = rgb.copy()
    large.thumbnail((LARGE_SIDE, LARGE_SIDE), Image.Resampling.LANCZOS)
    thumb = ImageOps.fit(rgb, THUMB_SIZE, Image.Resampling.LANCZOS)
    return Processed(
        _encode(large, LARGE_QUALITY, progressive=True),
        _encode(thumb, THUMB_QUALITY, progressive=False),
        original_bytes,
    )


def _to_srgb(image: Image.Image) -> Image.Image:
    """Plain RGB pixels in sRGB: transparency on white, a camera's colour profile applied."""
    icc = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        rgb = Image.new("RGB", rgba.size, "white")
        rgb.paste(rgba, mask=rgba.getchannel("A"))
    else:
        rgb = image.convert("RGB")
    if icc and features.check("littlecms2"):
        rgb = _apply_profile(rgb, icc)
    return rgb


def _apply_profile(image: Image.Image, icc: bytes) -> Image.Image:
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken or CMYK profile: keep the pixels as they are
    return converted if converted is not None else image


def _encode(image: Image.Image, quality: int, *, progressive: bool) -> Rendition:
    # Pillow copies some of the source's info (a JPEG comment, XMP) into a new file unless
    # told otherwise: start the encoder from nothing.
    image.info.clear()
    out = io.BytesIO()
    image.save(
        out, "JPEG", quality=quality, optimize=True, progressive=progressive, subsampling="4:2:0"
    )
    return Rendition(out.getvalue(), image.width, image.height)


# --- files ---------------------------------------------------------------------------


def photo_folder() -> Path:
    """PHOTO_FOLDER, or ``photos`` in the instance folder."""
    configured = current_app.config.get("PHOTO_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "photos"


def file_path(digest: str) -> Path:
    """Where the file named by ``digest`` lives (two-letter fan-out)."""
    if not DIGEST_RE.match(digest):
        raise ValueError("not a SHA-256 hex digest")
    return photo_folder() / digest[:2] / f"{digest}{SUFFIX}"


def _write(rendition: Rendition) -> str | None:
    """Write the file unless it exists; its digest if this call created it."""
    digest = rendition.sha256
    path = file_path(digest)
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as handle:
        handle.write(rendition.data)
    os.replace(tmp, path)  # readers never see half a file
    return digest


def write_files(processed: Processed) -> list[str]:
    """Write both files; the digests this call created (to discard if the row fails)."""
    return [d for d in (_write(processed.large), _write(processed.thumb)) if d]


def _referenced(digests: Iterable[str]) -> set[str]:
    wanted = list(digests)
    found: set[str] = set()
    for table in (CandidatePhoto, ProjectPhoto):
        rows = db.session.execute(
            select(table.sha256, table.thumb_sha256).where(
                or_(table.sha256.in_(wanted), table.thumb_sha256.in_(wanted))
            )
        )
        found.update(d for row in rows for d in row)
    return found


def discard_unreferenced(digests: Iterable[str]) -> None:
    """Delete the files no photo row names any more (one file may serve several rows)."""
    digests = [d for d in digests if d]
    if not digests:
        return
    keep = _referenced(digests)
    db.session.rollback()  # end the read: no lock is held while touching the disk
    for digest in digests:
        if digest not in keep:
            file_path(digest).unlink(missing_ok=True)


# --- rows ----------------------------------------------------------------------------


def _listing_rounds(candidate_id: int) -> list[tuple[int, str]]:
    """(id, status) of the rounds that list the candidate, drafts included."""
    rows = db.session.execute(
        select(VotingRound.id, VotingRound.status)
        .join(RoundCandidate, RoundCandidate.round_id == VotingRound.id)
        .where(RoundCandidate.candidate_id == candidate_id)
        .order_by(VotingRound.id)
    )
    return [(row.id, row.status) for row in rows]


def listed_in_open_round(candidate_id: int) -> bool:
    """True while a round listing the candidate is open: changes then are flagged in audit."""
    return any(status == RoundStatus.OPEN.value for _, status in _listing_rounds(candidate_id))


def _check_addable(candidate: Candidate, rounds: list[tuple[int, str]]) -> None:
    ended = (RoundStatus.CLOSED.value, RoundStatus.FINALIZED.value)
    if any(status in ended for _, status in rounds):
        raise Conflict("photo_round_closed")
    limit = current_app.config["PHOTO_MAX_PER_CANDIDATE"]
    count = db.session.scalar(
        select(func.count()).where(CandidatePhoto.candidate_id == candidate.id)
    )
    if (count or 0) >= limit:
        raise InvalidInput("photo_limit", maximum=limit)


def _next_position(candidate_id: int) -> int:
    top = db.session.scalar(
        select(func.max(CandidatePhoto.position)).where(CandidatePhoto.candidate_id == candidate_id)
    )
    return (top or 0) + 1


def prepare(stream: IO[bytes], alt_text: str) -> tuple[Processed, str]:
    """Check the description, read and re-encode the upload (no database, no lock)."""
    alt = _clean_alt_text(alt_text)
    limits = PhotoLimits.from_config()
    return process(read_upload(stream, limits), limits), alt


def image_values(processed: Processed, alt: str) -> dict[str, Any]:
    """The StoredImage columns of a photo row made from ``processed``."""
    large, thumb = processed.large, processed.thumb
    return {
        "sha256": large.sha256,
        "width": large.width,
        "height": large.height,
        "size_bytes": len(large.data),
        "thumb_sha256": thumb.sha256,
        "thumb_width": thumb.width,
        "thumb_height": thumb.height,
        "thumb_size_bytes": len(thumb.data),
        "original_size_bytes": processed.original_bytes,
        "alt_text": alt,
    }


def _clean_alt_text(alt_text: str) -> str:
    alt = " ".join(alt_text.split())
    if not alt:
        raise InvalidInput("photo_alt_required")
    if len(alt) > ALT_TEXT_MAX:
        raise InvalidInput("photo_alt_too_long", maximum=ALT_TEXT_MAX)
    return alt


def _rounds_payload(rounds: list[tuple[int, str]]) -> list[dict[str, Any]]:
    return [{"round_id": rid, "status": status} for rid, status in rounds]


def add_photo(
    actor: StaffUser,
    candidate_id: int,
    stream: IO[bytes],
    alt_text: str,
    *,
    now: datetime | None = None,
) -> CandidatePhoto:
    """A station adds a photo of its own candidate's site; refused files leave nothing behind."""
    now = now or utcnow()
    rules.ensure_role(actor.role_enum, Role.STATION)
    processed, alt = prepare(stream, alt_text)  # before the write lock: slow
    begin_write()
    candidate = db.get_or_404(Candidate, candidate_id)
    rules.ensure_station_owns(actor.role_enum, actor.station_id, candidate.station_id)
    rounds = _listing_rounds(candidate.id)
    _check_addable(candidate, rounds)
    created = write_files(processed)
    try:
        photo = _insert(actor, candidate, processed, alt, now)
        audit.record(
            actor, "photo.added", ("candidate_photo", photo.id), _payload(photo, rounds), now=now
        )
        commit()
    except VotingError:
        db.session.rollback()
        discard_unreferenced(created)
        raise
    return photo


def _insert(
    actor: StaffUser, candidate: Candidate, processed: Processed, alt: str, now: datetime
) -> CandidatePhoto:
    photo = CandidatePhoto(
        candidate_id=candidate.id,
        position=_next_position(candidate.id),
        **image_values(processed, alt),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(photo)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        duplicate = db.session.scalar(
            select(CandidatePhoto.id).where(
                CandidatePhoto.candidate_id == candidate.id,
                CandidatePhoto.sha256 == processed.large.sha256,
            )
        )
        raise (
            InvalidInput("photo_duplicate") if duplicate else Conflict("concurrent_change")
        ) from exc
    return photo


def _payload(photo: CandidatePhoto, rounds: list[tuple[int, str]]) -> dict[str, Any]:
    return {
        "candidate_id": photo.candidate_id,
        "sha256": photo.sha256,
        "thumb_sha256": photo.thumb_sha256,
        "alt_text": photo.alt_text,
        "width": photo.width,
        "height": photo.height,
        # Photos are illustration, not ballot content: they may change while a round is
        # open, and the audit trail says which rounds were showing them.
        "rounds": _rounds_payload([r for r in rounds if r[1] != RoundStatus.DRAFT.value]),
    }


def delete_photo(
    actor: StaffUser, candidate_id: int, photo_id: int, *, now: datetime | None = None
) -> None:
    """A station deletes a photo of its own candidate: the row, then the files."""
    now = now or utcnow()
    begin_write()
    photo = db.first_or_404(
        select(CandidatePhoto).where(
            CandidatePhoto.id == photo_id, CandidatePhoto.candidate_id == candidate_id
        )
    )
    rules.ensure_station_owns(actor.role_enum, actor.station_id, photo.candidate.station_id)
    digests = (photo.sha256, photo.thumb_sha256)
    payload = _payload(photo, _listing_rounds(candidate_id))
    audit.record(actor, "photo.deleted", ("candidate_photo", photo.id), payload, now=now)
    db.session.delete(photo)
    commit()
    discard_unreferenced(digests)


# --- serving -------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoAccess:
    """Who may fetch a stored file: anyone, or the owning station and its street's officials."""

    path: Path
    public: bool
    station_ids: frozenset[int]
    street_ids: frozenset[int]

    def visible_to(self, user: Any) -> bool:
        if self.public:
            return True
        if not getattr(user, "is_authenticated", False):
            return False
        if user.role_enum is Role.STATION:
            return user.station_id in self.station_ids
        return user.role_enum is Role.OFFICIAL and user.street_id in self.street_ids


def photo_access(digest: str) -> PhotoAccess | None:
    """The file named ``digest`` and who may see it; None if no photo row names it.

    Public once the candidate is accepted (only accepted candidates stand in rounds, and
    acceptance is final); before that only its station and the reviewing officials. The
    works' photos of a selected project are public from the start.
    """
    if not DIGEST_RE.match(digest):
        return None
    works = db.session.scalar(
        select(ProjectPhoto.id)
        .where(or_(ProjectPhoto.sha256 == digest, ProjectPhoto.thumb_sha256 == digest))
        .limit(1)
    )
    if works is not None:
        return PhotoAccess(file_path(digest), True, frozenset(), frozenset())
    rows = db.session.execute(
        select(Candidate.status, Candidate.station_id, Station.street_id)
        .join(CandidatePhoto, CandidatePhoto.candidate_id == Candidate.id)
        .join(Station, Station.id == Candidate.station_id)
        .where(or_(CandidatePhoto.sha256 == digest, CandidatePhoto.thumb_sha256 == digest))
    ).all()
    if not rows:
        return None
    return PhotoAccess(
        file_path(digest),
        any(row.status == CandidateStatus.ACCEPTED.value for row in rows),
        frozenset(row.station_id for row in rows),
        frozenset(row.street_id for row in rows),
    )
