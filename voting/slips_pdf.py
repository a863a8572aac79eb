"""Voting-code slips as an A4 PDF: ten to a page, cut apart and delivered door to door.

Chinese text uses reportlab's built-in CID font STSong-Light (Adobe-GB1), which needs no
font file: the PDF names the font and the viewer or printer supplies a Song face. The code
itself is set in Courier-Bold, one of the 14 standard PDF fonts. The QR code is drawn as
vector rectangles, so it prints sharply at any size. Codes appear only in the page content,
never in the document information (title, subject, keywords) or in link annotations.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from .domain.codes import format_code
from .services.codes import Slip

CJK_FONT = "STSong-Light"
CODE_FONT = "Courier-Bold"
COLUMNS, ROWS = 2, 5
PER_PAGE = COLUMNS * ROWS
PAGE_W, PAGE_H = A4
MARGIN = 10 * mm
CELL_W = (PAGE_W - 2 * MARGIN) / COLUMNS
CELL_H = (PAGE_H - 2 * MARGIN) / ROWS
PAD = 4.5 * mm
INNER_W = CELL_W - 2 * PAD
QR_SIZE = 30 * mm
QR_GAP = 4.5 * mm  # white space right of the QR code: its quiet zone
TEXT_W = INNER_W - QR_SIZE - QR_GAP
ZONE_LABELS = {"Asia/Shanghai": "北京时间"}
ELLIPSIS = "…"

# Line-breaking units: a masked name (王**) or a run of printable ASCII (a URL, a room
# number) stays whole; any other character is its own unit, carrying closing punctuation so
# no line starts with it.
_TOKEN = re.compile(r"[^\s!-~]+\*+|[!-~]+|\s+|[^\s!-~][，。、：；！？）》」]*")


@dataclass(frozen=True)
class _Block:
    """A paragraph in a slip's text column: font, size, leading and a line limit."""

    text: str
    font: str
    size: float
    leading: float
    max_lines: int = 1
    gray: float = 0.0


@dataclass(frozen=True)
class _Sheet:
    """What every slip of one round shares."""

    title: str
    base_url: str
    instruction: str
    window_label: str
    window: str


def qr_modules(url: str) -> list[tuple[int, int]]:
    """The dark modules of ``url``'s QR code (error level M) as (column, row), no border."""
    matrix = segno.make_qr(url, error="m").matrix
    return [(x, y) for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark]


