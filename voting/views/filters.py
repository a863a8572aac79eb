"""Template filters: money in 元/万元, times in Beijing time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import gettext as _

from ..domain.codes import format_code, format_receipt


def yuan(value: int | None) -> str:
    """28.5万元 from ten thousand up, otherwise 3,200元."""
    if value is None:
        return ""
    if value >= 10_000:
        wan = f"{value / 10_000:.2f}".rstrip("0").rstrip(".")
        return _("%(n)s万元", n=wan)
    return _("%(n)s元", n=f"{value:,}")


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return value.astimezone(zone).strftime(fmt)


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def register(app: Flask) -> None:
    app.add_template_filter(yuan)
    app.add_template_filter(local_time)
    app.add_template_filter(percent)
    app.add_template_filter(format_code)
    app.add_template_filter(format_receipt)
    from flask_babel import get_locale

    from .messages import message_for

    app.add_template_global(message_for)
    app.add_template_global(get_locale)
