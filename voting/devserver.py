"""Serving the app with werkzeug's development server (``flask demo``, the browser tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class CloseWhenSent:
    """Call the response's ``close()`` once its last byte is written.

    werkzeug's development server skips ``close()`` when the browser resets the connection
    after reading a response (its discard-the-rest read raises first), and ``close()`` is
    where the app hands phone codes to the SMS sender (views/vote_phone.py sends them after
    the response, so on-roll and off-roll requests take the same time). gunicorn always
    calls it; under the development server this wrapper does, so no code is lost from the
    development outbox.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        body = self.app(environ, start_response)
        try:
            yield from body
        finally:
            if hasattr(body, "close"):
                body.close()
