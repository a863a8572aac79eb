"""A resident files an objection to the 公示 on a phone (390×844, touch) while the period is
open: from the notice's button, name, ID number and phone → the code from the text message →
the text; back on the notice, the objection shows with its number and without who filed it.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from voting.extensions import db
from voting.models import Objection

from .conftest import wait_for

TEXT = "充电桩选址离幼儿园太近，建议挪到停车场北侧。"


def test_resident_files_an_objection_with_a_phone_code_and_sees_it_on_the_notice(
    page, gongshi, live
):
    page.goto(gongshi.path("notice"))
    assert "公示中，接受异议" in page.locator("main").inner_text()
    assert "目前没有收到异议。" in page.locator("main").inner_text()
    page.get_by_role("link", name="我有异议").tap()
    page.wait_for_url(f"**{gongshi.path('objection')}")

    person = gongshi.person
    page.get_by_label("姓名").fill(person.name)
    page.get_by_label("身份证号").fill(person.id_number)
    page.get_by_label("手机号").fill(person.phone)
    page.get_by_role("button", name="获取验证码").tap()
    page.wait_for_url(f"**{gongshi.path('objection/file')}")

    to, text = wait_for(lambda: live.sms().messages)[-1]
    assert to == person.phone
    code = re.search(r"\b(\d{6})\b", text).group(1)
    page.get_by_label("短信验证码").fill(code)
    page.get_by_label("异议内容").fill(TEXT)
    page.get_by_role("button", name="提交异议").tap()

    page.wait_for_url(re.compile(rf"{re.escape(gongshi.path('notice'))}\?filed=1$"))
    status = page.get_by_role("status").inner_text()
    assert "您的异议已提交（第 1 条），答复将在本页公开。" in status
    section = page.locator("section.objections")
    assert section.get_by_role("heading", name="第 1 条异议").is_visible()
    assert TEXT in section.inner_text()
    assert "尚未答复。" in section.inner_text()
    assert person.name not in page.content()
    assert person.phone not in page.content()
    with live.app.app_context():
        [row] = db.session.scalars(
            select(Objection).where(Objection.round_id == gongshi.round_id)
        ).all()
        assert (row.number, row.body) == (1, TEXT)
