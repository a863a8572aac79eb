"""Public downloads after close (open data, .pb, notice PDF), the notice page's hashes and
links, and the officials' CSV export."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.closed_rounds import closed_round, finalize, open_round_with_ballots
from tests.factories import World
from voting.extensions import db
from voting.models import Candidate
from voting.services import audit, results, rounds

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "verify_digest.py"
DOWNLOADS = ("open-data.zip", "open-data.pb", "notice.pdf")


@pytest.fixture
def world(app):
    return World()


@pytest.mark.parametrize("name", DOWNLOADS)
def test_download_draft_open_and_missing_rounds_not_found(world, now, browser, name):
    draft_id = rounds.create_round(world.official, world.round_input(now), now=now)
    open_id = open_round_with_ballots(world, now, running_results_public=True)
    client = browser()
    assert client.get(f"/rounds/{open_id}/results").status_code == 200  # results are public
    for round_id in (draft_id, open_id, 999):
        assert client.get(f"/rounds/{round_id}/{name}").status_code == 404, round_id


def test_open_data_download_verified_by_the_script(world, now, browser, tmp_path):
    rnd = closed_round(world, now)

    response = browser().get(f"/rounds/{rnd.id}/open-data.zip")

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=round-{rnd.id}-open-data.zip"
    )
    path = tmp_path / "download.zip"
    path.write_bytes(response.get_data())
    result = subprocess.run(  # noqa: S603 — our own script, a fixed argument list
        [sys.executable, str(SCRIPT), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == rnd.tally_digest


def test_notice_pdf_download_after_close(world, now, browser):
    rnd = closed_round(world, now)

    response = browser().get(f"/rounds/{rnd.id}/notice.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f"inline; filename=notice-round-{rnd.id}.pdf"
    )
    body = response.get_data()
    assert body.startswith(b"%PDF-")
    assert b"STSong-Light" in body


def test_pb_download_streams_the_pabulib_file(world, now, browser):
    rnd = closed_round(world, now)

    response = browser().get(f"/rounds/{rnd.id}/open-data.pb")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename=round-{rnd.id}.pb"
    text = response.get_data(as_text=True)
    assert text.startswith("META\n")
    assert "\nPROJECTS\n" in text
    votes = text.split("\nVOTES\n", 1)[1].splitlines()
    assert votes[0] == "voter_id;vote"
    assert len(votes) == 1 + 6


def test_notice_page_shows_digest_beside_head_and_links_downloads(world, now, browser):
    rnd = closed_round(world, now)
    a, b, c = (x.id for x in world.candidates[:3])
    finalize(world, rnd.id, now, selected={a, c}, reasons={b: "已列入区级计划", c: "需求迫切"})

    page = browser().get(f"/rounds/{rnd.id}/notice").get_data(as_text=True)

    assert f'<code class="hash">{rnd.tally_digest}</code>' in page
    assert f'<code class="hash">{audit.head_hash()}</code>' in page
    assert "计票摘要（SHA-256，投票结束时封存）" in page
    assert f'href="/rounds/{rnd.id}/notice.pdf"' in page
    assert f'href="/rounds/{rnd.id}/open-data.zip"' in page
    assert not re.search(r"\sstyle=", page)  # the CSP forbids inline styles


def test_results_page_links_downloads_only_after_close(world, now, browser):
    round_id = open_round_with_ballots(world, now, running_results_public=True)
    client = browser()
    assert "notice.pdf" not in client.get(f"/rounds/{round_id}/results").get_data(as_text=True)

    rounds.close_round(world.official, round_id, now=now + timedelta(days=14))
    page = client.get(f"/rounds/{round_id}/results").get_data(as_text=True)
    for name in DOWNLOADS:
        assert f'href="/rounds/{round_id}/{name}"' in page


def test_print_stylesheet_hides_navigation_and_sets_a4(app):
    css = (ROOT / "voting" / "static" / "css" / "app.css").read_text(encoding="utf-8")
    block = css[css.rindex("@media print") :]
    assert "@page { size: A4;" in block
    assert "header.site, footer.site, nav" in block
    assert "page-break-inside: avoid" in block


def test_official_csv_streams_row_by_row_neutralised_with_digest(world, now, browser):
    risky = "=cmd|' /C calc'!A0"
    db.session.execute(
        update(Candidate).where(Candidate.id == world.candidates[0].id).values(title=risky)
    )
    db.session.commit()
    rnd = closed_round(world, now)

    chunks = list(results.tally_csv(rnd.id, actor_name="@official", now=now))
    response = browser(world.official).get(f"/official/rounds/{rnd.id}/tally.csv")

    assert chunks[0] == "\ufeff"
    assert len(chunks) > 1 + len(world.candidates)  # one chunk per row
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[1][2] == "'" + risky
    assert ["计票摘要(SHA-256)", rnd.tally_digest] in rows
    exported = list(csv.reader(io.StringIO("".join(chunks).removeprefix("\ufeff"))))
    assert exported[-1][:2] == ["导出人", "'@official"]
