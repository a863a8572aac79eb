"""The roll import at scale and in its corners: XLSX like CSV, numbers Excel mangled, zip
bombs, 20,000 rows twice, a crash half-way, 迁出 rows and full rolls, and moved-out residents'
voting codes.

Each test reads back what was stored, straight from the database.
"""

from __future__ import annotations

import io
import logging
import re
import time
import zipfile

import pytest
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import delete, func, select, text

from tests import roll_data
from tests.conftest import TEST_PEPPER
from tests.factories import World, make_street
from voting.domain import identity
from voting.domain.errors import InvalidCode, InvalidInput
from voting.extensions import db
from voting.models import AuditEvent, Resident, Street
from voting.services import codes as codes_service
from voting.services import roll, roll_files
from voting.services import voting as voting_service
from voting.views.messages import message_for

PEPPER = TEST_PEPPER.encode()
STORED = (
    Resident.id_hmac, Resident.name, Resident.id_tail, Resident.phone_hmac,
    Resident.phone_last4, Resident.community_id, Resident.building, Resident.unit,
    Resident.room, Resident.status,
)  # fmt: skip


def invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def stored_roll() -> list[tuple[object, ...]]:
    """Every resident as stored, without the surrogate id and the import time."""
    db.session.expire_all()
    return sorted(tuple(r) for r in db.session.execute(select(*STORED)).all())


def all_cells(table: str) -> list[str]:
    rows = db.session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 — fixed names
    return [str(value) for row in rows for value in row if value is not None]


def statuses() -> dict[str, str]:
    """Status by ID hmac."""
    db.session.expire_all()
    return dict(db.session.execute(select(Resident.id_hmac, Resident.status)).all())


def key(record: dict[str, str]) -> str:
    return identity.id_hmac(PEPPER, record["身份证号"])


def import_bytes(street: Street, data: bytes, **kwargs: object) -> roll.ImportReport:
    return roll.import_roll(data, street=street, pepper=PEPPER, **kwargs)  # type: ignore[arg-type]


def row_errors(data: bytes, street: Street) -> list[tuple[int, str]]:
    with pytest.raises(InvalidInput) as caught:
        import_bytes(street, data)
    assert caught.value.code == "roll_rows"
    return [(e.line, e.code) for e in caught.value.params["report"].errors]


@pytest.fixture
def street(app: Flask) -> Street:
    return make_street()


# --- XLSX reads like CSV --------------------------------------------------------------------


def test_import_xlsx_stores_exactly_what_the_same_csv_stores(street):
    records = roll_data.rows(300)
    import_bytes(street, roll_data.to_csv(records))
    from_csv = stored_roll()
    db.session.execute(delete(Resident))
    db.session.commit()

    report = import_bytes(street, roll_data.to_xlsx(records))

    assert (report.kind, report.rows, report.created) == ("xlsx", 300, 300)
    assert stored_roll() == from_csv
    assert len(from_csv) == 300


def test_import_xlsx_after_same_csv_reports_all_unchanged(street):
    records = roll_data.rows(200)
    import_bytes(street, roll_data.to_csv(records))

    again = import_bytes(street, roll_data.to_xlsx(records))

    assert (again.created, again.updated, again.unchanged) == (0, 0, 200)


def test_import_xlsx_reads_first_sheet_and_reports_excel_row_numbers(street):
    records = roll_data.rows(4)
    number = records[2]["身份证号"]
    wrong = "1" if number[-1] != "1" else "2"
    records[2] = {**records[2], "身份证号": number[:-1] + wrong}
    book = Workbook(write_only=True)
    first = book.create_sheet("名册")
    first.append(list(records[0]))
    for record in records:
        first.append([v or None for v in record.values()])
    book.create_sheet("说明").append(["这一页不是名册"])
    out = io.BytesIO()
    book.save(out)

    errors = row_errors(out.getvalue(), street)

    assert errors == [(4, "id_checksum")]  # header on row 1: the third resident is row 4


# --- numbers in cells -----------------------------------------------------------------------


