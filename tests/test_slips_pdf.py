"""The printable PDF of voting-code slips: pages, codes, QR codes, Chinese text, metadata.

The tests read the PDF made with ``compress=False``, whose content streams are plain
operators: Courier text as ``(1234 5678 9012) Tj``, STSong-Light text as UTF-16BE literal
strings, each QR code as one path of ``column row length 1 re`` runs in module units.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest
import segno
from reportlab.pdfbase.pdfmetrics import stringWidth

from voting.domain.codes import format_code, generate_code
from voting.services.codes import Slip
from voting.slips_pdf import (
    CJK_FONT,
    qr_modules,
    qr_runs,
    register_fonts,
    render_slips_pdf,
    window_text,
    wrap_text,
)

BASE = "http://vote.test"
TITLE = "2026年凯旋街道民生实事候选项目公开投票"
OPENS = datetime(2026, 5, 11, 2, 30, tzinfo=UTC)  # 10:30 in Beijing
CLOSES = datetime(2026, 5, 25, 10, 0, tzinfo=UTC)  # 18:00 in Beijing
QR_BLOCK = re.compile(rb"cm\s+0 g\s+n ((?:\d+ \d+ \d+ 1 re\s+)+)f\*?")
RUN = re.compile(rb"(\d+) (\d+) (\d+) 1 re")


def make_slips(n: int, seed: int = 3) -> list[Slip]:
    rng = random.Random(seed)
    communities = ("南肖埠社区", "景芳社区")
    return [
        Slip(
            generate_code(rng),
            communities[i % 2],
            f"{i % 9 + 1}幢",
            f"{i % 3 + 1}单元",
            str(rng.randrange(101, 699)),
            "王**",
        )
        for i in range(n)
    ]


def render(slips: list[Slip], **kw: object) -> bytes:
    options: dict[str, object] = {
        "title": TITLE,
        "opens_at": OPENS,
        "closes_at": CLOSES,
        "base_url": BASE + "/",
        "compress": False,
    }
    options.update(kw)
    return render_slips_pdf(slips=slips, **options)  # type: ignore[arg-type]


def pdf_literal(text: str) -> bytes:
    """``text`` as a CID-font string body: UTF-16BE bytes, escaped as PDF literals are."""
    out = bytearray()
    for byte in text.encode("utf-16-be"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    return bytes(out)


def _object(pdf: bytes, number: int) -> bytes:
    match = re.search(rb"(?<!\d)%d 0 obj\b(.*?)endobj" % number, pdf, re.S)
    assert match, f"no object {number}"
    return match.group(1)


def page_streams(pdf: bytes) -> list[bytes]:
    """Each page's content stream, in page order (the /Kids of the page tree)."""
    kids = re.search(rb"/Kids \[([\d R]+)\]", pdf)
    assert kids
    streams = []
    for number in re.findall(rb"(\d+) 0 R", kids.group(1)):
        contents = re.search(rb"/Contents (\d+) 0 R", _object(pdf, int(number)))
        assert contents
        body = re.search(rb"stream\r?\n(.*)endstream", _object(pdf, int(contents.group(1))), re.S)
        assert body
        streams.append(body.group(1))
    return streams


def outside_streams(pdf: bytes) -> bytes:
    """The PDF without its streams: dictionaries, document information, trailer."""
    return re.sub(rb"stream\r?\n.*?endstream", b"", pdf, flags=re.S)


def drawn_qr(stream: bytes, index: int) -> set[tuple[int, int]]:
    """The dark modules of the ``index``-th QR code drawn in a page's content stream."""
    block = QR_BLOCK.findall(stream)[index]
    return {
        (col + dx, row)
        for col, row, length in ((int(a), int(b), int(c)) for a, b, c in RUN.findall(block))
        for dx in range(length)
    }


def segno_modules(url: str) -> set[tuple[int, int]]:
    matrix = segno.make(url, error="m", micro=False).matrix
    return {(x, y) for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark}


@pytest.fixture(scope="module")
def slips() -> list[Slip]:
    return make_slips(23)


@pytest.fixture(scope="module")
def pdf(slips: list[Slip]) -> bytes:
    return render(slips)


def test_pdf_twenty_three_slips_three_pages(pdf):
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 3
    assert b"/Count 3" in pdf
    assert len(page_streams(pdf)) == 3


