"""Synthetic roll files for the import tests: deterministic, valid GB 11643 check digits."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, timedelta

from openpyxl import Workbook

from voting.domain.identity import id_check_char

HEADER = ["姓名", "身份证号", "手机号", "社区", "楼栋", "单元", "房号"]
COMMUNITIES = ("南肖埠社区", "景芳社区")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙"
GIVEN = "建国明华秀英兰芳伟强玉珍"


def id_number(i: int) -> str:
    """The i-th distinct valid ID number (birth day and sequence both follow i)."""
    born = date(1940, 1, 1) + timedelta(days=i // 400)
    body = f"330102{born:%Y%m%d}{i % 400 * 2 + 1:03d}"
    return body + id_check_char(body)


def phone(i: int) -> str:
    return f"139{i:08d}"


def rows(
    n: int, *, start: int = 0, communities: Sequence[str] = COMMUNITIES
) -> list[dict[str, str]]:
    """``n`` residents; every tenth has no phone."""
    made = []
    for i in range(start, start + n):
        flat = i // 2
        made.append(
            {
                "姓名": SURNAMES[i % 12] + GIVEN[i // 12 % 12] + GIVEN[i // 144 % 12],
                "身份证号": id_number(i),
                "手机号": "" if i % 10 == 9 else phone(i),
                "社区": communities[i % len(communities)],
                "楼栋": f"{flat // 36 + 1}幢",
                "单元": f"{flat // 12 % 3 + 1}单元",
                "房号": f"{flat // 2 % 6 + 1}0{flat % 2 + 1}",
            }
        )
    return made


def to_csv(records: Sequence[dict[str, object]]) -> bytes:
    """UTF-8 with a BOM, as Excel's "CSV UTF-8" saves it."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(records: Sequence[dict[str, object]], *, title: str = "名册") -> bytes:
    """One sheet, header first; cell values keep their Python types (str, int, float)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(list(records[0]))
    for record in records:
        sheet.append([None if v == "" else v for v in record.values()])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