def _rewrite_sheet(book: bytes, old: bytes, new: bytes) -> bytes:
    """The same workbook with one value in the first sheet's XML replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert old in content
                content = content.replace(old, new)
            target.writestr(item, content)
    return out.getvalue()


def test_import_xlsx_integer_cells_become_text_without_decimal_point(street):
    number = roll_data.id_number(7)
    record = {
        "姓名": "沈国华",
        "身份证号": "ID-PLACEHOLDER",
        "手机号": 13905712468.0,  # 11 digits: Excel keeps them exactly, here as a float
        "社区": "南肖埠社区",
        "楼栋": 4,
        "单元": 1,
        "房号": 302,
    }
    book = roll_data.to_xlsx([record])
    # Some tools store the ID as an exact integer number cell: <c t="n"><v>3301…</v></c>.
    book = _rewrite_sheet(
        book,
        b't="inlineStr"><is><t>ID-PLACEHOLDER</t></is>',
        b't="n"><v>' + number.encode() + b"</v>",
    )

    report = import_bytes(street, book)

    assert report.created == 1
    resident = db.session.scalars(select(Resident)).one()
    assert resident.id_hmac == identity.id_hmac(PEPPER, number)
    assert resident.id_tail == number[-4:]
    assert resident.phone_hmac == identity.phone_hmac(PEPPER, "13905712468")
    assert resident.phone_last4 == "2468"
    assert (resident.building, resident.unit, resident.room) == ("4", "1", "302")


def test_import_xlsx_id_in_exponent_form_is_a_row_error_with_clear_message(street):
    records: list[dict[str, object]] = list(roll_data.rows(3))
    records[1] = {**records[1], "身份证号": float(records[1]["身份证号"])}  # 3.30102194…e17

    errors = row_errors(roll_data.to_xlsx(records), street)

    assert errors == [(3, "id_as_number")]
    assert message_for("id_as_number") == "身份证号被 Excel 存成了数字，请把该列设为文本"
    assert count(Resident) == 0


def test_import_csv_id_saved_by_excel_in_exponent_form_is_a_row_error(street):
    records = roll_data.rows(3)
    records[2] = {**records[2], "身份证号": "3.30102E+17"}

    assert row_errors(roll_data.to_csv(records), street) == [(4, "id_as_number")]


# --- zip bombs and limits -------------------------------------------------------------------


def _declare_size(data: bytes, size: int) -> bytes:
    """Rewrite every central-directory entry's uncompressed size (what zipfile trusts)."""
    patched = bytearray(data)
    for match in re.finditer(b"PK\x01\x02", data):
        patched[match.start() + 24 : match.start() + 28] = size.to_bytes(4, "little")
    return bytes(patched)


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if openpyxl is ever asked to open the workbook."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(roll_files, "load_workbook", refuse)


def test_import_xlsx_declaring_huge_uncompressed_size_refused_unparsed(street, no_parsing):
    bomb = _declare_size(roll_data.to_xlsx(roll_data.rows(3)), 0xF000_0000)
    assert len(bomb) < 20_000

    with pytest.raises(InvalidInput) as caught:
        import_bytes(street, bomb)

    assert caught.value.code == "roll_zip_too_large"
    assert caught.value.params["maximum"] == 200
    assert count(Resident) == 0


def test_import_zip_with_too_many_entries_refused_unparsed(street, no_parsing):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(1_001):
            archive.writestr(f"xl/part{i}.xml", b"")

    with pytest.raises(InvalidInput) as caught:
        import_bytes(street, out.getvalue())

    assert caught.value.code == "roll_zip_entries"
    assert caught.value.params == {"entries": 1_001, "maximum": 1_000}


def test_import_uncompressed_limit_comes_from_config(app, street, monkeypatch, no_parsing):
    monkeypatch.setitem(app.config, "ROLL_MAX_UNCOMPRESSED_BYTES", 2_000)

    with pytest.raises(InvalidInput) as caught:
        import_bytes(street, roll_data.to_xlsx(roll_data.rows(3)))

    assert caught.value.code == "roll_zip_too_large"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_more_rows_than_limit_refused(app, street, monkeypatch, fmt):
    monkeypatch.setitem(app.config, "ROLL_MAX_ROWS", 10)
    records = roll_data.rows(11)
    data = roll_data.to_csv(records) if fmt == "csv" else roll_data.to_xlsx(records)

    with pytest.raises(InvalidInput) as caught:
        import_bytes(street, data)

    assert caught.value.code == "roll_too_many_rows"
    assert count(Resident) == 0