def qr_runs(modules: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (column, row, length), row by row."""
    run: tuple[int, int, int] | None = None
    for x, y in sorted(modules, key=lambda m: (m[1], m[0])):
        if run and run[1] == y and run[0] + run[2] == x:
            run = (run[0], y, run[2] + 1)
            continue
        if run:
            yield run
        run = (x, y, 1)
    if run:
        yield run


def _tokens(text: str, font: str, size: float, width: float) -> Iterator[str]:
    """Line-breaking units of ``text``; a unit wider than ``width`` splits into characters."""
    for token in _TOKEN.findall(text):
        if pdfmetrics.stringWidth(token, font, size) > width:
            yield from token
        else:
            yield token


def _truncate(line: str, font: str, size: float, width: float) -> str:
    """``line`` shortened until it fits ``width`` with an ellipsis after it."""
    while line and pdfmetrics.stringWidth(line + ELLIPSIS, font, size) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def wrap_text(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines of ``width`` points, ellipsized."""
    lines: list[str] = []
    current = ""
    for token in _tokens(text, font, size, width):
        if current and pdfmetrics.stringWidth((current + token).rstrip(), font, size) > width:
            lines.append(current.rstrip())
            current = token.lstrip()
        else:
            current += token
    lines.append(current.rstrip())
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [_truncate(lines[max_lines - 1], font, size, width)]
    return lines


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """``moment`` (an aware datetime) in ``zone``; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime; pass aware UTC times")
    return moment.astimezone(zone)


def window_text(opens_at: datetime, closes_at: datetime, tz: str) -> str:
    """The voting window in ``tz``: ``2026年5月11日 10:30 至 5月25日 18:00``."""
    zone = ZoneInfo(tz)
    start, end = _local(opens_at, zone), _local(closes_at, zone)
    end_year = "" if end.year == start.year else f"{end.year}年"
    return (
        f"{start.year}年{start.month}月{start.day}日 {start:%H:%M} 至 "
        f"{end_year}{end.month}月{end.day}日 {end:%H:%M}"
    )


def register_fonts() -> None:
    """Register the built-in Chinese CID font once per process."""
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _draw_qr(c: Canvas, url: str, x: float, top: float) -> None:
    """Draw ``url``'s QR code, QR_SIZE square, its top-left corner at (x, top)."""
    modules = qr_modules(url)
    count = 1 + max(col for col, _ in modules)  # the top-right finder is always dark
    scale = QR_SIZE / count
    c.saveState()
    c.translate(x, top)
    c.scale(scale, -scale)  # one unit per module, rows counting down the page
    path = c.beginPath()
    for col, row, length in qr_runs(modules):
        path.rect(col, row, length, 1)
    c.setFillGray(0)
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


def _draw_title(c: Canvas, title: str, x: float, top: float) -> float:
    """Draw the round title in faux bold across the slip; return the y below it."""
    size = 10.5
    lines = wrap_text(title, CJK_FONT, size, INNER_W, 2)
    c.setFont(CJK_FONT, size)
    c.setFillGray(0)
    c.setStrokeGray(0)
    c.setLineWidth(0.25)
    y = top - size
    for line in lines:
        c.drawString(x, y, line, mode=2)  # fill and stroke: STSong has no bold weight
        y -= size + 2
    c.setStrokeGray(0.6)
    c.line(x, y + size - 1, x + INNER_W, y + size - 1)
    return y + size - 1


def _draw_blocks(c: Canvas, blocks: Sequence[_Block], x: float, top: float, bottom: float) -> None:
    """Draw paragraphs down a TEXT_W column, tightening line spacing to end above ``bottom``."""
    laid = [(b, wrap_text(b.text, b.font, b.size, TEXT_W, b.max_lines)) for b in blocks]
    height = sum(block.leading * len(lines) for block, lines in laid)
    squeeze = min(1.0, (top - bottom) / height)
    y = top
    for block, lines in laid:
        c.setFont(block.font, block.size)
        c.setFillGray(block.gray)
        leading = block.leading * squeeze
        for line in lines:
            y -= leading
            c.drawString(x, y + max(leading - block.size, 0) / 2, line)


def _slip_blocks(sheet: _Sheet, slip: Slip) -> list[_Block]:
    """The text column of one slip, top to bottom."""
    address = f"{slip.community} {slip.building}{slip.unit}{slip.room}\u3000{slip.name_hint}"
    return [
        _Block(address, CJK_FONT, 10, 13, max_lines=2),
        _Block("投票码", CJK_FONT, 8, 11, gray=0.35),
        _Block(format_code(slip.code), CODE_FONT, 16, 21),
        _Block(sheet.instruction, CJK_FONT, 8, 10.5, max_lines=3),
        _Block(sheet.window_label, CJK_FONT, 8, 10.5, gray=0.35),
        _Block(sheet.window, CJK_FONT, 8, 10.5, max_lines=2),
    ]


def _draw_slip(c: Canvas, sheet: _Sheet, slip: Slip, x0: float, top: float) -> None:
    """Draw one slip in the cell whose top-left corner is (x0, top)."""
    x, y = x0 + PAD, _draw_title(c, sheet.title, x0 + PAD, top - PAD) - 3.5 * mm
    _draw_qr(c, f"{sheet.base_url}/vote/c/{slip.code}", x, y)
    column = x + QR_SIZE + QR_GAP
    _draw_blocks(c, _slip_blocks(sheet, slip), column, y + 2, top - CELL_H + 2 * mm)


def _draw_cut_lines(c: Canvas, rows: int) -> None:
    """Dashed grey lines around and between the slips of the first ``rows`` rows."""
    top, bottom = PAGE_H - MARGIN, PAGE_H - MARGIN - rows * CELL_H
    c.saveState()
    c.setDash(3, 2)
    c.setLineWidth(0.5)
    c.setStrokeGray(0.5)
    for row in range(rows + 1):
        c.line(MARGIN, top - row * CELL_H, PAGE_W - MARGIN, top - row * CELL_H)
    for col in range(COLUMNS + 1):
        c.line(MARGIN + col * CELL_W, top, MARGIN + col * CELL_W, bottom)
    c.restoreState()


def _draw_header(c: Canvas, sheet: _Sheet, page: int, pages: int) -> None:
    """A small line in the top margin: round, page number, how to cut."""
    c.setFont(CJK_FONT, 7)
    c.setFillGray(0.4)
    text = f"{sheet.title}　投票码分发单　第 {page}/{pages} 页　沿虚线剪开，每户一张"
    line = wrap_text(text, CJK_FONT, 7, PAGE_W - 2 * MARGIN, 1)[0]
    c.drawString(MARGIN, PAGE_H - MARGIN + 2.5 * mm, line)


def _draw_page(c: Canvas, sheet: _Sheet, slips: Sequence[Slip], page: int, pages: int) -> None:
    """Draw up to PER_PAGE slips, two across, top to bottom, with their cut lines."""
    _draw_header(c, sheet, page, pages)
    if not slips:
        c.setFont(CJK_FONT, 12)
        c.setFillGray(0)
        c.drawString(MARGIN, PAGE_H - MARGIN - 12 * mm, "本次没有新发放的投票码。")
        return
    _draw_cut_lines(c, -(-len(slips) // COLUMNS))
    for i, slip in enumerate(slips):
        row, col = divmod(i, COLUMNS)
        _draw_slip(c, sheet, slip, MARGIN + col * CELL_W, PAGE_H - MARGIN - row * CELL_H)


def render_slips_pdf(
    *,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    base_url: str,
    slips: Sequence[Slip],
    tz: str = "Asia/Shanghai",
    compress: bool = True,
) -> bytes:
    """An A4 PDF of ``slips``, ten to a page with dashed cut lines; the bytes of the file."""
    register_fonts()
    base = base_url.rstrip("/")
    sheet = _Sheet(
        title=title,
        base_url=base,
        instruction=f"扫码或打开 {base}/vote/ 输入投票码，一人一码，只能投一次",
        window_label=f"投票时间（{ZONE_LABELS.get(tz, tz)}）",
        window=window_text(opens_at, closes_at, tz),
    )
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, pageCompression=1 if compress else 0, lang="zh-CN")
    c.setTitle(f"{title} 投票码分发单")
    c.setAuthor("民生实事票决")
    c.setSubject("投票码分发单")
    c.setCreator("民生实事票决")
    pages = [slips[i : i + PER_PAGE] for i in range(0, len(slips), PER_PAGE)] or [[]]
    for number, page in enumerate(pages, start=1):
        _draw_page(c, sheet, page, number, len(pages))
        c.showPage()
    c.save()
    return buffer.getvalue()
