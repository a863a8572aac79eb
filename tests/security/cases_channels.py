"""Attack cases on the phone channel, the station desk, the roll import, uploads, time,
privacy and availability (research §3.2).

Each case raises AssertionError if the attack succeeded. "Refused" means a 4xx (or a form
error), and no change to participations, ballots or the audit head.

Not covered, on purpose:

* C8 — the council records one collective decision; there is no per-member approval to race.
* T8 — no k-of-n approval quorum exists yet: finalizing is a single council act.
* T9 — there is no offline verifier of an exported CSV yet to run against a modified copy.
* U4 — the app accepts no image, SVG or HTML uploads; the only upload is the roll (U3, U5).
* K5 — one app server and no signed vote tokens: the voter session's clock is the server's.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import gc
import io
import random
import re
import shutil
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from markupsafe import escape
from sqlalchemy import String, func, select, update
from werkzeug.test import EnvironBuilder, run_wsgi_app

from tests import roll_data
from tests.conftest import CSRF_RE, TEST_PEPPER, Browser, csrf_token, submit
from tests.factories import World, make_id_number, make_staff
from tests.security.harness import RECEIPT_RE, Ctx, Voter, attack, race
from voting.domain import identity
from voting.domain import otp as otp_rules
from voting.domain.errors import AlreadyVoted, InvalidCode
from voting.domain.otp import SendRefused
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import (
    AuditEvent,
    Ballot,
    Candidate,
    OtpChallenge,
    Participation,
    Resident,
    VotingCode,
)
from voting.services import intake, otp, roll_files, rounds, sms, voting
from voting.services.sms import MemorySender

PEPPER = TEST_PEPPER.encode()
CODE_RE = re.compile(r"\b(\d{6})\b")
CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*? value=")[^"]+(")')
TOKEN_RE = re.compile(r'name="token" type="hidden" value="([^"]+)"')  # desk and roll forms
ROLL_UPLOAD, ROLL_CONFIRM = "/official/roll/", "/official/roll/confirm"

_counter = iter(range(1_000_000))


def _n() -> int:
    return next(_counter)


def _unchanged(ctx: Ctx, before: tuple[int, int, str]) -> None:
    assert ctx.counts() == before, f"state changed: {before} -> {ctx.counts()}"


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def _other_world(ctx: Ctx) -> World:
    """A second street with its own staff and candidates (its rounds are not ctx's)."""
    return World(candidates=3, street=f"另一街道{ctx.round_id}-{_n()}")


# -- the phone channel over HTTP -----------------------------------------------------------


@contextlib.contextmanager
def _sender(ctx: Ctx, sender: object | None = None) -> Iterator[MemorySender]:
    """Install ``sender`` (default: a memory outbox) as the app's SMS gateway for a while."""
    installed = sender if sender is not None else MemorySender()
    saved = ctx.app.extensions.get("sms_sender")
    ctx.app.extensions["sms_sender"] = installed
    try:
        yield installed  # type: ignore[misc]
    finally:
        if saved is None:
            ctx.app.extensions.pop("sms_sender", None)
        else:
            ctx.app.extensions["sms_sender"] = saved


def _messages_to(outbox: MemorySender, phone: str) -> list[str]:
    return [text for to, text in outbox.messages if to == phone]


def _code_to(outbox: MemorySender, phone: str) -> str:
    """The latest code texted to ``phone``."""
    texts = _messages_to(outbox, phone)
    assert texts, "no code was texted to the phone"
    match = CODE_RE.search(texts[-1])
    assert match
    return match.group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _stranger(seed: int) -> Voter:
    """Well-formed details of someone who is not on the roll."""
    rng = random.Random(seed)
    return Voter(0, "李四", make_id_number(rng), f"137{rng.randrange(10**8):08d}", "")


def _phone_page(round_id: int) -> str:
    return f"/vote/phone?round={round_id}"


def _ask(client: Browser, who: Voter, round_id: int, **typed: str):  # type: ignore[no-untyped-def]
    """Request a phone code as the resident would (name, ID number, phone)."""
    data = {"name": who.name, "id_number": who.id_number, "phone": who.phone, **typed}
    return submit(client, _phone_page(round_id), data)


def _enter(client: Browser, code: str):  # type: ignore[no-untyped-def]
    return submit(client, "/vote/phone/verify", {"code": code})


def _copy_of(ctx: Ctx, client: Browser, ip: str) -> Browser:
    """Another browser holding a copy of ``client``'s session cookie."""
    other = ctx.client(ip=ip)
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def _finish(client: Browser, round_id: int, choices: list[int]):  # type: ignore[no-untyped-def]
    """From a live voter session: ballot → review → confirm; return (response, receipt)."""
    path = f"/vote/{round_id}"
    client.post(
        f"{path}/ballot",
        data={"choices": choices, "csrf_token": csrf_token(client, f"{path}/ballot")},
    )
    token = csrf_token(client, f"{path}/review")
    response = client.post(f"{path}/confirm", data={"csrf_token": token}, follow_redirects=True)
    match = RECEIPT_RE.search(_text(response))
    return response, match.group(1).replace("-", "") if match else None


def _vote_by_code(client: Browser, code: str, round_id: int, choices: list[int]):  # type: ignore[no-untyped-def]
    assert client.get(f"/vote/c/{code}").status_code == 302
    return _finish(client, round_id, choices)


def _challenges(phone: str) -> list[int]:
    key = identity.phone_hmac(PEPPER, phone)
    return list(
        db.session.scalars(
            select(OtpChallenge.id).where(OtpChallenge.phone_hmac == key).order_by(OtpChallenge.id)
        )
    )


def _age_challenges(phone: str, seconds: int) -> None:
    """Pretend the phone's codes were sent ``seconds`` ago (past the cool-down)."""
    db.session.execute(
        update(OtpChallenge)
        .where(OtpChallenge.phone_hmac == identity.phone_hmac(PEPPER, phone))
        .values(created_at=datetime.now(UTC) - timedelta(seconds=seconds))
    )
    db.session.commit()


def _participations_of(resident_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Participation)
        .where(Participation.resident_id == resident_id)
    )


