"""Import a 200,000-row resident roll, as CSV and as XLSX, on SQLite and PostgreSQL.

    python bench/roll_import.py                       # SQLite file in a temp folder
    python bench/roll_import.py --database-url postgresql://postgres@127.0.0.1:5432/bench_roll

Generates a synthetic, deterministic roll (random.Random(2026); valid GB 11643 check
digits, built with the helpers of seeds/make_roll.py) in a temp folder: as CSV, and as XLSX
twice — the way Excel saves a sheet (shared strings) and the way openpyxl does (inline
strings, no dimension: slower to read back).
Then, for each database and format, in a fresh process so that the peak memory is that
import's own: imports the file into an empty roll, re-imports the same file (which must
report every row unchanged), and prints seconds, rows/s and peak memory (max RSS, and the
RSS before the import), and the import's own CPU seconds (a steadier figure than wall time
on a shared machine; PostgreSQL's server-side work is not in it). The database named by
--database-url is wiped.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEPPER = "bench-pepper"
HEADER = ["姓名", "身份证号", "手机号", "社区", "楼栋", "单元", "房号"]


def _make_roll():  # type: ignore[no-untyped-def]
    """seeds/make_roll.py, whose generators (names, birth dates, ID numbers) we reuse."""
    if "make_roll" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_roll", ROOT / "seeds" / "make_roll.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules["make_roll"] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules["make_roll"]


def synthetic_roll(total: int, seed: int = 2026) -> list[list[str]]:
    """``total`` residents over the five demo communities, in the demo's proportions."""
    make_roll = _make_roll()
    rng = random.Random(seed)
    ids: set[str] = set()
    phones: set[str] = set()
    rows = []
    demo_size = sum(c[1] for c in make_roll.COMMUNITIES)
    for name, count, _buildings, _units in make_roll.COMMUNITIES:
        for i in range(total * count // demo_size):
            male = rng.random() < 0.47
            born = make_roll.birth_date(rng)
            flat = i // 2
            phone = "" if rng.random() < 0.05 else make_roll.phone_number(rng, phones)
            rows.append(
                [
                    rng.choice(make_roll.SURNAMES) + make_roll.given_name(rng, male),
                    make_roll.id_number(rng, born, male, ids),
                    phone,
                    name,
                    f"{flat // 36 + 1}幢",
                    f"{flat // 12 % 3 + 1}单元",
                    f"{flat // 2 % 6 + 1}0{flat % 2 + 1}",
                ]
            )
    return rows


def write_files(rows: list[list[str]], folder: Path) -> list[tuple[str, Path]]:
    """The roll as CSV, as XLSX the way Excel saves it, and as XLSX the way openpyxl does."""
    from openpyxl import Workbook

    csv_path = folder / "roll.csv"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("名册")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    inline_path = folder / "roll-inline.xlsx"
    book.save(inline_path)
    excel_path = folder / "roll-excel.xlsx"
    excel_path.write_bytes(excel_style(inline_path.read_bytes(), len(rows) + 1))
    return [("csv", csv_path), ("xlsx-excel", excel_path), ("xlsx-openpyxl", inline_path)]


INLINE_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t>([^<]*)</t></is></c>')
SHEET = "xl/worksheets/sheet1.xml"
SST_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def excel_style(book: bytes, last_row: int) -> bytes:
    """Rewrite openpyxl's output as Excel writes a sheet: a shared-string table and a
    <dimension> element. (openpyxl writes every text cell inline and no dimension, so reading
    its files back costs an extra pass over the sheet and a rich-text parse per cell.)"""
    strings: dict[bytes, int] = {}

    def shared(match: re.Match[bytes]) -> bytes:
        index = strings.setdefault(match[2], len(strings))
        return b'<c r="%s" t="s"><v>%d</v></c>' % (match[1], index)

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == SHEET:
                content = INLINE_CELL.sub(shared, content)
                dimension = b'</sheetPr><dimension ref="A1:G%d" />' % last_row
                content = content.replace(b"</sheetPr>", dimension, 1)
            elif item.filename == "[Content_Types].xml":
                override = b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s" />'
                content = content.replace(b"</Types>", override % SST_TYPE + b"</Types>")
            elif item.filename == "xl/_rels/workbook.xml.rels":
                rel = b'<Relationship Type="%s" Target="sharedStrings.xml" Id="rIdSst" />'
                content = content.replace(b"</Relationships>", rel % SST_REL + b"</Relationships>")
            target.writestr(item, content)
        table = b"".join(b"<si><t>%s</t></si>" % text for text in strings)
        target.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="%s" uniqueCount="%d">%s</sst>' % (MAIN_NS, len(strings), table),
            compress_type=zipfile.ZIP_DEFLATED,
        )
    return out.getvalue()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def run_case(path: Path, label: str, url: str) -> None:
    """One database and one file, in this process: import, re-import, print the figures."""
    from voting import create_app
    from voting.extensions import db
    from voting.services import roll, staff

    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "b", "ROLL_PEPPER": PEPPER}
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        street = staff.ensure_street("凯旋街道", "上城区")
        for community in _make_roll().COMMUNITIES:
            staff.ensure_community(street, community[0])
        data = path.read_bytes()
        before = _rss_mb()
        t0, cpu0 = time.perf_counter(), time.process_time()
        first = roll.import_roll(data, street=street, pepper=PEPPER.encode())
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        assert first.created == first.rows, first.counts()
        t0 = time.perf_counter()
        again = roll.import_roll(data, street=street, pepper=PEPPER.encode())
        again_seconds = time.perf_counter() - t0
        assert (again.created, again.updated, again.unchanged) == (0, 0, again.rows)
        print(
            f"database={db.engine.dialect.name} file={label} rows={first.rows} "
            f"import_s={seconds:.1f} rows_per_s={first.rows / seconds:,.0f} cpu_s={cpu:.1f} "
            f"reimport_s={again_seconds:.1f} reimport_unchanged={again.unchanged} "
            f"rss_before_mb={before:.0f} peak_rss_mb={_rss_mb():.0f}",
            flush=True,
        )
        db.session.remove()
        db.drop_all()


def _run(*args: str) -> None:
    """This script again, in a fresh process: its peak RSS is then its own work's."""
    subprocess.run([sys.executable, __file__, *args], check=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--case", nargs=2, metavar=("LABEL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        t0 = time.perf_counter()
        files = write_files(synthetic_roll(args.rows), args.generate)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.1f} MB" for _, p in files)
        print(f"generated {args.rows} rows in {time.perf_counter() - t0:.1f} s: {sizes}")
        return
    if args.case:
        run_case(Path(args.case[1]), args.case[0], args.database_url)
        return
    folder = Path(tempfile.mkdtemp(prefix="roll-bench-"))
    _run("--generate", str(folder), "--rows", str(args.rows))
    files = [
        ("csv", "roll.csv"),
        ("xlsx-excel", "roll-excel.xlsx"),
        ("xlsx-openpyxl", "roll-inline.xlsx"),
    ]
    urls = [f"sqlite:///{folder / 'bench.sqlite'}"]
    if args.database_url:
        urls.append(args.database_url)
    for url in urls:
        for label, name in files:
            _run("--case", label, str(folder / name), "--database-url", url)
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
