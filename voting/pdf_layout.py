"""A4 layout shared by the printed notice (``notice_pdf``) and the tally sheet (``council_pdf``).

Paragraph styles in the built-in CID font STSong-Light (no font file, as ``slips_pdf``),
a bordered table style with a grey header row, local times, and one function that builds
the document with the same margins and metadata for both.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, TableStyle

from .slips_pdf import CJK_FONT, register_fonts

HASH_FONT = "Courier"
MARGIN = 18 * mm
PAGE_W, PAGE_H = A4

PageHook = Callable[[Canvas, SimpleDocTemplate], None]


def _style(name: str, size: float, **kw: object) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=CJK_FONT, fontSize=size, leading=size * 1.45, wordWrap="CJK", **kw
    )


STYLES = {
    "title": _style("title", 17, alignment=TA_CENTER, spaceAfter=3 * mm),
    "subtitle": _style("subtitle", 11, alignment=TA_CENTER, spaceAfter=5 * mm),
    "h2": _style("h2", 12.5, spaceBefore=5 * mm, spaceAfter=2 * mm, keepWithNext=1),
    "h3": _style("h3", 10.5, spaceBefore=2.5 * mm, spaceAfter=1 * mm, keepWithNext=1),
    "body": _style("body", 10.5, spaceAfter=1.5 * mm),
    "cell": _style("cell", 9),
    "small": _style("small", 8.5, textColor=colors.HexColor("#333333")),
    "hash": ParagraphStyle("hash", fontName=HASH_FONT, fontSize=8, leading=11),
}

# A ruled table whose first row is the header.
GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped: titles, reasons and objections are not markup)."""
    return Paragraph(escape(text), STYLES[style])


def local(moment: datetime, tz: str) -> str:
    """``moment`` (aware) as local wall time, to the minute."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def build_a4(
    content: Callable[[], Sequence[Flowable]],
    *,
    title: str,
    subject: str,
    compress: bool,
    on_page: PageHook | None = None,
) -> bytes:
    """Lay ``content()`` out on A4 pages with the shared margins; return the PDF.

    ``content`` is called after the Chinese font is registered: paragraphs need it.
    """
    register_fonts()
    flowables = list(content())
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author="民生实事票决",
        subject=subject,
        creator="民生实事票决",
        lang="zh-CN",
        pageCompression=1 if compress else 0,
    )
    if on_page is None:
        doc.build(flowables)
    else:
        doc.build(flowables, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