# -- the station desk over HTTP ------------------------------------------------------------


def _desk_look_up(client: Browser, round_id: int, id_number: str):  # type: ignore[no-untyped-def]
    return submit(client, f"/desk/{round_id}/check-in", {"id_number": id_number})


def _desk_check_in(client: Browser, round_id: int, id_number: str):  # type: ignore[no-untyped-def]
    """Look the resident up and confirm the check-in; return (card page, confirmation)."""
    card = _desk_look_up(client, round_id, id_number)
    assert card.status_code == 200, card.status_code
    token = TOKEN_RE.search(_text(card))
    assert token, "the resident card offers no check-in"
    data = {"token": token.group(1), "assisted_by": "", "assist_reason": ""}
    path = f"/desk/{round_id}/check-in"
    return card, submit(client, f"{path}/confirm", data, page=path)


def _desk_paper(client: Browser, round_id: int, serial: str, choices: list[int]):  # type: ignore[no-untyped-def]
    data = {"serial": serial, "choices": [str(c) for c in choices]}
    return submit(client, f"/desk/{round_id}/paper", data)


def _vote_at_station(ctx: Ctx, voter: Voter, serial: str) -> None:
    """Check the resident in, then two staff enter their paper: it is counted."""
    staff_a = ctx.client(ctx.world.station_staff)
    other = make_staff(ctx.world.street, Role.STATION, station=ctx.world.station)
    staff_b = ctx.client(other)
    _card, done = _desk_check_in(staff_a, ctx.round_id, voter.id_number)
    assert done.status_code == 200, done.status_code
    assert "已登记为现场投票" in _text(done)
    choice = [ctx.candidate_ids[2]]
    assert _desk_paper(staff_a, ctx.round_id, serial, choice).status_code == 302
    assert _desk_paper(staff_b, ctx.round_id, serial, choice).status_code == 302


# -- the official's roll import over HTTP --------------------------------------------------


