"""The README's screenshots of the resident's path on a phone, normal and 长辈版.

    .venv/bin/python tools/screenshots.py   # needs /usr/bin/chromium and the test extra

Loads the 凯旋街道 demo (``seeds/``) into a scratch SQLite database, serves the app on a
free local port, and has Chromium (390×844, touch, zh-CN) walk one voting code through the
ballot, the review and the receipt, once in each mode. The PNGs land in
``docs/screenshots/``, overwriting the committed ones.
"""

from __future__ import annotations

import random
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _synthetic import bench_app  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from voting.seeding import load_seed  # noqa: E402
from voting.services.rounds import load_round  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def walk(browser, url: str, round_id: int, code: str, picks: list[str], mode: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=url, **PHONE)
    if mode == "elderly":
        context.add_cookies([{"name": "elderly", "value": "1", "url": url}])
    page = context.new_page()
    page.goto(f"/vote/c/{code}")
    page.wait_for_url(f"**/vote/{round_id}/ballot")
    for title in picks:
        page.locator("label", has_text=title).first.tap()
    page.evaluate("window.getSelection().removeAllRanges(); window.scrollTo(0, 0)")
    page.screenshot(path=str(OUT / f"{mode}-1-ballot.png"))
    page.locator("#tally").scroll_into_view_if_needed()
    page.screenshot(path=str(OUT / f"{mode}-2-ballot-count.png"))
    with page.expect_navigation():
        page.get_by_role("button", name="下一步").tap()
    page.screenshot(path=str(OUT / f"{mode}-3-review.png"))
    with page.expect_navigation():
        page.get_by_role("button", name="确认投票").tap()
    page.screenshot(path=str(OUT / f"{mode}-4-receipt.png"))
    context.close()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        app = bench_app(f"sqlite:///{Path(scratch) / 'shots.sqlite'}")
        with app.app_context():
            made = load_seed(rng=random.Random(5))
            round_id, slips = made["rounds"][0]  # type: ignore[index]
            titles = [e.candidate.title for e in load_round(round_id).entries]
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            walk(browser, url, round_id, slips[0].code, titles[:2], "normal")
            walk(browser, url, round_id, slips[1].code, titles[1:3], "elderly")
            browser.close()
        server.shutdown()
    for png in sorted(OUT.glob("*.png")):
        print(f"screenshots: {png.relative_to(ROOT)} {png.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
