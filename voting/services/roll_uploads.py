"""An uploaded roll file, kept between its preview and the official's confirmation.

The file is stored in the instance folder under a random name the server makes — never the
client's filename — and found again only through the token kept in the signed session,
next to the file's SHA-256: a file changed on disk after the preview is refused. Kept files
are deleted after the import, after a refused confirmation, and after an hour in any case.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from ..domain.errors import InvalidInput
from ..extensions import db
from ..models import StaffUser, Street
from . import roll
from .roll import ImportReport

MAX_AGE_SECONDS = 3600
SUFFIX = ".upload"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class StagedRoll:
    """What the session remembers about a previewed file."""

    token: str
    sha256: str
    full_roll: tuple[str, ...]
    staged_at: float

    def to_session(self) -> dict[str, Any]:
        """Plain JSON for the session cookie."""
        return {
            "token": self.token,
            "sha256": self.sha256,
            "full_roll": list(self.full_roll),
            "at": self.staged_at,
        }

    @classmethod
    def from_session(cls, data: object) -> StagedRoll | None:
        """Read back what ``to_session`` stored; None if absent or malformed."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                str(data["token"]),
                str(data["sha256"]),
                tuple(str(name) for name in data["full_roll"]),
                float(data["at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Staging:
    """A preview, and the kept file if every row was good."""

    report: ImportReport
    staged: StagedRoll | None


def upload_folder() -> Path:
    """Where kept files live: ROLL_UPLOAD_FOLDER, or ``roll_uploads`` in the instance folder."""
    configured = current_app.config.get("ROLL_UPLOAD_FOLDER")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "roll_uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _max_age() -> float:
    return float(current_app.config.get("ROLL_UPLOAD_MAX_AGE", MAX_AGE_SECONDS))


def _path(token: str) -> Path:
    if not TOKEN_RE.match(token):  # the session is signed, but a name must never be a path
        raise InvalidInput("roll_upload_missing")
    return upload_folder() / f"{token}{SUFFIX}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sweep(now: float | None = None) -> int:
    """Delete kept files older than the maximum age; return how many."""
    limit = (now or time.time()) - _max_age()
    removed = 0
    for path in upload_folder().glob(f"*{SUFFIX}"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another worker swept it first
            continue
    return removed


def discard(token: str) -> None:
    """Delete a kept file (no error if it is already gone)."""
    if TOKEN_RE.match(token):
        _path(token).unlink(missing_ok=True)


def _keep(data: bytes) -> str:
    token = secrets.token_urlsafe(24)
    fd = os.open(_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return token


def stage_roll(
    data: bytes,
    *,
    street_id: int,
    pepper: bytes,
    full_roll: Collection[str] = (),
    now: float | None = None,
) -> Staging:
    """Preview ``data`` (nothing written to the database); keep the file if all rows are good."""
    now = now or time.time()
    sweep(now)
    report = roll.preview_roll(data, street_id=street_id, pepper=pepper, full_roll=full_roll)
    if report.errors:
        return Staging(report, None)
    token = _keep(data)
    return Staging(report, StagedRoll(token, _digest(data), tuple(full_roll), now))


def _load(staged: StagedRoll, now: float) -> bytes:
    path = _path(staged.token)
    if now - staged.staged_at > _max_age():
        raise InvalidInput("roll_upload_missing")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput("roll_upload_missing") from None
    if not hmac.compare_digest(_digest(data), staged.sha256):
        raise InvalidInput("roll_upload_changed")
    return data


def commit_staged(
    staged: StagedRoll,
    *,
    street_id: int,
    pepper: bytes,
    actor: StaffUser,
    now: float | None = None,
) -> ImportReport:
    """Re-read the kept file, check it is unchanged and fresh, import it; then delete it."""
    try:
        data = _load(staged, now or time.time())
        street = db.session.get(Street, street_id)
        if street is None:
            raise InvalidInput("other_street")
        return roll.import_roll(
            data, street=street, pepper=pepper, actor=actor, full_roll=staged.full_roll
        )
    finally:
        discard(staged.token)