def test_import_legacy_xls_and_corrupt_xlsx_refused(street):
    with pytest.raises(InvalidInput) as legacy:
        import_bytes(street, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(InvalidInput) as corrupt:
        import_bytes(street, roll_data.to_xlsx(roll_data.rows(2))[:-200])

    assert legacy.value.code == "roll_xls_legacy"
    assert corrupt.value.code == "roll_bad_xlsx"


# --- scale and idempotence --------------------------------------------------------------------


def test_import_20000_rows_then_same_file_again_changes_nothing(street):
    data = roll_data.to_csv(roll_data.rows(20_000))
    started = time.perf_counter()

    first = import_bytes(street, data)
    stored = stored_roll()
    again = import_bytes(street, data)

    assert (first.rows, first.created, first.updated, first.unchanged) == (20_000, 20_000, 0, 0)
    assert (again.rows, again.created, again.updated, again.unchanged) == (20_000, 0, 0, 20_000)
    assert again.moved_out_total == 0
    assert stored_roll() == stored
    assert time.perf_counter() - started < 60  # generous: a slow CI machine, not a benchmark


def test_import_changed_and_new_rows_in_batches_counted_once(street):
    records = roll_data.rows(250)
    import_bytes(street, roll_data.to_csv(records[:200]), batch_size=64)
    records[10] = {**records[10], "房号": "999"}
    records[150] = {**records[150], "手机号": ""}

    report = import_bytes(street, roll_data.to_csv(records), batch_size=64)

    assert (report.created, report.updated, report.unchanged) == (50, 2, 198)
    by_key = {r.id_hmac: r for r in db.session.scalars(select(Resident))}
    assert by_key[key(records[10])].room == "999"
    assert (by_key[key(records[150])].phone_hmac, by_key[key(records[150])].phone_last4) == (
        None,
        "",
    )


def test_import_failure_in_third_batch_leaves_roll_exactly_as_before(street, monkeypatch):
    records = roll_data.rows(500)
    import_bytes(street, roll_data.to_csv(records[:300]))
    before_roll, before_events = sorted(all_cells("resident")), count(AuditEvent)
    records[0] = {**records[0], "房号": "999"}  # an update in the first batch
    calls = []
    real_write = roll.write_batch

    def failing_write(inserts, updates):  # type: ignore[no-untyped-def]
        calls.append(len(inserts) + len(updates))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        real_write(inserts, updates)

    monkeypatch.setattr(roll, "write_batch", failing_write)

    with pytest.raises(RuntimeError, match="disk full"):
        import_bytes(street, roll_data.to_csv(records), batch_size=100)

    assert len(calls) == 3
    assert sorted(all_cells("resident")) == before_roll
    assert count(Resident) == 300
    assert count(AuditEvent) == before_events


def test_import_reports_every_bad_row_with_its_line(street):
    records = roll_data.rows(400)
    for i in range(0, 400, 2):
        records[i] = {**records[i], "社区": "不存在社区"}
    records[3] = {**records[3], "身份证号": records[1]["身份证号"]}

    errors = row_errors(roll_data.to_csv(records), street)

    assert len(errors) == 201
    assert errors[:3] == [
        (2, "unknown_community"),
        (4, "unknown_community"),
        (5, "duplicate_in_file"),
    ]
    assert (3, "duplicate_in_file") not in errors  # line 3 came first


# --- 迁出 and full rolls ---------------------------------------------------------------------


def with_status(records: list[dict[str, str]], status: dict[int, str]) -> list[dict[str, str]]:
    return [{**r, "状态": status.get(i, "在册")} for i, r in enumerate(records)]


def test_import_status_moved_out_marks_residents_and_is_counted(street):
    records = roll_data.rows(6)
    import_bytes(street, roll_data.to_csv(with_status(records, {})))

    report = import_bytes(
        street, roll_data.to_csv(with_status(records, {1: "迁出", 4: "moved_out"}))
    )

    assert (report.updated, report.unchanged, report.moved_out, report.absent) == (2, 4, 2, 0)
    assert [statuses()[key(r)] for r in records] == [
        "active", "moved_out", "active", "active", "moved_out", "active",
    ]  # fmt: skip
    again = import_bytes(street, roll_data.to_csv(with_status(records, {1: "迁出", 4: "迁出"})))
    assert (again.updated, again.unchanged, again.moved_out) == (0, 6, 0)


def test_import_moved_out_resident_listed_again_as_active_comes_back(street):
    records = roll_data.rows(2)
    import_bytes(street, roll_data.to_csv(with_status(records, {0: "迁出"})))

    report = import_bytes(street, roll_data.to_csv(records))  # no 状态 column: 在册

    assert (report.updated, report.unchanged) == (1, 1)
    assert set(statuses().values()) == {"active"}


def test_import_unknown_status_is_a_row_error(street):
    records = with_status(roll_data.rows(3), {2: "死亡"})

    assert row_errors(roll_data.to_csv(records), street) == [(4, "status_unknown")]


def test_cli_full_roll_marks_absent_residents_of_named_community_only(app, street, tmp_path):
    records = roll_data.rows(10)  # even: 南肖埠社区, odd: 景芳社区
    path = tmp_path / "roll.csv"
    path.write_bytes(roll_data.to_csv(records))
    assert invoke(app, "roll", "import", str(path)).exit_code == 0
    kept = [r for i, r in enumerate(records) if i not in (0, 1, 2)]
    path.write_bytes(roll_data.to_csv(kept))

    result = invoke(app, "roll", "import", str(path), "--full-roll", "南肖埠社区")

    assert result.exit_code == 0, result.output
    assert "Imported 7 rows: 0 new, 0 updated, 7 unchanged." in result.output
    assert (
        "Moved out: 2 (0 marked 迁出 in the file, 2 missing from the full roll)." in result.output
    )
    now = statuses()
    assert [now[key(r)] for r in records[:3]] == ["moved_out", "active", "moved_out"]
    assert all(now[key(r)] == "active" for r in kept)
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "roll.imported"
    assert '"absent_moved_out":2' in event.payload


def test_cli_full_roll_all_marks_absent_in_every_community(app, street, tmp_path):
    records = roll_data.rows(10)
    path = tmp_path / "roll.xlsx"
    path.write_bytes(roll_data.to_xlsx(records))
    assert invoke(app, "roll", "import", str(path)).exit_code == 0
    path.write_bytes(roll_data.to_xlsx(records[3:]))

    result = invoke(app, "roll", "import", str(path), "--full-roll-all")

    assert result.exit_code == 0, result.output
    assert (
        "Moved out: 3 (0 marked 迁出 in the file, 3 missing from the full roll)." in result.output
    )
    assert sorted(statuses().values()).count("moved_out") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--full-roll", "不存在社区"), "指定为完整名册的社区不在本街道：不存在社区。"),
        (("--full-roll", "景芳社区"), "文件中没有以下社区的居民"),
        (("--full-roll", "景芳社区", "--full-roll-all"), "not both"),
    ],
)
def test_cli_full_roll_refusals_change_nothing(app, street, tmp_path, args, message):
    path = tmp_path / "roll.csv"
    path.write_bytes(roll_data.to_csv(roll_data.rows(4, communities=("南肖埠社区",))))

    result = invoke(app, "roll", "import", str(path), *args)

    assert result.exit_code != 0
    assert message in result.output
    assert count(Resident) == 0


