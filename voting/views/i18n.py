"""Which language a page is shown in: Chinese unless the visitor chose English."""

from __future__ import annotations

from flask import has_request_context, request

SUPPORTED = ("zh_Hans_CN", "en")


def select_locale() -> str:
    if not has_request_context():  # CLI: slips and reports are printed in Chinese
        return SUPPORTED[0]
    chosen = request.cookies.get("lang", "")
    return chosen if chosen in SUPPORTED else SUPPORTED[0]