@contextlib.contextmanager
def _upload_folder(ctx: Ctx) -> Iterator[Path]:
    """Kept roll files go to a temporary folder three levels down, removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="attack-uploads-"))
    folder = base / "a" / "b" / "uploads"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(ctx.app.config, "ROLL_UPLOAD_FOLDER", str(folder))
            yield folder
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _upload(client: Browser, data: bytes, filename: str, **fields: object):  # type: ignore[no-untyped-def]
    return submit(client, ROLL_UPLOAD, {"file": (io.BytesIO(data), filename), **fields})


def _confirm_form(preview_html: str) -> dict[str, str]:
    csrf, token = CSRF_RE.search(preview_html), TOKEN_RE.search(preview_html)
    assert csrf, "no CSRF token on the preview page"
    assert token, "no confirm form on the preview page"
    return {"csrf_token": csrf.group(1), "token": token.group(1)}


def _residents_with(numbers: list[str]) -> int:
    keys = [identity.id_hmac(PEPPER, n) for n in numbers]
    return db.session.scalar(
        select(func.count()).select_from(Resident).where(Resident.id_hmac.in_(keys))
    )


def _raw_request(ctx: Ctx, environ: dict[str, object]):  # type: ignore[no-untyped-def]
    """Run one WSGI request with exactly ``environ`` (no test-client fix-ups)."""
    db.session.commit()
    try:
        app_iter, status, headers = contextvars.Context().run(run_wsgi_app, ctx.app, environ, True)
        return int(status.split()[0]), b"".join(app_iter)
    finally:
        db.session.rollback()


# -- C: concurrency ----------------------------------------------------------------------


@attack("C2", "concurrency", "one resident, 20 parallel casts with 20 different phone logins")
def c2(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    outbox = MemorySender()
    start = datetime.now(UTC) - timedelta(minutes=30)
    credentials = []
    # The daily cap (5 codes per phone) would stop the setup: lift it, as if the attacker
    # had collected 20 logins; the case is about the last guard, one participation each.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(otp_rules, "can_send", lambda sends, limit=100: sends < limit)
        for i in range(20):
            at = start + timedelta(seconds=61 * i)
            challenge = otp.request_code(
                ctx.round_id,
                voter.name,
                voter.id_number,
                voter.phone,
                pepper=PEPPER,
                sender=outbox,
                now=at,
            )
            code = _code_to(outbox, voter.phone)
            credentials.append(
                otp.verify_code(challenge, code, pepper=PEPPER, now=at + timedelta(seconds=5))
            )
    assert len({c.id for c in credentials}) == 20
    credentials.append(voting.login_with_code(voter.code, pepper=PEPPER))  # and the code
    db.session.remove()

    def cast(i: int) -> str:
        with ctx.app.app_context():
            try:
                return voting.cast_ballot(credentials[i], [ctx.candidate_ids[i % 3]])
            finally:
                db.session.remove()

    results = race(len(credentials), cast)
    receipts = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, AlreadyVoted)]
    assert len(receipts) == 1, results
    assert len(refused) == len(credentials) - 1, results
    ctx.receipts += receipts
    assert _participations_of(voter.resident_id) == 1


@attack("C3", "concurrency", "50 parallel wrong guesses on one phone code")
def c3(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    outbox = MemorySender()
    challenge = otp.request_code(
        ctx.round_id, voter.name, voter.id_number, voter.phone, pepper=PEPPER, sender=outbox
    )
    code = _code_to(outbox, voter.phone)
    before = ctx.counts()
    db.session.remove()

    def guess(_i: int) -> object:
        with ctx.app.app_context():
            try:
                return otp.verify_code(challenge, _wrong(code), pepper=PEPPER)
            finally:
                db.session.remove()

    results = race(50, guess)
    assert all(isinstance(r, InvalidCode) for r in results), results
    evaluated = [r for r in results if "attempts_left" in r.params]  # type: ignore[union-attr]
    assert len(evaluated) <= otp_rules.MAX_ATTEMPTS, len(evaluated)
    assert db.session.get(OtpChallenge, challenge).attempts_left == 0
    with pytest.raises(InvalidCode) as dead:
        otp.verify_code(challenge, code, pepper=PEPPER)  # the right code, too late
    assert dead.value.code == "otp_exhausted"
    _unchanged(ctx, before)


@attack("C4", "concurrency", "parallel code requests for one phone: one SMS per cool-down")
def c4(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    clients = [ctx.client(ip=f"203.0.113.{i + 1}") for i in range(8)]
    page = _phone_page(ctx.round_id)
    tokens = [csrf_token(c, page) for c in clients]
    data = {"name": voter.name, "id_number": voter.id_number, "phone": voter.phone}
    with _sender(ctx) as outbox:
        db.session.remove()

        def ask(i: int) -> int:
            response = clients[i].post(page, data={**data, "csrf_token": tokens[i]}, buffered=True)
            return response.status_code

        statuses = race(len(clients), ask)
    assert sorted(statuses) == [302] + [429] * (len(clients) - 1), statuses
    assert len(_messages_to(outbox, voter.phone)) == 1
    assert len(outbox.messages) == 1
    assert len(_challenges(voter.phone)) == 1


@attack("C7", "concurrency", "the same roll file imported twice in parallel")
def c7(ctx: Ctx) -> None:
    records = roll_data.rows(30, start=70_000 + _n() * 100)
    numbers = [r["身份证号"] for r in records]
    data = roll_data.to_csv(records)
    with _upload_folder(ctx) as folder:
        officials = [ctx.client(ctx.world.official, ip=f"192.0.2.{70 + i}") for i in range(3)]
        forms = []
        for official in officials[:2]:
            preview = _upload(official, data, "名册.csv")
            assert preview.status_code == 200, preview.status_code
            forms.append(_confirm_form(_text(preview)))
        db.session.remove()

        def confirm(i: int) -> int:
            return officials[i].post(ROLL_CONFIRM, data=forms[i], buffered=True).status_code

        statuses = race(2, confirm)
        assert all(isinstance(s, int) for s in statuses), f"an import crashed: {statuses}"
        assert all(s in (302, 409) for s in statuses), statuses  # never a 500
        assert 302 in statuses, statuses
        assert list(folder.glob("*")) == []
    assert _residents_with(numbers) == len(records)  # one row each, none half-written
    with _upload_folder(ctx):
        preview = _upload(officials[2], data, "名册.csv")  # and the roll is not locked afterwards
        assert re.search(r"<dt>没有变化</dt><dd>30</dd>", _text(preview))


# -- R: replay ---------------------------------------------------------------------------------


@attack("R2", "replay", "a voter session used after VOTER_SESSION_SECONDS")
def r2(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    client = ctx.client()
    assert client.get(f"/vote/c/{voter.code}").status_code == 302
    path = f"/vote/{ctx.round_id}"
    token = csrf_token(client, f"{path}/ballot")
    client.post(f"{path}/ballot", data={"choices": [ctx.candidate_ids[0]], "csrf_token": token})
    lifetime = ctx.app.config["VOTER_SESSION_SECONDS"]

    def idle_for(seconds: int) -> None:
        with client.session_transaction() as session:
            session["voter"] = {**session["voter"], "t": int(time.time()) - seconds}

    idle_for(lifetime - 5)
    assert client.get(f"{path}/review").status_code == 200  # still alive, and it slides
    token = csrf_token(client, f"{path}/review")
    idle_for(lifetime + 1)
    before = ctx.counts()
    assert client.get(f"{path}/review").status_code == 401
    assert client.get(f"{path}/ballot").status_code == 401
    late = client.post(f"{path}/confirm", data={"csrf_token": token})
    assert late.status_code == 401, late.status_code
    _unchanged(ctx, before)
    used = db.session.scalar(
        select(VotingCode.used_at).where(
            VotingCode.round_id == ctx.round_id, VotingCode.resident_id == voter.resident_id
        )
    )
    assert used is None  # the timed-out session burned nothing: the code still works
    _response, receipt = ctx.vote_by_code(voter.code, [ctx.candidate_ids[0]], ctx.client())
    assert receipt
    ctx.receipts.append(receipt)


@attack("R3", "replay", "a voter session for round A used on round B's ballot and confirm")
def r3(ctx: Ctx) -> None:
    world = _other_world(ctx)
    other_round = world.open_round(datetime.now(UTC))
    theirs = [c.id for c in world.candidates]
    voter = ctx.fresh_voter()
    client = ctx.client()
    assert client.get(f"/vote/c/{voter.code}").status_code == 302
    token = csrf_token(client, f"/vote/{ctx.round_id}/ballot")
    before = ctx.counts()
    path = f"/vote/{other_round}"
    assert client.get(f"{path}/ballot").status_code == 401
    chose = client.post(f"{path}/ballot", data={"choices": theirs[:1], "csrf_token": token})
    assert chose.status_code == 401, chose.status_code
    cast = client.post(f"{path}/confirm", data={"csrf_token": token})
    assert cast.status_code == 401, cast.status_code
    _unchanged(ctx, before)
    # The credential itself is bound to its round, whatever a session says.
    code_id = db.session.scalar(
        select(VotingCode.id).where(
            VotingCode.round_id == ctx.round_id, VotingCode.resident_id == voter.resident_id
        )
    )
    outbox = MemorySender()
    phone_voter = ctx.fresh_voter()
    challenge = otp.request_code(
        ctx.round_id,
        phone_voter.name,
        phone_voter.id_number,
        phone_voter.phone,
        pepper=PEPPER,
        sender=outbox,
    )
    sms_credential = otp.verify_code(challenge, _code_to(outbox, phone_voter.phone), pepper=PEPPER)
    for credential in (
        voting.Credential(other_round, "code", code_id),
        voting.Credential(other_round, "sms", sms_credential.id),
    ):
        with pytest.raises(AlreadyVoted):
            voting.cast_ballot(credential, theirs[:1])
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Participation)
            .where(Participation.round_id == other_round)
        )
        == 0
    )
    _unchanged(ctx, before)


@attack("R5", "replay", "a phone code reused after success; the older code after a resend")
def r5(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    with _sender(ctx) as outbox:
        owner = ctx.client(ip="192.0.2.51")
        assert _ask(owner, voter, ctx.round_id).status_code == 302
        code = _code_to(outbox, voter.phone)
        early, late = _copy_of(ctx, owner, "192.0.2.52"), _copy_of(ctx, owner, "192.0.2.53")
        assert _enter(owner, code).status_code == 302
        before = ctx.counts()
        replay = _enter(early, code)  # used, not yet voted
        assert replay.status_code == 422, replay.status_code
        assert early.get(f"/vote/{ctx.round_id}/ballot").status_code == 401
        _unchanged(ctx, before)
        _response, receipt = _finish(owner, ctx.round_id, [ctx.candidate_ids[0]])
        assert receipt
        ctx.receipts.append(receipt)
        before = ctx.counts()
        assert _enter(late, code).status_code == 409  # used, and voted
        _unchanged(ctx, before)

        second = ctx.fresh_voter()
        client = ctx.client(ip="192.0.2.54")
        assert _ask(client, second, ctx.round_id).status_code == 302
        old_code = _code_to(outbox, second.phone)
        [old_challenge] = _challenges(second.phone)
        stale = _copy_of(ctx, client, "192.0.2.55")
        _age_challenges(second.phone, 61)
        resent = submit(
            client, "/vote/phone/resend", {"phone": second.phone}, page="/vote/phone/verify"
        )
        assert resent.status_code == 302, resent.status_code
        new_code = _code_to(outbox, second.phone)
        before = ctx.counts()
        assert _enter(stale, old_code).status_code == 422  # the older challenge is dead
        with pytest.raises(InvalidCode) as dead:
            otp.verify_code(old_challenge, old_code, pepper=PEPPER)
        assert dead.value.code == "otp_expired"
        if new_code != old_code:  # one in a million they coincide
            assert _enter(client, old_code).status_code == 422
        _unchanged(ctx, before)
        assert _enter(client, new_code).status_code == 302
        _response, receipt = _finish(client, ctx.round_id, [ctx.candidate_ids[0]])
        assert receipt
        ctx.receipts.append(receipt)


# -- F: brute force --------------------------------------------------------------------------


@attack("F1", "brute force", "1000 sequential phone-code guesses")
def f1(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    outbox = MemorySender()
    challenge = otp.request_code(
        ctx.round_id, voter.name, voter.id_number, voter.phone, pepper=PEPPER, sender=outbox
    )
    code = _code_to(outbox, voter.phone)
    before = ctx.counts()
    guesses = [g for g in (f"{i:06d}" for i in range(1000)) if g != code][:999]
    guesses.insert(500, code)  # the right code, somewhere in the middle: 1000 guesses
    outcomes = []
    for guess in guesses:
        try:
            otp.verify_code(challenge, guess, pepper=PEPPER)
        except InvalidCode as refused:
            outcomes.append((refused.code, refused.params.get("attempts_left")))
        else:
            raise AssertionError(f"guess {guesses.index(guess) + 1} of 1000 was accepted")
    assert [left for _c, left in outcomes[:5]] == [4, 3, 2, 1, 0]
    assert set(outcomes[5:]) == {("otp_exhausted", None)}  # dead: nothing more evaluated
    with pytest.raises(SendRefused) as again:  # and no fresh code to guess at once
        otp.request_code(
            ctx.round_id, voter.name, voter.id_number, voter.phone, pepper=PEPPER, sender=outbox
        )
    assert again.value.code == "otp_cooldown"
    assert len(outbox.messages) == 1
    assert len(_challenges(voter.phone)) == 1
    _unchanged(ctx, before)


@attack("F4", "brute force", "SMS bombing: many phones per IP, one phone from many IPs, caps")
def f4(ctx: Ctx) -> None:
    before = ctx.counts()
    per_ip = int(ctx.app.config["PHONE_REQUEST_LIMIT_PER_IP"].split()[0])
    with _sender(ctx) as outbox:
        one_ip = ctx.client(ip="198.51.100.20")
        victims = [ctx.fresh_voter() for _ in range(per_ip + 2)]
        statuses = [_ask(one_ip, v, ctx.round_id).status_code for v in victims]
        assert statuses == [302] * per_ip + [429, 429], statuses
        assert len(outbox.messages) == per_ip

        target = ctx.fresh_voter()
        statuses = [
            _ask(ctx.client(ip=f"198.51.100.{100 + i}"), target, ctx.round_id).status_code
            for i in range(6)
        ]
        assert statuses == [302] + [429] * 5, statuses
        assert len(_messages_to(outbox, target.phone)) == 1

        daily = ctx.fresh_voter()  # past each cool-down: five codes a day, then no more
        start, refused = datetime.now(UTC), []
        for i in range(otp_rules.MAX_SENDS_PER_DAY + 2):
            try:
                otp.request_code(
                    ctx.round_id,
                    daily.name,
                    daily.id_number,
                    daily.phone,
                    pepper=PEPPER,
                    sender=outbox,
                    now=start + timedelta(seconds=61 * i),
                )
            except SendRefused as err:
                refused.append(err.code)
        assert refused == ["otp_daily_cap"] * 2, refused
        assert len(_messages_to(outbox, daily.phone)) == otp_rules.MAX_SENDS_PER_DAY

        sent_so_far = len(outbox.messages)
        last_hour = db.session.scalar(select(func.count()).select_from(OtpChallenge))
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(ctx.app.config, "PHONE_CODE_GLOBAL_PER_HOUR", last_hour + 1)
            first, second = ctx.fresh_voter(), ctx.fresh_voter()
            ok = _ask(ctx.client(ip="198.51.100.31"), first, ctx.round_id)
            capped = _ask(ctx.client(ip="198.51.100.32"), second, ctx.round_id)
        assert (ok.status_code, capped.status_code) == (302, 429)
        assert len(outbox.messages) == sent_so_far + 1
    alarm = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == otp.GLOBAL_CAP_ACTION)
    )
    assert alarm == 1, "reaching the global cap was not recorded"
    participations, ballots, _head = ctx.counts()
    assert (participations, ballots) == before[:2]


# -- E: enumeration ------------------------------------------------------------------------


def _without_csrf(body: str) -> str:
    return CSRF_VALUE.sub(r"\1…\2", body)


@attack("E1", "enumeration", "a phone-code request on the roll and off it look the same")
def e1(ctx: Ctx) -> None:
    on_roll, voted, name_owner, phone_owner = (ctx.fresh_voter() for _ in range(4))
    _response, receipt = ctx.vote_by_code(voted.code, [ctx.candidate_ids[0]], ctx.client())
    assert receipt
    ctx.receipts.append(receipt)
    stranger = _stranger(4242 + _n())
    variants = {
        "on the roll": on_roll,
        "not on the roll": stranger,
        "already voted": voted,
        "wrong name": Voter(0, name_owner.name + "甲", name_owner.id_number, name_owner.phone, ""),
        "wrong phone": Voter(0, phone_owner.name, phone_owner.id_number, _stranger(99).phone, ""),
    }
    answers = {}
    with _sender(ctx) as outbox:
        for i, (label, who) in enumerate(variants.items()):
            client = ctx.client(ip=f"198.51.100.{60 + i}")
            asked = _ask(client, who, ctx.round_id)
            page = client.get(asked.headers.get("Location", "/vote/phone"))
            answers[label] = (asked, page)
    texted = {to for to, _text in outbox.messages}
    assert texted == {on_roll.phone, voted.phone}, "a code went to a phone not on the roll"

    def shape(asked, page) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
        headers = {k: v for k, v in asked.headers.items() if k != "Set-Cookie"}
        return (
            asked.status_code,
            headers,
            "Set-Cookie" in asked.headers,
            asked.get_data(),
            page.status_code,
            page.headers.get("Content-Type"),
            _without_csrf(_text(page)),
        )

    reference = shape(*answers["on the roll"])
    assert reference[0] == 302
    for label, answer in answers.items():
        assert shape(*answer) == reference, f"{label} answered differently from on the roll"


@attack("E3", "enumeration", "no breakdown by building or room on public pages")
def e3(ctx: Ctx) -> None:
    world = _other_world(ctx)
    round_id = world.open_round(datetime.now(UTC))
    world.residents(12, seed=31)
    db.session.execute(
        update(Resident)
        .where(Resident.community_id.in_([c.id for c in world.communities]))
        .values(
            building="甲乙楼" + Resident.id.cast(String), room="丙丁室" + Resident.id.cast(String)
        )
    )
    db.session.commit()
    codes = world.issue_codes(round_id, seed=32)
    choice = [world.candidates[0].id]
    client = ctx.client()
    _response, receipt = _vote_by_code(client, codes[0], round_id, choice)
    assert receipt
    ctx.receipts.append(receipt)
    for code in codes[1:]:
        ctx.receipts.append(voting.cast_ballot(voting.login_with_code(code, pepper=PEPPER), choice))
    pages = {"receipt": client.get(f"/vote/{round_id}/receipt")}
    rounds.close_round(world.official, round_id, reason="测试")
    anyone, official = ctx.client(), ctx.client(world.official)
    pages |= {
        "home": anyone.get("/"),
        "round": anyone.get(f"/rounds/{round_id}"),
        "results": anyone.get(f"/rounds/{round_id}/results"),
        "board": anyone.get(f"/rounds/{round_id}/receipts"),
        "candidate": anyone.get(f"/rounds/{round_id}/candidates/{choice[0]}"),
        "tally.csv": official.get(f"/official/rounds/{round_id}/tally.csv"),
        "official round": official.get(f"/official/rounds/{round_id}"),
    }
    for name, page in pages.items():
        assert page.status_code == 200, (name, page.status_code)
        body = _text(page)
        for marker in ("甲乙楼", "丙丁室", "楼栋", "房号"):
            assert marker not in body, f"{marker!r} on the {name} page"


# -- S/H: injection ---------------------------------------------------------------------------


@attack("H2", "xss", "script in a roll name and address, shown on the desk and the slips")
def h2(ctx: Ctx) -> None:
    payload, address = "<script>alert(1)</script>", "<b onmouseover=x>"
    number = make_id_number(random.Random(7000 + _n()))
    record = {
        "姓名": payload,
        "身份证号": number,
        "手机号": "",
        "社区": ctx.world.communities[0].name,
        "楼栋": address,
        "单元": "",
        "房号": "1",
    }
    official = ctx.client(ctx.world.official)
    with _upload_folder(ctx):
        preview = _upload(official, roll_data.to_csv([record]), "名册.csv")
        assert preview.status_code == 200, preview.status_code
        pages = {"preview": _text(preview)}
        assert official.post(ROLL_CONFIRM, data=_confirm_form(pages["preview"])).status_code == 302
    assert (
        db.session.scalar(
            select(Resident.name).where(Resident.id_hmac == identity.id_hmac(PEPPER, number))
        )
        == payload
    )
    card, done = _desk_check_in(ctx.client(ctx.world.station_staff), ctx.round_id, number)
    assert done.status_code == 200, done.status_code
    pages |= {"resident card": _text(card), "checked in": _text(done)}
    slips = _slips_page(ctx)
    pages["slips"] = slips
    for name, html in pages.items():
        assert payload not in html, f"raw script on the {name} page"
        assert address not in html, f"raw tag on the {name} page"
        assert "<script" not in html.lower(), f"a script element on the {name} page"
    assert str(escape(payload)) in pages["resident card"]
    assert str(escape(payload)) in pages["checked in"]
    assert str(escape(address)) in pages["slips"]


def _slips_page(ctx: Ctx) -> str:
    """The printable slips of residents without a code yet (the one just imported)."""
    from voting.services import codes as codes_service
    from voting.views.slips import render_slips

    slips = codes_service.issue_codes(ctx.round_id, pepper=PEPPER)
    assert len(slips) == 1
    with ctx.app.test_request_context("/"):
        return render_slips(ctx.round_id, slips)


@attack("S2", "sql injection", "SQL in a candidate title is stored and shown inert")
def s2(ctx: Ctx) -> None:
    payload = """停车位'); DROP TABLE ballot; --" OR "1"="1"""
    world = _other_world(ctx)
    station = ctx.client(world.station_staff)
    response = submit(
        station,
        "/station/candidates/new",
        {
            "title": payload,
            "summary": "' OR 1=1 --",
            "description": "1; DELETE FROM participation; --",
            "category": "其他",
            "community_id": world.communities[0].id,
            "location": "x' UNION SELECT * FROM resident --",
            "cost_yuan": "1000",
            "source": "online",
            "raised_by": "3",
        },
    )
    assert response.status_code == 302, response.status_code
    candidate_id = db.session.scalar(select(Candidate.id).where(Candidate.title == payload))
    assert candidate_id, "the title was not stored verbatim"
    pages = {"station list": _text(station.get("/station/"))}
    intake.review_candidate(world.official, candidate_id, accept=True, reason="测试")
    ids = (*[c.id for c in world.candidates], candidate_id)
    round_id = world.open_round(datetime.now(UTC), candidate_ids=ids)
    world.residents(2, seed=41)
    codes = world.issue_codes(round_id, seed=42)
    voter = ctx.client()
    voter.get(f"/vote/c/{codes[0]}")
    pages["ballot"] = _text(voter.get(f"/vote/{round_id}/ballot"))
    _response, receipt = _finish(voter, round_id, [candidate_id])
    assert receipt
    ctx.receipts.append(receipt)
    anyone, official = ctx.client(), ctx.client(world.official)
    pages["round"] = _text(anyone.get(f"/rounds/{round_id}"))
    pages["candidate"] = _text(anyone.get(f"/rounds/{round_id}/candidates/{candidate_id}"))
    pages["official candidates"] = _text(official.get("/official/candidates"))
    export = _text(official.get(f"/official/rounds/{round_id}/tally.csv"))
    rounds.close_round(world.official, round_id, reason="测试")
    pages["results"] = _text(anyone.get(f"/rounds/{round_id}/results"))
    for name, html in pages.items():
        assert str(escape(payload)) in html, f"title not shown (escaped) on the {name} page"
    rows = list(csv.reader(io.StringIO(export.lstrip("\ufeff"))))
    [line] = [row for row in rows if len(row) > 5 and row[2] == payload]
    assert line[5] == "1", line  # the vote counted for it, read back through the export
    assert (
        db.session.scalar(
            select(func.count()).select_from(Ballot).where(Ballot.round_id == round_id)
        )
        == 1
    )


