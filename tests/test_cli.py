"""The ``flask`` commands: staff accounts, roll import, code issue, audit verify and seed.

Each test invokes the command through Flask's CLI runner against the test database and
then reads the rows back, so what is checked is what the command stored, not what it said.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from pathlib import Path

import pytest
import segno
from flask import Flask
from sqlalchemy import func, select, text
from werkzeug.security import check_password_hash

from tests.conftest import TEST_PEPPER
from tests.factories import World, make_station, make_street
from voting.domain import codes as codes_domain
from voting.domain import identity
from voting.domain.staff import CandidateStatus
from voting.extensions import db
from voting.models import (
    AuditEvent,
    Candidate,
    Community,
    Resident,
    RoundCandidate,
    StaffUser,
    Station,
    Street,
    VotingCode,
    VotingRound,
)
from voting.models.triggers import create_triggers, drop_triggers
from voting.services import audit, rounds
from voting.services import roll as roll_service
from voting.services import staff as staff_service
from voting.services import voting as voting_service

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ROLL = SEEDS / "roll.csv"
BAD_ROLL = SEEDS / "roll_bad_example.csv"
PEPPER = TEST_PEPPER.encode()
PASSWORD = "long-enough-pass-42"


SLIP_CODE_RE = re.compile(r'<p class="code">(\d{4}) (\d{4}) (\d{4})</p>')
PRINTED_CODE_RE = re.compile(r"^\s+(\d{4}) (\d{4}) (\d{4})  \((.+)\)$", re.MULTILINE)


def invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def kaixuan_street() -> Street:
    """凯旋街道 and its five communities, as seeds/kaixuan.json names them."""
    data = json.loads((SEEDS / "kaixuan.json").read_text(encoding="utf-8"))
    street = staff_service.ensure_street(data["street"]["name"], data["street"]["district"])
    for community in data["communities"]:
        staff_service.ensure_community(street, community["name"])
    return street


def roll_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(ROLL.read_text(encoding="utf-8-sig"))))


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def all_cells(table: str) -> list[str]:
    """Every value of every row of ``table``, as text, straight from SQL."""
    rows = db.session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 — fixed names
    return [str(value) for row in rows for value in row if value is not None]


# --- staff create -----------------------------------------------------------------------


@pytest.fixture
def street(app: Flask) -> Street:
    street = make_street()
    make_station(street)
    return street


def test_staff_create_official_stores_only_password_hash(app, street):
    result = invoke(
        app, "staff", "create", "wangmin", "--role", "official", "--name", "王敏",
        "--password", PASSWORD,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Created official account 'wangmin'" in result.output
    user = db.session.scalars(select(StaffUser).where(StaffUser.username == "wangmin")).one()
    assert user.display_name == "王敏"
    assert user.role == "official"
    assert user.street_id == street.id
    assert user.station_id is None
    assert user.password_hash != PASSWORD
    assert PASSWORD not in user.password_hash
    assert check_password_hash(user.password_hash, PASSWORD)
    assert not check_password_hash(user.password_hash, PASSWORD + "x")
    assert PASSWORD not in " ".join(all_cells("staff_user"))


def test_staff_create_station_role_with_station_links_the_station(app, street):
    station = db.session.scalars(select(Station)).one()

    result = invoke(
        app, "staff", "create", "chenxy", "--role", "station", "--name", "陈晓燕",
        "--station", station.name, "--password", PASSWORD,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(StaffUser).where(StaffUser.username == "chenxy")).one()
    assert user.role == "station"
    assert user.station_id == station.id


def test_staff_create_station_role_without_station_refused_and_nothing_created(app, street):
    result = invoke(
        app, "staff", "create", "chenxy", "--role", "station", "--name", "陈晓燕",
        "--password", PASSWORD,
    )  # fmt: skip

    assert result.exit_code != 0
    assert "联络站工作人员必须指定所属联络站" in result.output
    assert count(StaffUser) == 0


def test_staff_create_unknown_station_refused_and_nothing_created(app, street):
    result = invoke(
        app, "staff", "create", "chenxy", "--role", "station", "--name", "陈晓燕",
        "--station", "不存在的联络站", "--password", PASSWORD,
    )  # fmt: skip

    assert result.exit_code != 0
    assert "No station named '不存在的联络站'" in result.output
    assert count(StaffUser) == 0


def test_staff_create_duplicate_username_refused_and_first_account_kept(app, street):
    first = invoke(
        app, "staff", "create", "wangmin", "--role", "official", "--name", "王敏",
        "--password", PASSWORD,
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    original_hash = db.session.scalars(select(StaffUser.password_hash)).one()

    second = invoke(
        app, "staff", "create", "wangmin", "--role", "clerk", "--name", "王敏二",
        "--password", "another-long-password",
    )  # fmt: skip

    assert second.exit_code != 0
    assert "用户名 wangmin 已被使用" in second.output
    db.session.expire_all()
    users = db.session.scalars(select(StaffUser)).all()
    assert len(users) == 1
    assert users[0].role == "official"
    assert users[0].password_hash == original_hash


def test_staff_create_short_password_refused_and_nothing_created(app, street):
    result = invoke(
        app, "staff", "create", "wangmin", "--role", "official", "--name", "王敏",
        "--password", "short-9ch",
    )  # fmt: skip

    assert result.exit_code != 0
    assert "密码至少 10 位" in result.output
    assert count(StaffUser) == 0


# --- roll import ------------------------------------------------------------------------


def test_roll_import_seed_roll_creates_400_residents(app):
    kaixuan_street()

    result = invoke(app, "roll", "import", str(ROLL))

    assert result.exit_code == 0, result.output
    assert "Imported 400 rows: 400 new, 0 updated, 0 unchanged." in result.output
    assert count(Resident) == 400
    per_community = dict(
        db.session.execute(
            select(Community.name, func.count(Resident.id))
            .join(Resident, Resident.community_id == Community.id)
            .group_by(Community.name)
        ).all()
    )
    expected: dict[str, int] = {}
    for row in roll_rows():
        expected[row["社区"]] = expected.get(row["社区"], 0) + 1
    assert per_community == expected


def test_roll_import_stores_no_id_number_or_phone_in_clear(app):
    kaixuan_street()
    rows = roll_rows()

    result = invoke(app, "roll", "import", str(ROLL))

    assert result.exit_code == 0, result.output
    secrets = {row["身份证号"] for row in rows} | {row["手机号"] for row in rows if row["手机号"]}
    assert all(len(s) in (11, 18) for s in secrets)
    stored = all_cells("resident")
    assert len(stored) >= 400 * 10
    leaked = [s for s in secrets if any(s in cell for cell in stored)]
    assert leaked == []
    by_hmac = {r.id_hmac: r for r in db.session.scalars(select(Resident))}
    assert len(by_hmac) == 400
    for row in rows:
        resident = by_hmac[identity.id_hmac(PEPPER, row["身份证号"])]
        assert resident.id_tail == row["身份证号"][-4:]
        if row["手机号"]:
            assert resident.phone_last4 == row["手机号"][-4:]
            assert resident.phone_hmac == identity.phone_hmac(PEPPER, row["手机号"])
        else:
            assert (resident.phone_last4, resident.phone_hmac) == ("", None)


def test_roll_import_same_file_twice_reports_all_unchanged(app):
    kaixuan_street()
    first = invoke(app, "roll", "import", str(ROLL))
    assert first.exit_code == 0, first.output

    again = invoke(app, "roll", "import", str(ROLL))

    assert again.exit_code == 0, again.output
    assert "Imported 400 rows: 0 new, 0 updated, 400 unchanged." in again.output
    assert count(Resident) == 400


def test_roll_import_bad_rows_names_lines_and_stores_nothing(app):
    kaixuan_street()
    before_events = count(AuditEvent)

    result = invoke(app, "roll", "import", str(BAD_ROLL))

    assert result.exit_code != 0
    assert "第 4 行: 身份证号校验位不正确" in result.output
    assert "第 6 行: 手机号应为 11 位数字" in result.output
    assert re.findall(r"第 (\d+) 行", result.output) == ["4", "6"]
    assert "2 bad rows of 6; nothing was imported." in result.output
    assert count(Resident) == 0
    assert count(AuditEvent) == before_events


def test_roll_import_bad_file_after_good_roll_leaves_roll_untouched(app):
    kaixuan_street()
    assert invoke(app, "roll", "import", str(ROLL)).exit_code == 0
    before = sorted(all_cells("resident"))

    result = invoke(app, "roll", "import", str(BAD_ROLL))

    assert result.exit_code != 0
    assert count(Resident) == 400
    assert sorted(all_cells("resident")) == before


def test_roll_import_missing_required_column_refused_with_message(app, tmp_path):
    kaixuan_street()
    path = tmp_path / "no_id.csv"
    path.write_text("姓名,手机号,社区\n程杭军,18035173466,南肖埠社区\n", encoding="utf-8")

    result = invoke(app, "roll", "import", str(path))

    assert result.exit_code != 0
    assert "文件缺少必需的列：姓名、身份证号、社区。" in result.output
    assert count(Resident) == 0


def test_roll_import_gbk_file_refused_with_save_as_utf8_message(app, tmp_path):
    kaixuan_street()
    path = tmp_path / "roll_gbk.csv"
    path.write_bytes(ROLL.read_text(encoding="utf-8-sig").encode("gbk"))

    result = invoke(app, "roll", "import", str(path))

    assert result.exit_code != 0
    assert "文件不是 UTF-8 编码的 CSV" in result.output
    assert "另存为“CSV UTF-8”" in result.output
    assert count(Resident) == 0


def test_roll_import_changed_phone_counts_as_updated(app, tmp_path):
    kaixuan_street()
    rows = roll_rows()[:3]
    path = write_csv(tmp_path / "roll.csv", rows)
    assert invoke(app, "roll", "import", str(path)).exit_code == 0
    new_phone = "13512345678"
    assert new_phone not in {r["手机号"] for r in rows}
    rows[1] = {**rows[1], "手机号": new_phone}
    write_csv(path, rows)

    result = invoke(app, "roll", "import", str(path))

    assert result.exit_code == 0, result.output
    assert "Imported 3 rows: 0 new, 1 updated, 2 unchanged." in result.output
    db.session.expire_all()
    resident = db.session.scalars(
        select(Resident).where(Resident.id_hmac == identity.id_hmac(PEPPER, rows[1]["身份证号"]))
    ).one()
    assert resident.phone_last4 == "5678"
    assert resident.phone_hmac == identity.phone_hmac(PEPPER, new_phone)
    assert count(Resident) == 3


def test_roll_import_service_emits_no_deprecation_warning(app):
    street = kaixuan_street()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = roll_service.import_roll(ROLL.read_bytes(), street=street, pepper=PEPPER)

    assert report.created == 400
    deprecations = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert deprecations == []


# --- codes issue ------------------------------------------------------------------------


@pytest.fixture
def world(app: Flask) -> World:
    return World()


def slip_codes(html: str) -> list[str]:
    return ["".join(groups) for groups in SLIP_CODE_RE.findall(html)]


def test_codes_issue_writes_one_slip_per_eligible_resident(app, world, now, tmp_path):
    round_id = world.open_round(now)
    world.residents(6)
    out = tmp_path / "slips.html"

    result = invoke(app, "codes", "issue", str(round_id), "--out", str(out))

    assert result.exit_code == 0, result.output
    assert f"Issued 6 codes for round {round_id}; slips written to {out}." in result.output
    html = out.read_text(encoding="utf-8")
    assert html.count('<div class="slip">') == 6
    assert html.count("<svg") == 6
    codes = slip_codes(html)
    assert len(codes) == 6
    assert len(set(codes)) == 6
    assert all(codes_domain.code_problem(code) is None for code in codes)
    for code in codes:
        link = f"http://vote.test/vote/c/{code}"
        assert str(segno.make(link, error="m").svg_inline(scale=3, border=2)) in html
    assert count(VotingCode) == 6


def test_codes_issue_with_pdf_writes_the_same_codes_to_a_pdf(app, world, now, tmp_path):
    round_id = world.open_round(now)
    world.residents(12)
    out, pdf = tmp_path / "slips.html", tmp_path / "slips.pdf"

    result = invoke(app, "codes", "issue", str(round_id), "--out", str(out), "--pdf", str(pdf))

    assert result.exit_code == 0, result.output
    assert f"slips written to {out} and {pdf}." in result.output
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"/Count 2" in data  # 12 slips, 10 per page
    assert not any(code.encode() in data for code in slip_codes(out.read_text(encoding="utf-8")))
    assert len(slip_codes(out.read_text(encoding="utf-8"))) == 12


def test_codes_issue_second_run_issues_no_new_codes(app, world, now, tmp_path):
    round_id = world.open_round(now)
    world.residents(4)
    first = invoke(app, "codes", "issue", str(round_id), "--out", str(tmp_path / "a.html"))
    assert first.exit_code == 0, first.output
    hashes = sorted(db.session.scalars(select(VotingCode.code_hash)))

    again = invoke(app, "codes", "issue", str(round_id), "--out", str(tmp_path / "b.html"))

    assert again.exit_code == 0, again.output
    assert f"Issued 0 codes for round {round_id}" in again.output
    assert (tmp_path / "b.html").read_text(encoding="utf-8").count('<div class="slip">') == 0
    assert sorted(db.session.scalars(select(VotingCode.code_hash))) == hashes


def test_codes_issue_stores_codes_only_as_hashes(app, world, now, tmp_path):
    round_id = world.open_round(now)
    world.residents(5)
    out = tmp_path / "slips.html"

    result = invoke(app, "codes", "issue", str(round_id), "--out", str(out))

    assert result.exit_code == 0, result.output
    codes = slip_codes(out.read_text(encoding="utf-8"))
    assert len(codes) == 5
    stored = all_cells("voting_code")
    assert [c for c in codes if any(c in cell for cell in stored)] == []
    assert sorted(db.session.scalars(select(VotingCode.code_hash))) == sorted(
        codes_domain.code_hash(PEPPER, c) for c in codes
    )


def test_codes_issue_skips_moved_out_residents(app, world, now, tmp_path):
    round_id = world.open_round(now)
    residents = world.residents(4)
    moved = residents[2]
    moved.status = "moved_out"
    db.session.commit()
    out = tmp_path / "slips.html"

    result = invoke(app, "codes", "issue", str(round_id), "--out", str(out))

    assert result.exit_code == 0, result.output
    assert f"Issued 3 codes for round {round_id}" in result.output
    assert out.read_text(encoding="utf-8").count('<div class="slip">') == 3
    holders = set(db.session.scalars(select(VotingCode.resident_id)))
    assert holders == {r.id for r in residents} - {moved.id}


def test_codes_issue_closed_round_refused_and_no_codes(app, world, now, tmp_path):
    round_id = world.open_round(now)
    world.residents(3)
    rounds.close_round(world.official, round_id, reason="测试：提前结束", now=now)
    out = tmp_path / "slips.html"

    result = invoke(app, "codes", "issue", str(round_id), "--out", str(out))

    assert result.exit_code != 0
    assert "投票已结束，不能再发放投票码。" in result.output
    assert not out.exists()
    assert count(VotingCode) == 0


# --- audit verify -----------------------------------------------------------------------


def test_audit_verify_fresh_chain_reports_intact(app, world):
    events = count(AuditEvent)
    assert events > 5

    result = invoke(app, "audit", "verify")

    assert result.exit_code == 0, result.output
    assert f"Audit chain intact: {events} events, head {audit.head_hash()}." in result.output


def test_audit_verify_tampered_payload_exits_nonzero_naming_seq(app, world):
    events = count(AuditEvent)
    target = events // 2
    # The database refuses the edit; a DBA who drops the triggers first still gets caught.
    db.session.commit()
    with db.engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(
            text("UPDATE audit_event SET payload = :payload WHERE seq = :seq"),
            {"payload": '{"tampered":true}', "seq": target},
        )
        create_triggers(conn)

    result = invoke(app, "audit", "verify")

    assert result.exit_code != 0
    assert f"Chain broken at event {target} (of {events})." in result.output
    assert "intact" not in result.output


# --- seed -------------------------------------------------------------------------------


@pytest.fixture
def seed_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Slips the seed writes go to a temporary instance folder, not the real one."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


def _table_counts() -> dict[str, int]:
    models = (
        Street, Community, Station, StaffUser, Candidate, Resident, VotingRound,
        RoundCandidate, VotingCode, AuditEvent,
    )  # fmt: skip
    return {m.__name__: count(m) for m in models}


def test_seed_empty_database_creates_demo_street_round_and_logins(app, seed_dir):
    result = invoke(app, "seed")

    assert result.exit_code == 0, result.output
    assert "Seeded 凯旋街道: 400 residents on the roll." in result.output
    street = db.session.scalars(select(Street)).one()
    assert street.name == "凯旋街道"
    assert count(Community) == 5
    assert count(Resident) == 400
    assert count(Candidate) == 12 + 6  # 2026's, and the finished 2025 round's
    statuses = list(db.session.scalars(select(Candidate.status)))
    assert statuses.count(CandidateStatus.ACCEPTED.value) == 10 + 6
    rnd = db.session.scalars(select(VotingRound).where(VotingRound.status == "open")).one()
    finished = db.session.scalars(select(VotingRound).where(VotingRound.id != rnd.id)).one()
    assert finished.status == "finalized"
    assert count(RoundCandidate) == 10 + 6
    assert count(VotingCode) == 400 + 400
    assert f"Round {rnd.id}: 400 voting codes" in result.output
    slips = seed_dir / f"slips-round-{rnd.id}.html"
    assert slips.read_text(encoding="utf-8").count('<div class="slip">') == 400
    for username, password in (
        ("station", "demo-station-2026"),
        ("official", "demo-official-2026"),
        ("clerk", "demo-clerk-2026"),
        ("supervisor", "demo-supervisor-2026"),
    ):
        assert re.search(rf"^\s+{username}\s+{username}\s+{password}$", result.output, re.M)
        user = staff_service.authenticate(username, password)
        assert user is not None
        assert user.role == username


def test_seed_printed_codes_log_in_to_the_open_round(app, seed_dir):
    result = invoke(app, "seed")
    assert result.exit_code == 0, result.output
    round_id = db.session.scalars(select(VotingRound.id).where(VotingRound.status == "open")).one()
    printed = PRINTED_CODE_RE.findall(result.output)

    assert len(printed) == 5
    pepper = app.config["ROLL_PEPPER"].encode()
    for *groups, community in printed:
        login = voting_service.login_with_code(" ".join(groups), pepper=pepper)
        assert login.round_id == round_id
        assert community.endswith("社区")


def test_seed_second_run_skipped_and_creates_nothing(app, seed_dir):
    assert invoke(app, "seed").exit_code == 0
    before = _table_counts()

    result = invoke(app, "seed")

    assert result.exit_code == 0, result.output
    assert "seed skipped" in result.output
    assert "Seeded" not in result.output
    assert _table_counts() == before
