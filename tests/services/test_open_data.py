"""The open data of a closed round: one zip, the same on every download, digest rebuildable."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import update
from werkzeug.exceptions import NotFound

from tests.closed_rounds import closed_round, open_round_with_ballots
from tests.factories import World
from voting.domain import digest
from voting.domain.ballots import BallotKind
from voting.extensions import db
from voting.models import Candidate
from voting.services import open_data

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "verify_digest.py"


@pytest.fixture
def world(app):
    return World()


def unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def table(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def download(rnd) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(open_data.open_data_zip(rnd.id))


def run_script(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 — our own script, a fixed argument list
        [sys.executable, str(SCRIPT), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_open_data_zip_holds_readme_round_candidates_and_grouped_ballots(world, now):
    a, b, c, d, e = (x.id for x in world.candidates)
    rnd = closed_round(world, now)

    files = unzip(download(rnd))

    assert list(files) == ["README.txt", "round.csv", "candidates.csv", "ballots.csv"]
    assert "voting-tally v1" in files["README.txt"]
    facts = dict(table(files["round.csv"])[1:])
    assert (facts["round_id"], facts["ballots"]) == (str(rnd.id), "6")
    assert facts["tally_digest"] == rnd.tally_digest
    assert table(files["candidates.csv"]) == [
        ["candidate_id", "position", "title", "cost_yuan", "votes", "rank", "rule_selected"],
        [str(a), "1", "增设停车位", "280000", "4", "1", "1"],
        [str(b), "2", "电动自行车充电桩", "120000", "3", "2", "1"],
        [str(c), "3", "休闲座椅", "32000", "2", "3", "0"],
        [str(d), "4", "健身点", "450000", "1", "4", "0"],
        [str(e), "5", "加装电梯", "2400000", "0", "5", "0"],
    ]
    expected = {f"{a},{b}": "3", f"{a},{c}": "1", str(c): "1", str(d): "1"}
    assert table(files["ballots.csv"]) == [
        ["choices", "count"],
        *([k, expected[k]] for k in sorted(expected, key=str.encode)),
    ]


def test_open_data_rebuilds_the_stored_digest_with_the_domain_rules(world, now):
    rnd = closed_round(world, now)
    files = unzip(download(rnd))
    candidates = {
        int(row[0]): (int(row[3]), int(row[4])) for row in table(files["candidates.csv"])[1:]
    }
    groups = {key: int(n) for key, n in table(files["ballots.csv"])[1:]}
    assert digest.tally_digest(rnd.id, candidates, groups) == rnd.tally_digest


def test_open_data_zip_same_bytes_on_every_download_stamped_at_close(world, now):
    rnd = closed_round(world, now)
    first, second = download(rnd), download(rnd)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        stamps = {info.date_time for info in archive.infolist()}
    # Closed at now + 14 days, 02:30 UTC: 10:30 in Beijing.
    assert stamps == {(2026, 5, 26, 10, 30, 0)}


def test_verify_script_prints_the_stored_digest(world, now, tmp_path):
    rnd = closed_round(world, now)
    path = tmp_path / "open-data.zip"
    path.write_bytes(download(rnd))

    result = run_script(path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == rnd.tally_digest
    assert "agree" in lines[1]
    assert "same" in lines[2]


def test_verify_script_reproduces_a_cumulative_round(world, now, tmp_path):
    a, b, c = (x.id for x in world.candidates[:3])
    ballots = [{a: 3, b: 2}, {a: 5}, {b: 1, c: 1}, {a: 3, b: 2}]
    rnd = closed_round(
        world, now, ballots, ballot_kind=BallotKind.CUMULATIVE, points_total=5, max_choices=3
    )
    path = tmp_path / "open-data.zip"
    path.write_bytes(download(rnd))
    choices = [row[0] for row in table(unzip(path.read_bytes())["ballots.csv"])[1:]]
    assert f"{a}*3,{b}*2" in choices

    result = run_script(path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == rnd.tally_digest


def _rewrite(path: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    files = unzip(path.read_bytes())
    files[name] = change(files[name])
    with zipfile.ZipFile(path, "w") as archive:
        for entry, text in files.items():
            archive.writestr(entry, text)


def test_verify_script_refuses_edited_votes(world, now, tmp_path):
    rnd = closed_round(world, now)
    path = tmp_path / "open-data.zip"
    path.write_bytes(download(rnd))
    a = world.candidates[0].id
    _rewrite(
        path,
        "candidates.csv",
        lambda t: t.replace(f"{a},1,增设停车位,280000,4", f"{a},1,增设停车位,280000,5"),
    )

    result = run_script(path)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] != rnd.tally_digest
    assert f"DIFFER for ['{a}']" in lines[1]
    assert "DIFFERENT" in lines[2]


def test_open_data_titles_neutralised_digest_unchanged(world, now):
    risky = '=HYPERLINK("http://evil")'
    db.session.execute(
        update(Candidate).where(Candidate.id == world.candidates[0].id).values(title=risky)
    )
    db.session.commit()
    rnd = closed_round(world, now)
    files = unzip(download(rnd))
    titles = [row[2] for row in table(files["candidates.csv"])[1:]]
    assert titles[0] == "'" + risky
    facts = dict(table(files["round.csv"])[1:])
    assert facts["tally_digest"] == rnd.tally_digest


def test_published_round_open_round_not_found(world, now):
    round_id = open_round_with_ballots(world, now, running_results_public=True)
    with pytest.raises(NotFound):
        open_data.published_round(round_id)


def test_csv_chunks_streams_a_chunk_per_batch_of_rows(monkeypatch):
    monkeypatch.setattr(open_data, "ROWS_PER_CHUNK", 2)
    chunks = list(open_data.csv_chunks(("choices", "count"), [("1", 1), ("2", 1), ("3", 1)]))
    assert len(chunks) == 2
    assert b"".join(chunks).decode() == "\ufeffchoices,count\r\n1,1\r\n2,1\r\n3,1\r\n"


def test_verify_doc_lists_the_script_verbatim():
    doc = (ROOT / "docs" / "verify.md").read_text(encoding="utf-8")
    assert SCRIPT.read_text(encoding="utf-8") in doc