# -- U: uploads -------------------------------------------------------------------------------


def _chunked_environ(path: str, stream: io.BytesIO, content_type: str, **extra: object):  # type: ignore[no-untyped-def]
    """A request as a server passes a chunked upload on: no Content-Length at all."""
    environ = EnvironBuilder(
        path=path, method="POST", input_stream=stream, content_type=content_type
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update(extra)
    return environ


@attack("U2", "uploads", "a chunked body with no Content-Length over MAX_CONTENT_LENGTH")
def u2(ctx: Ctx) -> None:
    limit = ctx.app.config["MAX_CONTENT_LENGTH"]
    before = ctx.counts()
    problems = []
    # A complete, valid code login, padded past the limit: it must be refused whole.
    voter = ctx.fresh_voter()
    client = ctx.client(ip="198.51.100.80")
    token = csrf_token(client, "/vote/")
    fields = urlencode({"csrf_token": token, "code": voter.code}).encode()
    form = io.BytesIO(fields + b"&pad=" + b"1" * (2 * limit))
    status, _body = _raw_request(
        ctx,
        _chunked_environ(
            "/vote/",
            form,
            "application/x-www-form-urlencoded",
            HTTP_TRANSFER_ENCODING="chunked",
            HTTP_COOKIE=f"session={client.get_cookie('session').value}",
            **{"wsgi.input_terminated": True, "REMOTE_ADDR": "198.51.100.80"},
        ),
    )
    if status != 413:
        problems.append(f"urlencoded, {len(form.getvalue())} bytes: {status}, not 413")
    if form.tell() > limit + 2**16:
        problems.append(f"urlencoded: read {form.tell()} bytes past a {limit}-byte limit")

    # The roll upload (multipart, the one big form) behind the same limit.
    boundary = "attackboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    upload = io.BytesIO(head + b"a" * (2 * limit))
    with _upload_folder(ctx) as folder:
        official = ctx.client(ctx.world.official)
        official.get(ROLL_UPLOAD)  # a logged-in session: the limit, not the login, refuses
        with warnings.catch_warnings():
            # werkzeug leaves the part's spooled temp file to the GC when it aborts with 413
            warnings.simplefilter("ignore", ResourceWarning)
            status, _body = _raw_request(
                ctx,
                _chunked_environ(
                    ROLL_UPLOAD,
                    upload,
                    f"multipart/form-data; boundary={boundary}",
                    HTTP_TRANSFER_ENCODING="chunked",
                    HTTP_COOKIE=f"session={official.get_cookie('session').value}",
                    **{"wsgi.input_terminated": True},
                ),
            )
            gc.collect()
        if status != 413:
            problems.append(f"multipart roll upload: {status}, not 413")
        if upload.tell() > limit + 2**16:
            problems.append(f"multipart: read {upload.tell()} bytes past a {limit}-byte limit")
        if folder.exists() and list(folder.glob("*")):
            problems.append("multipart: an oversized upload was kept")

    # A server that does not terminate the stream gets nothing read at all.
    unterminated = io.BytesIO(b"code=" + b"1" * 1024)
    status, _body = _raw_request(
        ctx, _chunked_environ("/vote/", unterminated, "application/x-www-form-urlencoded")
    )
    if status != 400 or unterminated.tell() != 0:  # an empty form: no CSRF token
        problems.append(f"unterminated stream: {status}, read {unterminated.tell()} bytes")
    assert problems == [], problems
    _unchanged(ctx, before)


def _declare_size(data: bytes, size: int) -> bytes:
    """Rewrite every central-directory entry's uncompressed size (what zipfile trusts)."""
    patched = bytearray(data)
    for match in re.finditer(b"PK\x01\x02", data):
        patched[match.start() + 24 : match.start() + 28] = size.to_bytes(4, "little")
    return bytes(patched)


def _many_entries(n: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(n):
            archive.writestr(f"xl/part{i}.xml", b"")
    return out.getvalue()


def _entity_bomb() -> bytes:
    """A valid-looking workbook whose sheet XML expands a billion laughs."""
    laughs = ['<!ENTITY l0 "ha">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    book = roll_data.to_xlsx(roll_data.rows(2))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                text = data.decode()
                prolog, _, rest = text.partition("?>")
                text = f"{prolog}?><!DOCTYPE worksheet [{''.join(laughs)}]>{rest}"
                data = text.replace("<is><t>", "<is><t>&l9;", 1).encode()
            target.writestr(item, data)
    return out.getvalue()


@attack("U3", "uploads", "XLSX zip bomb, too many entries or form parts, XML entity bomb")
def u3(ctx: Ctx) -> None:
    official = ctx.client(ctx.world.official)
    residents = db.session.scalar(select(func.count()).select_from(Resident))

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the workbook was parsed")

    bombs = {
        "declared 3.75 GiB": _declare_size(roll_data.to_xlsx(roll_data.rows(3)), 0xF000_0000),
        "1001 entries": _many_entries(1_001),
    }
    with _upload_folder(ctx) as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(roll_files, "load_workbook", refuse)
        for name, bomb in bombs.items():
            response = _upload(official, bomb, "名册.xlsx")
            assert response.status_code == 422, (name, response.status_code)
            assert 'name="token"' not in _text(response), name
        assert not folder.exists() or list(folder.glob("*")) == []
    with _upload_folder(ctx) as folder:
        response = _upload(official, _entity_bomb(), "名册.xlsx")
        assert response.status_code == 422, ("entity bomb", response.status_code)
        fields = {f"f{i}": "x" for i in range(1_001)}
        parts = _upload(official, roll_data.to_csv(roll_data.rows(2)), "名册.csv", **fields)
        assert parts.status_code == 413, ("1001 form parts", parts.status_code)
        assert not folder.exists() or list(folder.glob("*")) == []
    assert db.session.scalar(select(func.count()).select_from(Resident)) == residents


@attack("U5", "uploads", "path traversal in an uploaded filename")
def u5(ctx: Ctx) -> None:
    official = ctx.client(ctx.world.official)
    records = roll_data.rows(3, start=80_000 + _n() * 10)
    data = roll_data.to_csv(records)
    with _upload_folder(ctx) as folder:
        base = folder.parents[2]
        for name in ("../../x.csv", "..\\..\\x.csv", "/tmp/attack-x.csv", "a/../../../x.csv"):  # noqa: S108
            preview = _upload(official, data, name)
            assert preview.status_code == 200, (name, preview.status_code)
            kept = sorted(p.name for p in folder.iterdir())
            assert len(kept) == 1, kept  # each preview replaces the last
            assert re.fullmatch(r"[A-Za-z0-9_-]{32}\.upload", kept[0]), kept
            assert [p for p in base.rglob("*x.csv")] == []
            assert "x.csv" not in _text(preview)
        assert not Path("/tmp/attack-x.csv").exists()  # noqa: S108
        assert official.post(ROLL_CONFIRM, data=_confirm_form(_text(preview))).status_code == 302
        assert list(folder.iterdir()) == []
    assert _residents_with([r["身份证号"] for r in records]) == 3


# -- K: clock -----------------------------------------------------------------------------------


@attack("K3", "clock", "phone code at TTL-1 s accepted; at TTL and TTL+1 s refused")
def k3(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    outbox = MemorySender()
    second = timedelta(seconds=1)
    t0 = datetime.now(UTC)

    def ask(at: datetime) -> tuple[int, str]:
        challenge = otp.request_code(
            ctx.round_id,
            voter.name,
            voter.id_number,
            voter.phone,
            pepper=PEPPER,
            sender=outbox,
            now=at,
        )
        return challenge, _code_to(outbox, voter.phone)

    late, late_code = ask(t0)
    before = ctx.counts()
    for when in (t0 + otp_rules.TTL, t0 + otp_rules.TTL + second):
        with pytest.raises(InvalidCode) as expired:
            otp.verify_code(late, late_code, pepper=PEPPER, now=when)
        assert expired.value.code == "otp_expired"
    assert db.session.get(OtpChallenge, late).attempts_left == otp_rules.MAX_ATTEMPTS
    _unchanged(ctx, before)
    t1 = t0 + otp_rules.TTL + 2 * second
    in_time, code = ask(t1)
    credential = otp.verify_code(in_time, code, pepper=PEPPER, now=t1 + otp_rules.TTL - second)
    assert credential.kind == "sms"
    receipt = voting.cast_ballot(credential, [ctx.candidate_ids[0]], now=t1 + otp_rules.TTL)
    ctx.receipts.append(receipt)


# -- P: privacy ------------------------------------------------------------------------------------


@attack("P1", "privacy", "all three channels run; no secret of any kind in the logs")
def p1(ctx: Ctx) -> None:
    by_code, by_phone, at_station = ctx.fresh_voter(), ctx.fresh_voter(), ctx.fresh_voter()
    stranger = _stranger(777)
    secrets_used = [stranger.id_number, stranger.phone]
    _response, receipt = ctx.vote_by_code(by_code.code, [ctx.candidate_ids[0]], ctx.client())
    assert receipt
    ctx.receipts.append(receipt)
    wrong_code = by_code.code[:-3] + ("000" if by_code.code[-3:] != "000" else "111")
    ctx.client(ip="192.0.2.90").get(f"/vote/c/{wrong_code}")
    secrets_used.append(wrong_code)
    with _sender(ctx) as outbox:
        client = ctx.client(ip="192.0.2.91")
        assert _ask(client, by_phone, ctx.round_id).status_code == 302
        code = _code_to(outbox, by_phone.phone)
        assert _enter(client, _wrong(code)).status_code == 422
        assert _enter(client, code).status_code == 302
        _response, receipt = _finish(client, ctx.round_id, [ctx.candidate_ids[1]])
        assert receipt
        ctx.receipts.append(receipt)
        secrets_used += [code, _wrong(code)]
        assert _ask(ctx.client(ip="192.0.2.92"), stranger, ctx.round_id).status_code == 302
    bad_id = at_station.id_number[:-1] + ("0" if at_station.id_number[-1] != "0" else "1")
    assert (
        _desk_look_up(ctx.client(ctx.world.station_staff), ctx.round_id, bad_id).status_code == 422
    )
    secrets_used.append(bad_id)
    _vote_at_station(ctx, at_station, f"P1-{_n():04d}")
    log = ctx.log.getvalue()
    assert "sms sent to" in log, "the log capture saw nothing of the phone channel"
    leaked = [s for s in secrets_used + ctx.secrets() if s in log]
    assert leaked == [], f"{len(leaked)} secrets in the logs"


# -- A: availability -------------------------------------------------------------------------------


@attack("A1", "availability", "40 residents vote at once through the code path")
def a1(ctx: Ctx) -> None:
    voters = [ctx.fresh_voter() for _ in range(40)]
    clients = [ctx.client(ip=f"10.200.{i // 200}.{i % 200 + 1}") for i in range(40)]
    before = ctx.counts()
    db.session.remove()

    def vote(i: int) -> tuple[int, str | None]:
        response, receipt = ctx.vote_by_code(voters[i].code, [ctx.candidate_ids[i % 5]], clients[i])
        return response.status_code, receipt

    results = race(len(voters), vote)
    errors = [r for r in results if not isinstance(r, tuple) or r[0] != 200 or not r[1]]
    receipts = [r[1] for r in results if isinstance(r, tuple) and r[1]]
    ctx.receipts += receipts
    assert errors == [], f"{len(errors)} of 40 legitimate residents failed: {errors[:3]}"
    assert len(set(receipts)) == 40
    participations, ballots, _head = ctx.counts()
    assert (participations, ballots) == (before[0] + 40, before[1] + 40)


@attack("A2", "availability", "a failure mid-cast leaves nothing; the resident then votes")
def a2(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    client = ctx.client()
    assert client.get(f"/vote/c/{voter.code}").status_code == 302
    path = f"/vote/{ctx.round_id}"
    token = csrf_token(client, f"{path}/ballot")
    client.post(f"{path}/ballot", data={"choices": [ctx.candidate_ids[0]], "csrf_token": token})
    token = csrf_token(client, f"{path}/review")
    before = ctx.counts()
    seen: list[int] = []

    store = voting._store

    def crash(*args: object, **kwargs: object) -> None:
        store(*args, **kwargs)  # the code claimed, participation and ballot written
        seen.append(_participations_of(voter.resident_id))  # inside the cast's transaction
        raise RuntimeError("injected failure after the writes, before the commit")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(voting, "_store", crash)
        patch.setitem(ctx.app.config, "PROPAGATE_EXCEPTIONS", False)  # the production 500
        failed = client.post(f"{path}/confirm", data={"csrf_token": token}, follow_redirects=True)
    assert seen == [1], "the failure was not injected after the writes"
    assert failed.status_code == 500, failed.status_code
    assert not RECEIPT_RE.search(_text(failed)), "a receipt was shown for a failed cast"
    _unchanged(ctx, before)
    assert _participations_of(voter.resident_id) == 0
    used = db.session.scalar(
        select(VotingCode.used_at).where(
            VotingCode.round_id == ctx.round_id, VotingCode.resident_id == voter.resident_id
        )
    )
    assert used is None, "the failed cast burned the voting code"
    retry = client.post(f"{path}/confirm", data={"csrf_token": token}, follow_redirects=True)
    receipt = RECEIPT_RE.search(_text(retry))
    assert retry.status_code == 200, retry.status_code
    assert receipt, "the resident could not vote after the failure"
    ctx.receipts.append(receipt.group(1).replace("-", ""))
    assert _participations_of(voter.resident_id) == 1


class _DownGateway:
    """An SMS gateway that is down: every send raises."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def send(self, phone: str, text: str) -> None:
        self.calls += 1
        raise self.error


@attack("A3", "availability", "SMS gateway down: same pages, nothing changes, station works")
def a3(ctx: Ctx) -> None:
    for n, error in enumerate((sms.SmsError("gateway down"), ConnectionRefusedError(111, "x"))):
        voter, stranger = ctx.fresh_voter(), _stranger(31337 + n)
        gateway = _DownGateway(error)
        before = ctx.counts()
        pages = []
        with _sender(ctx, gateway):
            for i, who in enumerate((voter, stranger)):
                client = ctx.client(ip=f"198.51.100.{140 + 2 * n + i}")
                asked = _ask(client, who, ctx.round_id)
                pages.append((asked.status_code, asked.headers.get("Location"), client))
            verify_pages = [c.get("/vote/phone/verify") for _s, _l, c in pages]
        assert gateway.calls == 1, gateway.calls  # tried the resident's phone, nobody else's
        assert [(s, loc) for s, loc, _c in pages] == [(302, "/vote/phone/verify")] * 2, pages
        on_roll, off_roll = (_without_csrf(_text(p)) for p in verify_pages)
        assert on_roll == off_roll, "the page tells whether the code could be sent"
        assert "请带身份证到联络站" in on_roll  # the in-person route is offered
        assert ctx.world.station.name in on_roll
        _unchanged(ctx, before)
        assert f"sms to ****{voter.phone[-4:]} failed" in ctx.log.getvalue()
        _vote_at_station(ctx, voter, f"A3-{_n():04d}")  # the in-person route still works
        channel = db.session.scalar(
            select(Participation.channel).where(Participation.resident_id == voter.resident_id)
        )
        assert channel == "station"
