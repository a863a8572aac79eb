"""Printable voting-code slips: one per resident, code and QR link, A4 cutting layout."""

from __future__ import annotations

import segno
from flask import current_app, render_template
from markupsafe import Markup

from ..services.codes import Slip
from ..services.rounds import load_round


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code (no external requests, prints sharply)."""
    svg = segno.make(url, error="m").svg_inline(scale=3, border=2)
    return Markup(svg)  # noqa: S704 — segno's own SVG, built from our URL


def render_slips(round_id: int, slips: list[Slip]) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    rnd = load_round(round_id)
    items = [(slip, f"{base}/vote/c/{slip.code}") for slip in slips]
    return render_template("vote/slips.html", round=rnd, items=items, qr_svg=qr_svg, base_url=base)
