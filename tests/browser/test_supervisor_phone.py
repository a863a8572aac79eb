"""The street's supervisor on a phone (390×844, touch): log in, open a project under 督办,
record a supervision round with a participant, a spot check and a suggestion, take a photo
through the camera input, then see it all on the public project page — without the names.

The finished 2025 round's 公示 period is over, so its projects take supervision rounds.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw

from .test_accessibility import serious_violations

PROJECT = "濮家社区健身点更新"
DEPUTY = "何卫东"  # a name the seed does not use: it must stay on the staff pages
SITE = "濮家社区中心广场东侧"
FINDINGS = "新器材使用正常，塑胶地面东侧边缘起翘。"
CHECK = "塑胶地面平整度"
CHECK_NOTE = "东侧边缘起翘约2厘米"
SUGGESTION = "东侧塑胶地面边缘重新粘接，起翘处先设警示标志"
ALT = "东侧塑胶地面边缘起翘处"


def _jpeg() -> bytes:
    """A 640×480 photo-like JPEG: big enough for the upload's minimum side."""
    image = Image.new("RGB", (640, 480), (70, 130, 90))
    draw = ImageDraw.Draw(image)
    for x in range(0, 640, 40):
        draw.rectangle((x, 300, x + 20, 480), fill=(200, 60 + x // 4, 40))
    stream = io.BytesIO()
    image.save(stream, format="JPEG", quality=85)
    return stream.getvalue()


def test_supervisor_records_a_round_with_a_photo_and_the_public_page_shows_it(
    page, finished, live, axe, tmp_path, monkeypatch
):
    monkeypatch.setitem(live.app.config, "PHOTO_FOLDER", str(tmp_path / "photos"))
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    deadline = today + timedelta(days=14)

    page.goto("/staff/login")
    page.get_by_label("用户名").fill("supervisor")
    page.get_by_label("密码").fill("demo-supervisor-2026")
    page.get_by_role("button", name="登录").tap()
    page.wait_for_url("**/supervision/")

    card = page.locator(".card").filter(has_text=PROJECT)
    card.get_by_role("link", name="打开项目").tap()
    project_id = finished.projects[PROJECT]
    page.wait_for_url(f"**/supervision/projects/{project_id}")
    assert page.locator("h1").inner_text() == PROJECT
    page.get_by_role("link", name="登记一次督办").tap()
    page.wait_for_url(f"**/supervision/projects/{project_id}/visits/new")

    page.get_by_label("督办日期").fill(today.isoformat())
    page.get_by_label("地点").fill(SITE)
    page.get_by_label("发现的情况").fill(FINDINGS)
    page.locator("#participants-0-name").fill(DEPUTY)
    page.locator("#participants-0-kind").select_option(label="人大代表")
    page.locator("#spot_checks-0-item").fill(CHECK)
    page.locator("#spot_checks-0-result").select_option(label="不合格")
    page.locator("#spot_checks-0-note").fill(CHECK_NOTE)
    page.locator("#suggestions-0-text").fill(SUGGESTION)
    page.locator("#suggestions-0-deadline").fill(deadline.isoformat())
    page.get_by_role("button", name="保存督办记录").tap()

    page.wait_for_url(re.compile(r"/supervision/visits/\d+$"))
    main = page.locator("main").inner_text()
    assert f"参加：{DEPUTY}（人大代表）" in main  # staff see the names
    assert f"{CHECK}：不合格（{CHECK_NOTE}）" in main
    assert f"{SUGGESTION} · 待答复 · 期限 {deadline.isoformat()}" in main
    assert "现场照片（0 张）" in main

    # The camera input: the rear camera opens straight away on a phone.
    photo = page.get_by_label("照片", exact=True)
    assert photo.get_attribute("type") == "file"
    assert photo.get_attribute("accept") == "image/*"
    assert photo.get_attribute("capture") == "environment"
    photo.set_input_files({"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()})
    page.get_by_label("照片说明").fill(ALT)
    with page.expect_navigation():
        page.get_by_role("button", name="上传照片").tap()

    assert "现场照片（1 张）" in page.locator("main").inner_text()
    thumb = page.get_by_role("img", name=ALT)
    thumb.scroll_into_view_if_needed()
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")

    # What residents see: the round, the check, the suggestion, the photo; counts, no names.
    # (Logged out first: the header names the staff member who is logged in.)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("^退出")).tap()
    page.goto(f"/projects/{project_id}")
    assert page.get_by_role("link", name="工作人员登录").is_visible()
    main = page.locator("main").inner_text()
    round_card = page.locator(".card").filter(has_text=f"{today.isoformat()} · {SITE}")
    assert round_card.count() == 1
    card_text = round_card.inner_text()
    assert "参加：人大代表 1 人，议事会成员 0 人，居民 0 人" in card_text
    assert FINDINGS in card_text
    assert f"{CHECK}：不合格（{CHECK_NOTE}）" in card_text
    assert f"建议：{SUGGESTION}" in card_text
    assert "待答复" in card_text
    assert f"办理期限 {deadline.isoformat()}" in card_text
    html = page.content()
    # Nor the seed's participants in this project's earlier round, nor the supervisor's name.
    assert [name for name in (DEPUTY, "周海涛", "蒋师傅", "梁晓红") if name in html] == []
    counts = page.locator("dl.counts").inner_text()
    assert re.search(r"督办次数\s*2", counts)  # the seed's round on this project, and ours
    assert re.search(r"意见建议\s*2", counts)
    picture = page.get_by_role("img", name=ALT)
    picture.scroll_into_view_if_needed()
    assert picture.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.get_by_role("figure").filter(has_text=ALT).count() == 1
    assert "现场照片" in main

    assert serious_violations(axe, page) == []