def test_moved_out_resident_code_refused_at_login_and_no_new_code(app, now):
    world = World(candidates=3)
    round_id = world.open_round(now)
    records = roll_data.rows(2)
    records[0] = {**records[0], "房号": "101"}
    records[1] = {**records[1], "房号": "202"}
    import_bytes(world.street, roll_data.to_csv(records))
    slips = codes_service.issue_codes(round_id, pepper=PEPPER)
    code_of = {slip.room: slip.code for slip in slips}
    assert set(code_of) == {"101", "202"}

    import_bytes(world.street, roll_data.to_csv(with_status(records, {0: "迁出"})))

    with pytest.raises(InvalidCode) as refused:
        voting_service.login_with_code(code_of["101"], pepper=PEPPER, now=now)
    assert refused.value.code == "code_revoked"
    assert voting_service.login_with_code(code_of["202"], pepper=PEPPER, now=now).round_id == (
        round_id
    )
    assert codes_service.issue_codes(round_id, pepper=PEPPER) == []


# --- the command line -----------------------------------------------------------------------


def test_cli_import_shows_progress_phases_and_summary(app, street, tmp_path):
    path = tmp_path / "roll.xlsx"
    path.write_bytes(roll_data.to_xlsx(roll_data.rows(30)))

    result = invoke(app, "roll", "import", str(path))

    assert result.exit_code == 0, result.output
    assert "Reading rows" in result.stderr
    assert "Writing roll" in result.stderr
    assert "Imported 30 rows: 30 new, 0 updated, 0 unchanged." in result.stdout
    assert "XLSX file" in result.stdout


def test_cli_lists_first_200_bad_rows_then_how_many_more(app, street, tmp_path):
    records = [{**r, "社区": "不存在社区"} for r in roll_data.rows(250)]
    path = tmp_path / "roll.csv"
    path.write_bytes(roll_data.to_csv(records))

    result = invoke(app, "roll", "import", str(path))

    assert result.exit_code != 0
    lines = re.findall(r"第 (\d+) 行: 社区名称不在本街道的社区列表中", result.output)
    assert lines == [str(n) for n in range(2, 202)]
    assert "… and 50 more bad rows" in result.output
    assert "250 bad rows of 250; nothing was imported." in result.output
    assert count(Resident) == 0


def test_import_logs_and_stores_no_id_number_or_phone(app, street, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    records = roll_data.rows(40)
    path = tmp_path / "roll.csv"
    path.write_bytes(roll_data.to_csv(records))

    result = invoke(app, "roll", "import", str(path))

    assert result.exit_code == 0, result.output
    secrets = [r["身份证号"] for r in records] + [r["手机号"] for r in records if r["手机号"]]
    stored = all_cells("resident") + all_cells("audit_event")
    assert [s for s in secrets if s in caplog.text] == []
    assert [s for s in secrets if any(s in cell for cell in stored)] == []
    assert [s for s in secrets if s in result.output] == []
