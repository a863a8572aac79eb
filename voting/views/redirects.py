"""Where a form may send the browser afterwards: only paths on this site."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a plain same-site path, else ``default``.

    Browsers drop tabs and newlines from URLs and read backslashes as slashes, so
    ``/\\t/evil.example`` would become ``//evil.example``: refuse control characters and
    backslashes outright rather than trying to clean them.
    """
    if not target or any(ord(ch) < 0x20 or ch in "\\\x7f" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