def test_pdf_every_code_printed_grouped_on_its_page(pdf, slips):
    streams = page_streams(pdf)
    for i, slip in enumerate(slips):
        text = f"({format_code(slip.code)}) Tj".encode()
        assert text in streams[i // 10], slip.code
    assert [len(QR_BLOCK.findall(s)) for s in streams] == [10, 10, 3]


def test_pdf_code_set_in_courier(pdf, slips):
    first = page_streams(pdf)[0]
    code_at = first.index(f"({format_code(slips[0].code)}) Tj".encode())
    font = re.findall(rb"/(F\d+) [\d.]+ Tf", first[:code_at])[-1]
    assert re.search(rb"/BaseFont /Courier-Bold [^>]*/Name /%s\b" % font, pdf)


@pytest.mark.parametrize(("page", "index", "slip_no"), [(0, 0, 0), (0, 9, 9), (2, 2, 22)])
def test_pdf_qr_drawn_is_segno_matrix_of_vote_link(pdf, slips, page, index, slip_no):
    url = f"{BASE}/vote/c/{slips[slip_no].code}"
    drawn = drawn_qr(page_streams(pdf)[page], index)
    assert drawn == segno_modules(url)
    assert drawn == set(qr_modules(url))


def test_qr_modules_equal_segno_matrix():
    url = f"{BASE}/vote/c/123456789012"
    matrix = segno.make(url, error="m").matrix
    dark = set(qr_modules(url))
    size = len(matrix)
    rebuilt = [[int((x, y) in dark) for x in range(size)] for y in range(size)]
    assert rebuilt == [list(row) for row in matrix]
    assert (0, 0) in dark  # finder corners: how the renderer learns the size
    assert (size - 1, 0) in dark


def test_qr_runs_merge_neighbours_row_by_row():
    modules = [(3, 1), (0, 0), (1, 0), (2, 0), (5, 0), (4, 1)]
    assert list(qr_runs(modules)) == [(0, 0, 3), (5, 0, 1), (3, 1, 2)]
    assert list(qr_runs([])) == []


def test_pdf_chinese_title_in_cid_font(pdf):
    assert b"/BaseFont /STSong-Light" in pdf
    assert b"/Encoding /UniGB-UCS2-H" in pdf
    assert b"/FontFile" not in pdf  # a built-in CID font: nothing embedded
    assert all(pdf_literal(TITLE) in stream for stream in page_streams(pdf))


def test_pdf_title_on_every_slip_of_first_page(pdf):
    first = page_streams(pdf)[0]
    assert first.count(b"(" + pdf_literal(TITLE) + b") Tj") == 10


def test_pdf_instruction_and_window_in_beijing_time(pdf):
    first = page_streams(pdf)[0]
    assert pdf_literal(f"{BASE}/vote/") in first
    assert pdf_literal("一人一码，只能投一次") in first
    assert pdf_literal("投票时间（北京时间）") in first
    assert pdf_literal("2026年5月11日 10:30 至 5月25日 18:00") in first


def test_pdf_codes_absent_from_metadata_and_links(pdf, slips):
    outside = outside_streams(pdf)
    assert b"/Title" in outside
    assert b"/Annots" not in outside
    assert b"/URI" not in outside
    for slip in slips:
        for form in (slip.code, format_code(slip.code)):
            assert form.encode() not in outside
            assert pdf_literal(form) not in outside


def test_pdf_compressed_by_default_hides_nothing_in_clear(slips):
    pdf = render(slips, compress=True)
    assert pdf.startswith(b"%PDF-")
    assert b"/FlateDecode" in pdf
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 3
    for slip in slips:
        assert slip.code.encode() not in pdf
        assert format_code(slip.code).encode() not in pdf


def test_pdf_no_slips_one_page_with_notice():
    pdf = render([])
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 1
    assert pdf_literal("本次没有新发放的投票码") in page_streams(pdf)[0]


def test_pdf_naive_datetime_refused():
    with pytest.raises(ValueError, match="naive"):
        render(make_slips(1), opens_at=datetime(2026, 5, 11, 10, 30))  # noqa: DTZ001


def test_window_text_names_year_of_close_only_when_it_differs():
    assert window_text(OPENS, CLOSES, "Asia/Shanghai") == "2026年5月11日 10:30 至 5月25日 18:00"
    new_year = datetime(2027, 1, 8, 10, 0, tzinfo=UTC)
    assert window_text(datetime(2026, 12, 28, 2, 30, tzinfo=UTC), new_year, "Asia/Shanghai") == (
        "2026年12月28日 10:30 至 2027年1月8日 18:00"
    )


def test_wrap_text_fits_width_keeps_urls_and_masked_names_whole():
    register_fonts()
    text = f"南肖埠社区 新城花园东区27幢3单元1502\u3000欧阳** 扫码或打开 {BASE}/vote/ 输入投票码"
    lines = wrap_text(text, CJK_FONT, 10, 120, 10)
    assert len(lines) > 1
    assert all(stringWidth(line, CJK_FONT, 10) <= 120 for line in lines)
    assert any("欧阳**" in line for line in lines)
    assert any(f"{BASE}/vote/" in line for line in lines)
    narrow = wrap_text("一二三，四五六", CJK_FONT, 10, 30, 9)
    assert not any(line.startswith("，") for line in narrow)


def test_wrap_text_ellipsizes_past_max_lines():
    register_fonts()
    lines = wrap_text(TITLE * 4, CJK_FONT, 10, 120, 2)
    assert len(lines) == 2
    assert lines[-1].endswith("…")
    assert stringWidth(lines[-1], CJK_FONT, 10) <= 120
