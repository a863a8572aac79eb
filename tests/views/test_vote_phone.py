"""The phone channel over HTTP with CSRF on: the whole path, enumeration safety, limits,
and no code in any log."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import Browser, csrf_token, submit
from tests.factories import World
from tests.phone_roll import Person, enrol, stranger
from voting.extensions import db
from voting.models import Ballot, OtpChallenge, Participation
from voting.services import sms
from voting.services.sms import MemorySender, OutboxSender

RECEIPT_RE = re.compile(r'<p class="receipt" id="receipt-code">([0-9A-Z-]{19})</p>')
CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*? value=")[^"]+(")')


@pytest.fixture
def outbox(app, monkeypatch) -> MemorySender:  # type: ignore[no-untyped-def]
    """The phone: every message the app sends in this test."""
    sender = MemorySender()
    monkeypatch.setitem(app.extensions, "sms_sender", sender)
    return sender


class Street:
    def __init__(self, **round_overrides: object) -> None:
        self.world = World(candidates=3)
        self.round_id = self.world.open_round(datetime.now(UTC), **round_overrides)
        self.person = enrol(self.world, seed=1)

    def path(self, page: str) -> str:
        return f"/vote/{self.round_id}/{page}"


@pytest.fixture
def street(app) -> Street:  # type: ignore[no-untyped-def]
    return Street()


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def without_csrf(body: str) -> str:
    return CSRF_VALUE.sub(r"\1…\2", body)


def without_typed(body: str) -> str:
    """The page without its CSRF token and without the values the person typed."""
    return re.sub(r' value="[^"]*"', "", without_csrf(body))


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def ask(client: Browser, who: Person, *, ip: str | None = None, **typed: str):  # type: ignore[no-untyped-def]
    data = {"name": who.name, "id_number": who.id_number, "phone": who.phone, **typed}
    extra = {"environ_base": {"REMOTE_ADDR": ip}} if ip else {}
    return submit(client, "/vote/phone", data, **extra)


def enter(client: Browser, code: str):  # type: ignore[no-untyped-def]
    return submit(client, "/vote/phone/verify", {"code": code})


def code_in(outbox: MemorySender) -> str:
    match = re.search(r"\b(\d{6})\b", outbox.messages[-1][1])
    assert match
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def errors_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'role="alert">(?:<p>)?([^<]+)<', text_of(response))


# --- the whole path -----------------------------------------------------------------------


def test_phone_channel_request_verify_ballot_review_confirm_receipt(street, browser, outbox):
    client = browser()
    page = client.get("/vote/phone")
    assert page.status_code == 200
    assert 'inputmode="tel"' in text_of(page)
    assert 'autocomplete="tel"' in text_of(page)

    asked = ask(client, street.person)
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/vote/phone/verify"
    assert outbox.messages[0][0] == street.person.phone
    verify_page = client.get("/vote/phone/verify")
    assert 'inputmode="numeric"' in text_of(verify_page)
    assert 'autocomplete="one-time-code"' in text_of(verify_page)

    verified = enter(client, code_in(outbox))
    assert verified.status_code == 302
    assert verified.headers["Location"] == street.path("ballot")
    chosen = submit(
        client, street.path("ballot"), {"choices": [str(street.world.candidates[1].id)]}
    )
    assert chosen.headers["Location"] == street.path("review")
    assert street.world.candidates[1].title in text_of(client.get(street.path("review")))
    confirmed = submit(client, street.path("confirm"), {}, page=street.path("review"))
    assert confirmed.headers["Location"] == street.path("receipt")
    receipt = client.get(street.path("receipt"))

    assert RECEIPT_RE.search(text_of(receipt))
    assert count(Ballot) == 1
    assert db.session.scalar(select(Participation.channel)) == "sms"


def test_code_page_links_to_phone_channel(street, browser):
    body = text_of(browser().get("/vote/"))
    assert 'href="/vote/phone"' in body
    assert "没有投票单？用手机号验证" in body


def test_phone_pages_no_inline_script_or_style(street, browser, outbox):
    client = browser()
    bodies = [text_of(client.get("/vote/phone"))]
    ask(client, street.person)
    bodies.append(text_of(client.get("/vote/phone/verify")))
    for body in bodies:
        assert "<script" not in body
        assert "style=" not in body
        assert "<style" not in body


# --- enumeration --------------------------------------------------------------------------


def _request_and_page(browser, who: Person, **typed: str):  # type: ignore[no-untyped-def]
    client = browser()
    asked = ask(client, who, **typed)
    page = client.get(asked.headers.get("Location", "/vote/phone"))
    return asked, page


@pytest.mark.parametrize(
    "off_roll",
    ["not_on_roll", "wrong_name", "wrong_phone"],
)
def test_phone_request_off_roll_byte_identical_to_on_roll(street, browser, outbox, off_roll):
    other = stranger(21)
    who = {
        "not_on_roll": other,
        "wrong_name": Person("王晓明", street.person.id_number, street.person.phone),
        "wrong_phone": Person(street.person.name, street.person.id_number, other.phone),
    }[off_roll]
    on_roll = enrol(street.world, seed=5)  # another resident: the phones' cool-downs apart
    on_asked, on_page = _request_and_page(browser, on_roll)
    off_asked, off_page = _request_and_page(browser, who)

    assert len(outbox.messages) == 1  # only the resident on the roll got a text
    assert (on_asked.status_code, off_asked.status_code) == (302, 302)
    assert on_asked.headers["Location"] == off_asked.headers["Location"]
    assert on_asked.get_data() == off_asked.get_data()
    assert on_page.status_code == off_page.status_code == 200
    assert without_csrf(text_of(on_page)) == without_csrf(text_of(off_page))
    assert on_roll.phone[-4:] not in text_of(on_page)
    assert "如果您在本次投票的居民名册上，验证码已发送到您填写的手机号" in text_of(on_page)


def test_phone_verify_wrong_code_same_answer_on_and_off_roll(street, browser, outbox):
    on_client, off_client = browser(), browser()
    ask(on_client, street.person)
    ask(off_client, stranger(22))
    guess = wrong(code_in(outbox))

    on_wrong, off_wrong = enter(on_client, guess), enter(off_client, guess)

    assert on_wrong.status_code == off_wrong.status_code == 422
    assert without_csrf(text_of(on_wrong)) == without_csrf(text_of(off_wrong))
    assert "还可以再试 4 次" in text_of(on_wrong)


def test_phone_cooldown_same_answer_on_and_off_roll(street, browser, outbox):
    answers = []
    for who in (street.person, stranger(23)):
        client = browser()
        ask(client, who)
        answers.append(ask(client, who))
    on, off = answers
    assert on.status_code == off.status_code == 429
    # The wait counts down by the clock: on a loaded machine the two answers can be a second
    # or two apart, which is not a difference an onlooker could use.
    wait = re.compile(r"请等 (\d+) 秒后再试")
    seconds = [int(wait.search(text_of(r)).group(1)) for r in (on, off)]
    assert all(50 <= s <= 60 for s in seconds), seconds
    same = [wait.sub("请等 N 秒后再试", without_typed(text_of(r))) for r in (on, off)]
    assert same[0] == same[1]


# --- shape errors, code errors ------------------------------------------------------------


def test_phone_request_bad_id_checksum_shown_next_to_field_422(street, browser, outbox):
    number = street.person.id_number
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    response = ask(browser(), street.person, id_number=bad, phone="123")

    assert response.status_code == 422
    assert errors_of(response) == ["身份证号校验位不正确", "手机号应为 11 位数字"]
    assert count(OtpChallenge) == 0
    assert outbox.messages == []


def test_phone_request_empty_fields_ask_for_each_422(street, browser, outbox):
    response = submit(browser(), "/vote/phone", {"name": "", "id_number": "", "phone": ""})
    assert response.status_code == 422
    assert errors_of(response) == ["请填写此项"] * 3


def test_phone_verify_five_wrong_kill_the_code_sixth_right_refused(street, browser, outbox):
    client = browser()
    ask(client, street.person)
    code = code_in(outbox)
    for left in (4, 3, 2, 1):
        assert f"还可以再试 {left} 次" in text_of(enter(client, wrong(code)))
    fifth = enter(client, wrong(code))
    assert "输错次数太多" in text_of(fifth)

    sixth = enter(client, code)

    assert sixth.status_code == 422
    assert "输错次数太多" in text_of(sixth)
    assert client.get(street.path("ballot")).status_code == 401


def test_phone_verify_format_error_422(street, browser, outbox):
    client = browser()
    ask(client, street.person)
    response = enter(client, "12 34")
    assert response.status_code == 422
    assert "验证码是 6 位数字" in text_of(response)


def test_phone_verify_without_request_goes_back_to_form(street, browser):
    response = browser().get("/vote/phone/verify")
    assert response.status_code == 302
    assert response.headers["Location"] == "/vote/phone"


def test_phone_resend_before_60s_refused_with_wait(street, browser, outbox):
    client = browser()
    ask(client, street.person)
    response = submit(
        client, "/vote/phone/resend", {"phone": street.person.phone}, page="/vote/phone/verify"
    )

    assert response.status_code == 429
    assert re.search(r"请等 (60|59) 秒后再试", text_of(response))
    assert len(outbox.messages) == 1


def test_phone_resend_after_cooldown_sends_new_code_old_dead(street, browser, outbox):
    client = browser()
    ask(client, street.person)
    old = code_in(outbox)
    db.session.execute(  # the first send was a minute ago
        OtpChallenge.__table__.update().values(created_at=datetime.now(UTC) - timedelta(seconds=61))
    )
    db.session.commit()

    response = submit(
        client, "/vote/phone/resend", {"phone": street.person.phone}, page="/vote/phone/verify"
    )
    assert response.headers["Location"] == "/vote/phone/verify?sent=1"
    assert "已重新发送" in text_of(client.get(response.headers["Location"]))
    assert len(outbox.messages) == 2
    assert outbox.messages[1][0] == street.person.phone
    new = code_in(outbox)
    if new != old:
        assert enter(client, old).status_code == 422
    assert enter(client, new).headers["Location"] == street.path("ballot")


def test_phone_resend_with_another_phone_sends_nothing(street, browser, outbox):
    client = browser()
    ask(client, street.person)
    db.session.execute(
        OtpChallenge.__table__.update().values(created_at=datetime.now(UTC) - timedelta(seconds=61))
    )
    db.session.commit()
    other = "13" + street.person.phone[2:][::-1]
    response = submit(client, "/vote/phone/resend", {"phone": other}, page="/vote/phone/verify")
    assert response.status_code == 409
    assert len(outbox.messages) == 1


def test_phone_resend_without_phone_asks_for_it(street, browser, outbox):
    client = browser()
    ask(client, street.person)
    response = submit(client, "/vote/phone/resend", {}, page="/vote/phone/verify")
    assert response.status_code == 422
    assert "请再次输入手机号" in text_of(response)
    assert len(outbox.messages) == 1


def test_phone_session_keeps_no_phone_in_clear(street, browser, outbox, app):
    client = browser()
    ask(client, street.person)
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(cookie.value)
    assert street.person.phone not in json.dumps(data)
    assert street.person.id_number not in json.dumps(data)


# --- already voted ------------------------------------------------------------------------


def test_voted_by_code_then_phone_channel_told_when_and_how(street, browser, outbox):
    code = street.world.issue_codes(street.round_id)[0]
    by_code = browser()
    assert by_code.get(f"/vote/c/{code}").status_code == 302
    submit(by_code, street.path("ballot"), {"choices": [str(street.world.candidates[0].id)]})
    submit(by_code, street.path("confirm"), {}, page=street.path("review"))
    assert count(Ballot) == 1

    client = browser()
    assert ask(client, street.person).status_code == 302  # the request step reveals nothing
    response = enter(client, code_in(outbox))

    assert response.status_code == 409
    body = text_of(response)
    assert "您已经在本次投票中投过票了" in body
    assert "投票方式：投票码" in body
    assert re.search(r"投票时间：\d{4}-\d{2}-\d{2} \d{2}:\d{2}", body)
    assert count(Ballot) == 1


def test_voted_by_phone_then_code_told_when_and_how(street, browser, outbox):
    code = street.world.issue_codes(street.round_id)[0]
    client = browser()
    ask(client, street.person)
    enter(client, code_in(outbox))
    submit(client, street.path("ballot"), {"choices": [str(street.world.candidates[0].id)]})
    submit(client, street.path("confirm"), {}, page=street.path("review"))

    response = browser().get(f"/vote/c/{code}")

    assert response.status_code == 409
    assert "投票方式：手机验证码" in text_of(response)
    assert re.search(r"投票时间：\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text_of(response))
    assert count(Ballot) == 1


# --- rounds ---------------------------------------------------------------------------------


def test_phone_page_several_open_rounds_choose_one(street, browser, outbox):
    second = street.world.open_round(datetime.now(UTC), title="第二项投票")
    client = browser()
    listing = client.get("/vote/phone")
    assert f'href="/vote/phone?round={second}"' in text_of(listing)
    assert 'name="id_number"' not in text_of(listing)

    form_page = client.get(f"/vote/phone?round={second}")
    assert "第二项投票" in text_of(form_page)
    token = csrf_token(client, f"/vote/phone?round={second}")
    data = {"name": "王小明", "id_number": street.person.id_number, "phone": street.person.phone}
    asked = client.post(f"/vote/phone?round={second}", data={**data, "csrf_token": token})
    assert asked.status_code == 302
    assert db.session.scalar(select(OtpChallenge.round_id)) == second


def test_phone_page_no_open_round_says_so(app, browser):
    World(candidates=3)
    body = text_of(browser().get("/vote/phone"))
    assert "现在没有正在进行的投票" in body


def test_phone_request_round_not_started_409(app, browser, outbox):
    world = World(candidates=3)
    now = datetime.now(UTC)
    world.open_round(now, opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=3))
    person = enrol(world, seed=2)
    response = ask(browser(), person)
    assert response.status_code == 409
    assert "现在不能投票" in text_of(response)
    assert outbox.messages == []


# --- limits ---------------------------------------------------------------------------------


def test_phone_request_per_ip_limit_429(street, browser, outbox, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHONE_REQUEST_LIMIT_PER_IP", "3 per hour")
    client = browser()
    statuses = [ask(client, stranger(30 + i)).status_code for i in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert client.get("/vote/phone").status_code == 200  # reading the page is not limited


def test_phone_request_per_phone_limit_429_whatever_the_ip(
    street, browser, outbox, app, monkeypatch
):
    monkeypatch.setitem(app.config, "PHONE_REQUEST_LIMIT_PER_PHONE", "1 per hour")
    first = ask(browser(), street.person, ip="10.0.0.1")
    spelled = "+86 " + street.person.phone
    second = ask(browser(), street.person, phone=spelled, ip="10.0.0.2")

    assert (first.status_code, second.status_code) == (302, 429)
    assert "验证码刚刚发送过" not in text_of(second)  # the limiter, not the database cool-down
    assert count(OtpChallenge) == 1


def test_phone_verify_per_ip_limit_429(street, browser, outbox, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHONE_VERIFY_LIMIT_PER_IP", "2 per hour")
    client = browser()
    ask(client, street.person)
    code = code_in(outbox)
    assert enter(client, wrong(code)).status_code == 422
    assert enter(client, wrong(code)).status_code == 422
    assert enter(client, code).status_code == 429


# --- logs -----------------------------------------------------------------------------------


def test_phone_flow_never_logs_code_phone_or_id(street, browser, outbox, caplog):
    caplog.set_level(logging.DEBUG)
    client = browser()
    ask(client, street.person)
    first = code_in(outbox)
    enter(client, wrong(first))
    db.session.execute(
        OtpChallenge.__table__.update().values(created_at=datetime.now(UTC) - timedelta(seconds=61))
    )
    db.session.commit()
    submit(client, "/vote/phone/resend", {"phone": street.person.phone}, page="/vote/phone/verify")
    second = code_in(outbox)
    enter(client, second)
    submit(client, street.path("ballot"), {"choices": [str(street.world.candidates[0].id)]})
    submit(client, street.path("confirm"), {}, page=street.path("review"))
    ask(browser(), stranger(40))
    assert count(Ballot) == 1

    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "sms sent to ****" + street.person.phone[-4:] in logged
    for secret in (first, second, street.person.phone, street.person.id_number):
        assert secret not in logged


# --- the sender -----------------------------------------------------------------------------


def test_outbox_sender_writes_one_json_line_per_message(tmp_path):
    path = tmp_path / "sms-outbox.jsonl"
    sender = OutboxSender(path)
    sender.send("13900000001", "验证码 123456")
    sender.send("13900000002", "验证码 654321")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(m["to"], m["text"]) for m in lines] == [
        ("13900000001", "验证码 123456"),
        ("13900000002", "验证码 654321"),
    ]
    assert all(datetime.fromisoformat(m["at"]).tzinfo for m in lines)


def _bare_app(tmp_path, **config: object) -> Flask:
    app = Flask("phone-test", instance_path=str(tmp_path))
    app.config.update(config)
    return app


def test_get_sender_outbox_default_in_testing_under_instance(tmp_path):
    app = _bare_app(tmp_path, TESTING=True, SMS_SENDER=None, SMS_OUTBOX_PATH=None)
    sender = sms.get_sender(app)
    assert isinstance(sender, OutboxSender)
    assert sender.path == tmp_path / "sms-outbox.jsonl"
    assert sms.get_sender(app) is sender


def test_get_sender_gateway_class_gets_the_config(tmp_path):
    app = _bare_app(tmp_path, SMS_SENDER="tests.views.test_vote_phone:FakeGateway", X=1)
    sender = sms.get_sender(app)
    assert isinstance(sender, FakeGateway)
    assert sender.config["X"] == 1


class FakeGateway:
    def __init__(self, config) -> None:  # type: ignore[no-untyped-def]
        self.config = config

    def send(self, phone: str, text: str) -> None:
        raise sms.SmsError("gateway down")


def test_deliver_gateway_failure_logged_masked_not_raised(caplog):
    caplog.set_level(logging.DEBUG)
    assert sms.deliver(FakeGateway({}), "13912345678", "验证码 123456") is False
    assert "****5678" in caplog.text
    assert "13912345678" not in caplog.text
    assert "123456" not in caplog.text


@pytest.mark.parametrize("spec", ["outbox", "memory"])
def test_check_production_refuses_development_senders(tmp_path, spec):
    with pytest.raises(RuntimeError, match="Refusing to start: SMS_SENDER"):
        sms.check_production(_bare_app(tmp_path, SMS_SENDER=spec))


@pytest.mark.parametrize("flag", ["TESTING", "DEBUG"])
def test_check_production_allows_development_senders_in_debug_and_testing(tmp_path, flag):
    sms.check_production(_bare_app(tmp_path, SMS_SENDER="outbox", **{flag: True}))


def test_check_production_gateway_or_unset_starts_unset_switches_channel_off(tmp_path):
    gateway = _bare_app(tmp_path, SMS_SENDER="tests.views.test_vote_phone:FakeGateway")
    unset = _bare_app(tmp_path, SMS_SENDER=None)
    sms.check_production(gateway)
    sms.check_production(unset)
    assert sms.channel_enabled(gateway)
    assert not sms.channel_enabled(unset)
    assert sms.channel_enabled(_bare_app(tmp_path, SMS_SENDER=None, TESTING=True))


def test_phone_page_channel_off_says_use_code_or_station_503(street, browser, app, monkeypatch):
    monkeypatch.setattr(sms, "channel_enabled", lambda _app: False)
    response = browser().get("/vote/phone")
    assert response.status_code == 503
    assert "手机验证码投票暂未开通" in text_of(response)
