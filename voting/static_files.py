"""Fingerprinted static files: ``url_for('static', ...)`` adds ``?v=<content hash>``.

A URL that carries the current hash is cached by phones for a year (``immutable``): a
change to the file changes its URL, so nobody runs a stale stylesheet or script, and a
returning resident fetches nothing but the page. A URL without it, or with an old hash,
gets the ordinary revalidating headers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

YEAR = 365 * 24 * 3600


def init_static_files(app: Flask) -> None:
    folder = Path(app.static_folder or "")
    # filename → (mtime, hash): recomputed only when the file changes on disk.
    cache: dict[str, tuple[float, str]] = {}

    def fingerprint(filename: str) -> str | None:
        path = (folder / filename).resolve()
        if folder.resolve() not in path.parents or not path.is_file():
            return None
        mtime = path.stat().st_mtime
        known = cache.get(filename)
        if known is None or known[0] != mtime:
            known = (mtime, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
            cache[filename] = known
        return known[1]

    @app.url_defaults
    def _add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = fingerprint(values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def _cache_fingerprinted(response: Response) -> Response:
        if request.endpoint != "static" or response.status_code != 200:
            return response
        filename = (request.view_args or {}).get("filename", "")
        if request.args.get("v") and request.args["v"] == fingerprint(filename):
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        return response
