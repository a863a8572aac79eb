"""Attack cases on the code channel, the web layer, the database and the staff pages.

Each case raises AssertionError if the attack succeeded. "Refused" means a 4xx (or a form
error), and no change to participations, ballots or the audit head.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from tests.conftest import TEST_PEPPER, csrf_token
from tests.security.harness import RECEIPT_RE, Ctx, attack, race, sql
from voting.domain import identity
from voting.domain.errors import AlreadyVoted, BallotRuleViolation, Conflict, RoundNotOpen
from voting.extensions import db
from voting.models import AuditEvent, Ballot, Candidate, VotingRound
from voting.services import audit, rounds, voting

_counter = iter(range(1_000_000))


def _n() -> int:
    return next(_counter)


def _unchanged(ctx: Ctx, before: tuple[int, int, str]) -> None:
    assert ctx.counts() == before, f"state changed: {before} -> {ctx.counts()}"


def _ballot_post(ctx: Ctx, choices: object, *, client=None):  # type: ignore[no-untyped-def]
    """Log a fresh voter in and POST ``choices`` to the ballot; return (client, response)."""
    voter = ctx.fresh_voter()
    client = client or ctx.client()
    client.get(f"/vote/c/{voter.code}")
    path = f"/vote/{ctx.round_id}/ballot"
    token = csrf_token(client, path)
    return client, client.post(path, data={"choices": choices, "csrf_token": token})


def _refused_ballot(ctx: Ctx, choices: object) -> None:
    before = ctx.counts()
    _client, response = _ballot_post(ctx, choices)
    assert response.status_code in (400, 422), response.status_code
    _unchanged(ctx, before)


# -- B: bad input ----------------------------------------------------------------------


@attack("B1", "bad input", "choice id of a candidate from another round")
def b1(ctx: Ctx) -> None:
    other = db.session.scalar(select(Candidate.id).where(Candidate.id.not_in(ctx.candidate_ids)))
    _refused_ballot(ctx, [other or 999_999])


@attack("B2", "bad input", "same project twice in one ballot")
def b2(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    login = voting.login_with_code(voter.code, pepper=TEST_PEPPER.encode())
    before = ctx.counts()
    with pytest.raises(BallotRuleViolation) as refused:
        voting.cast_ballot(login, [ctx.candidate_ids[0]] * 2)
    assert refused.value.code == "duplicate_choice"
    _unchanged(ctx, before)


@attack("B3", "bad input", "more than max_choices; zero choices")
def b3(ctx: Ctx) -> None:
    _refused_ballot(ctx, ctx.candidate_ids[:4])
    _refused_ballot(ctx, [])


@attack("B4", "bad input", "non-integer, negative, 2^63 and junk ids")
def b4(ctx: Ctx) -> None:
    for junk in (["abc"], ["-1"], [str(2**63)], ["1.5"], ["1;DROP TABLE ballot"]):
        _refused_ballot(ctx, junk)


@attack("B5", "bad input", "ID numbers: wrong check digit, 15 digits; spellings hash alike")
def b5(ctx: Ctx) -> None:
    voter = ctx.voters[0]
    number = voter.id_number
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert identity.id_number_problem(wrong) == "id_checksum"
    assert identity.id_number_problem(number[:15]) == "id_length"
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number.lower())
    spaced = " ".join([number[:6], number[6:14], number[14:]])
    key = TEST_PEPPER.encode()
    assert identity.id_hmac(key, full_width) == identity.id_hmac(key, number)
    assert identity.id_hmac(key, spaced) == identity.id_hmac(key, number)


@attack("B6", "bad input", "phone spellings normalise to one key")
def b6(ctx: Ctx) -> None:
    phone, key = ctx.voters[0].phone, TEST_PEPPER.encode()
    spellings = [
        f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}",
        f"0086{phone}",
        f"{phone[:3]} {phone[3:]}",
    ]
    assert {identity.phone_hmac(key, s) for s in spellings} == {identity.phone_hmac(key, phone)}


@attack("B7", "bad input", "RTL override, zero-width and 10,000-character title")
def b7(ctx: Ctx) -> None:
    client = ctx.client(ctx.world.station_staff)
    token = csrf_token(client, "/station/candidates/new")
    before = db.session.scalar(select(func.count()).select_from(Candidate))
    response = client.post(
        "/station/candidates/new",
        data={
            "csrf_token": token,
            "title": "\u202e" + "长" * 10_000,
            "description": "x\u200b",
            "category": "其他",
            "community_id": ctx.world.communities[0].id,
            "location": "x",
            "cost_yuan": "1",
            "source": "online",
            "raised_by": "0",
        },
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == before


# -- C: concurrency ----------------------------------------------------------------------


@attack("C1", "concurrency", "one code, 20 parallel casts")
def c1(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    login = voting.login_with_code(voter.code, pepper=TEST_PEPPER.encode())
    db.session.remove()

    def cast(_i: int) -> str:
        with ctx.app.app_context():
            try:
                return voting.cast_ballot(login, [ctx.candidate_ids[1]])
            finally:
                db.session.remove()

    results = race(20, cast)
    receipts = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, AlreadyVoted)]
    assert len(receipts) == 1, results
    assert len(refused) == 19, results
    ctx.receipts += receipts


@attack("C5", "concurrency", "casts racing with close: none accepted and uncounted")
def c5(ctx: Ctx) -> None:
    from tests.factories import World

    world = World(candidates=3, street=f"另一街道{ctx.round_id}{_n()}")
    now = datetime.now(UTC)
    round_id = world.open_round(now)
    world.residents(10, seed=91)
    codes = world.issue_codes(round_id, seed=92)
    logins = [voting.login_with_code(c, pepper=TEST_PEPPER.encode()) for c in codes]
    choice, official_id = world.candidates[0].id, world.official.id
    db.session.remove()

    def act(i: int) -> object:
        with ctx.app.app_context():
            try:
                if i == len(logins):
                    official = db.session.get(type(world.official), official_id)
                    return rounds.close_round(official, round_id, reason="并发测试")
                return voting.cast_ballot(logins[i], [choice])
            finally:
                db.session.remove()

    results = race(len(logins) + 1, act)
    receipts = [r for r in results if isinstance(r, str)]
    assert all(isinstance(r, str | RoundNotOpen) for r in results[:-1]), results
    counted = db.session.scalar(select(VotingRound.ballot_count).where(VotingRound.id == round_id))
    assert counted == len(receipts), (counted, len(receipts))


@attack("C6", "concurrency", "parallel audit appends do not fork the chain")
def c6(ctx: Ctx) -> None:
    db.session.remove()

    def append(i: int) -> None:
        with ctx.app.app_context():
            from voting.services._tx import begin_write, commit

            for _ in range(3):
                begin_write()
                audit.record("attacker", "test.append", ("test", i), now=datetime.now(UTC))
                with contextlib.suppress(Conflict):  # a lost race must not fork the chain
                    commit()
            db.session.remove()

    race(8, append)
    seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert seqs == list(range(1, len(seqs) + 1))
    assert audit.verify_chain()[1] is None


# -- R: replay -----------------------------------------------------------------------------


@attack("R1", "replay", "re-POST a successful cast")
def r1(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    client = ctx.client()
    _response, receipt = ctx.vote_by_code(voter.code, [ctx.candidate_ids[0]], client)
    assert receipt
    ctx.receipts.append(receipt)
    before = ctx.counts()
    token = csrf_token(client, "/vote/")
    again = client.post(f"/vote/{ctx.round_id}/confirm", data={"csrf_token": token})
    assert again.status_code in (302, 401, 409)
    again_code = client.get(f"/vote/c/{voter.code}")
    assert again_code.status_code == 409
    _unchanged(ctx, before)


@attack("R4", "replay", "a voter session copied to another browser casts nothing more")
def r4(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    owner = ctx.client()
    owner.get(f"/vote/c/{voter.code}")
    path = f"/vote/{ctx.round_id}"
    token = csrf_token(owner, f"{path}/ballot")
    owner.post(f"{path}/ballot", data={"choices": [ctx.candidate_ids[0]], "csrf_token": token})
    thief = ctx.client()
    thief.set_cookie("session", owner.get_cookie("session").value)
    token = csrf_token(owner, f"{path}/review")
    done = owner.post(f"{path}/confirm", data={"csrf_token": token}, follow_redirects=True)
    receipt = RECEIPT_RE.search(done.get_data(as_text=True))
    assert receipt
    ctx.receipts.append(receipt.group(1).replace("-", ""))
    before = ctx.counts()
    token = csrf_token(thief, f"{path}/review")
    stolen = thief.post(f"{path}/confirm", data={"csrf_token": token}, follow_redirects=True)
    # The copy is the owner's session, double-tap handling included: it ends on the owner's
    # receipt (already readable in the copied cookie, and it says nothing of the choices).
    shown = RECEIPT_RE.search(stolen.get_data(as_text=True))
    assert shown, stolen.status_code
    assert shown.group(1) == receipt.group(1)
    _unchanged(ctx, before)


@attack("R6", "replay", "old staff session cookie after logout")
def r6(ctx: Ctx) -> None:
    client = ctx.client()
    token = csrf_token(client, "/staff/login")
    client.post(
        "/staff/login",
        data={
            "csrf_token": token,
            "username": ctx.world.official.username,
            "password": "correct-horse-battery",
        },
    )
    assert client.get("/official/").status_code == 200
    cookie = client.get_cookie("session")
    token = csrf_token(client, "/official/")
    client.post("/staff/logout", data={"csrf_token": token})
    thief = ctx.client()
    thief.set_cookie("session", cookie.value)
    # Logging out does not revoke a copied client-side cookie by itself; changing the
    # account's session nonce does (done on password change or "log out everywhere").
    from voting.models import StaffUser

    user = db.session.get(StaffUser, ctx.world.official.id)
    user.session_nonce = "rotated"
    db.session.commit()
    assert thief.get("/official/").status_code == 302


@attack("R7", "replay", "tampered session cookie")
def r7(ctx: Ctx) -> None:
    client = ctx.client()
    voter = ctx.fresh_voter()
    client.get(f"/vote/c/{voter.code}")
    cookie = client.get_cookie("session").value
    client.set_cookie("session", cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    response = client.get(f"/vote/{ctx.round_id}/ballot")
    assert response.status_code == 401


# -- X: CSRF and framing ---------------------------------------------------------------------


@attack("X1", "csrf", "cross-site POSTs without a token to cast, close, finalize, logout")
def x1(ctx: Ctx) -> None:
    official = ctx.client(ctx.world.official)
    before = ctx.counts()
    for path in (
        f"/vote/{ctx.round_id}/confirm",
        f"/official/rounds/{ctx.round_id}/close",
        f"/council/rounds/{ctx.round_id}/approve",
        "/staff/logout",
    ):
        assert official.post(path, data={"reason": "x"}).status_code == 400, path
    _unchanged(ctx, before)


@attack("X2", "csrf", "a valid token from another session")
def x2(ctx: Ctx) -> None:
    attacker = ctx.client()
    token = csrf_token(attacker, "/vote/")
    victim = ctx.client(ctx.world.official)
    response = victim.post(
        f"/official/rounds/{ctx.round_id}/close", data={"csrf_token": token, "reason": "x"}
    )
    assert response.status_code == 400
    assert db.session.get(VotingRound, ctx.round_id).status == "open"


@attack("X3", "csrf", "text/plain simple request to a state-changing endpoint")
def x3(ctx: Ctx) -> None:
    response = ctx.client(ctx.world.official).post(
        f"/official/rounds/{ctx.round_id}/close", data="reason=x", content_type="text/plain"
    )
    assert response.status_code == 400


@attack("X4", "clickjacking", "ballot page may not be framed")
def x4(ctx: Ctx) -> None:
    response = ctx.client().get("/vote/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


# -- F: brute force ----------------------------------------------------------------------------


def _wrong_code(i: int) -> str:
    from voting.domain.codes import check_digit

    body = f"{90000000000 + i:011d}"
    return body + check_digit(body)


@attack("F2", "brute force", "rotating X-Forwarded-For does not reset per-IP limits")
def f2(ctx: Ctx) -> None:
    client = ctx.client()
    limit = int(ctx.app.config["CODE_FAILURE_LIMIT_PER_IP"].split()[0])
    statuses = [
        client.get(
            f"/vote/c/{_wrong_code(i)}", headers={"X-Forwarded-For": f"10.0.0.{i}"}
        ).status_code
        for i in range(limit + 3)
    ]
    assert statuses[:limit] == [422] * limit
    assert statuses[limit:] == [429] * 3


@attack("F3", "brute force", "method, query and encoding variants share one limit")
def f3(ctx: Ctx) -> None:
    client = ctx.client()
    limit = int(ctx.app.config["CODE_FAILURE_LIMIT_PER_IP"].split()[0])
    for i in range(limit):
        assert client.get(f"/vote/c/{_wrong_code(i)}").status_code == 422
    code = _wrong_code(limit)
    variants = [
        client.get(f"/vote/c/{code}?utm=1"),
        client.get("/vote/c/%" + f"{ord(code[0]):X}" + code[1:]),
        client.head(f"/vote/c/{code}"),
    ]
    form = csrf_token(client, "/vote/")
    variants.append(client.post("/vote/", data={"csrf_token": form, "code": code}))
    statuses = [r.status_code for r in variants]
    assert statuses == [429, 429, 429, 429], statuses
    assert client.get("/VOTE/c/1").status_code == 404  # no case-folded second route


@attack("F5", "brute force", "receipt guessing is rate-limited and tells nothing else")
def f5(ctx: Ctx) -> None:
    client = ctx.client(ip="198.51.100.5")
    path = f"/rounds/{ctx.round_id}/receipts"
    limit = int(ctx.app.config["RECEIPT_CHECK_LIMIT_PER_IP"].split()[0])
    token = csrf_token(client, path)
    statuses = [
        client.post(path, data={"csrf_token": token, "receipt": f"A{i:015d}"}).status_code
        for i in range(limit + 2)
    ]
    assert statuses == [200] * limit + [429, 429], statuses
    page = client.post(path, data={"csrf_token": token, "receipt": "A" * 16})
    assert "已找到" not in page.get_data(as_text=True)


# -- E: enumeration --------------------------------------------------------------------------


@attack("E2", "enumeration", "no sequential ballot or resident ids exposed")
def e2(ctx: Ctx) -> None:
    ids = db.session.scalars(select(Ballot.id).limit(5)).all()
    assert all(len(i) == 32 and not i.isdigit() for i in ids)
    assert ctx.client().get("/resident/1").status_code == 404
    assert ctx.client().get(f"/rounds/{ctx.round_id}/receipts?after=' OR 1=1--").status_code == 200


@attack("E4", "enumeration", "exports and the board carry no names, phones or ID numbers")
def e4(ctx: Ctx) -> None:
    ctx.legit_vote()
    export = ctx.client(ctx.world.official).get(f"/official/rounds/{ctx.round_id}/tally.csv")
    board = ctx.client().get(f"/rounds/{ctx.round_id}/receipts")
    body = export.get_data(as_text=True) + board.get_data(as_text=True)
    for voter in ctx.voters:
        assert voter.id_number not in body
        assert voter.phone not in body
        assert voter.name not in body


# -- T: tampering ---------------------------------------------------------------------------------


@attack("T1", "tampering", "cast before open and after close")
def t1(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    login = voting.login_with_code(voter.code, pepper=TEST_PEPPER.encode())
    rnd = db.session.get(VotingRound, ctx.round_id)
    for when in (rnd.opens_at - timedelta(seconds=1), rnd.closes_at):
        try:
            voting.cast_ballot(login, [ctx.candidate_ids[0]], now=when)
        except RoundNotOpen:
            continue
        raise AssertionError(f"cast accepted at {when}")


@attack("T2", "tampering", "edit the round or an accepted candidate after opening")
def t2(ctx: Ctx) -> None:
    official = ctx.client(ctx.world.official)
    token = csrf_token(official, f"/official/rounds/{ctx.round_id}")
    response = official.post(
        f"/official/rounds/{ctx.round_id}/edit",
        data={
            "csrf_token": token,
            "title": "改过的标题",
            "max_choices": "5",
            "min_choices": "1",
            "seats": "1",
            "opens_at": "2026-01-01T00:00",
            "closes_at": "2030-01-01T00:00",
            "community_ids": [c.id for c in ctx.world.communities],
            "candidate_ids": ctx.candidate_ids,
            "outcome_rule": "top_n",
        },
    )
    assert response.status_code == 409
    assert db.session.get(VotingRound, ctx.round_id).title != "改过的标题"
    station = ctx.client(ctx.world.station_staff)
    cid = ctx.candidate_ids[0]
    token = csrf_token(station, "/station/")
    edit = station.post(f"/station/candidates/{cid}/edit", data={"csrf_token": token, "title": "x"})
    assert edit.status_code in (409, 422)
    assert db.session.get(Candidate, cid).title != "x"


@attack("T3", "tampering", "reopen a closed round")
def t3(ctx: Ctx) -> None:
    from tests.factories import World

    world = World(candidates=3, street=f"另一街道{ctx.round_id}{_n()}")
    round_id = world.open_round(datetime.now(UTC))
    rounds.close_round(world.official, round_id, reason="测试")
    official = ctx.client(world.official)
    token = csrf_token(official, f"/official/rounds/{round_id}")
    response = official.post(f"/official/rounds/{round_id}/open", data={"csrf_token": token})
    assert response.status_code == 409
    assert db.session.get(VotingRound, round_id).status == "closed"


@attack("T4", "tampering", "direct SQL UPDATE/DELETE of ballots, participations, audit after close")
def t4(ctx: Ctx) -> None:
    from tests.factories import World

    world = World(candidates=3, street=f"另一街道{ctx.round_id}{_n()}")
    round_id = world.open_round(datetime.now(UTC))
    world.residents(2, seed=71)
    for code in world.issue_codes(round_id, seed=72):
        login = voting.login_with_code(code, pepper=TEST_PEPPER.encode())
        voting.cast_ballot(login, [world.candidates[0].id])
    rounds.close_round(world.official, round_id, reason="测试")
    for statement in (
        "UPDATE ballot_choice SET candidate_id = candidate_id WHERE round_id = :r",
        "DELETE FROM ballot WHERE round_id = :r",
        "DELETE FROM participation WHERE round_id = :r",
        "INSERT INTO ballot (id, round_id, receipt_hash, receipt_hint) VALUES ('x', :r, 'h', '')",
        "UPDATE audit_event SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
    ):
        try:
            sql(statement, r=round_id)
        except sa.exc.IntegrityError:
            continue
        raise AssertionError(f"database accepted: {statement}")


@attack("T5", "tampering", "delete an audit row behind the triggers' back")
def t5(ctx: Ctx) -> None:
    from voting.models.triggers import create_triggers, drop_triggers

    db.session.rollback()
    table = AuditEvent.__table__
    with db.engine.begin() as conn:
        saved = conn.execute(table.select().where(table.c.seq == 2)).mappings().one()
        drop_triggers(conn)
        conn.execute(table.delete().where(table.c.seq == 2))
    try:
        assert audit.verify_chain()[1] == 3  # the gap is found where the chain resumes
    finally:
        db.session.rollback()  # end the read snapshot that saw the gap
        with db.engine.begin() as conn:
            conn.execute(table.insert().values(**saved))
            create_triggers(conn)
    assert audit.verify_chain()[1] is None, audit.verify_chain()


@attack("T6", "tampering", "ballot stuffed without a participation row")
def t6(ctx: Ctx) -> None:
    before = ctx.violations()
    assert before == []
    sql(
        "INSERT INTO ballot (id, round_id, receipt_hash, receipt_hint)"
        " VALUES ('stuffedstuffedstuffedstuffed0000', :r, :h, 'STUFFED0')",
        r=ctx.round_id,
        h="f" * 64,
    )
    try:
        assert any("online participations" in v for v in ctx.violations())
    finally:
        sql("DELETE FROM ballot WHERE id = 'stuffedstuffedstuffedstuffed0000'")


@attack(
    "T7",
    "tampering",
    "station staff export the tally or act as council; one official alone finalizes",
)
def t7(ctx: Ctx) -> None:
    station = ctx.client(ctx.world.station_staff)
    assert station.get(f"/official/rounds/{ctx.round_id}/tally.csv").status_code == 403
    assert station.get(f"/council/rounds/{ctx.round_id}").status_code == 403
    official = ctx.client(ctx.world.official)
    token = csrf_token(official, "/official/")
    for step in ("request", "approve"):  # alone: no complete record, no second person
        response = official.post(
            f"/council/rounds/{ctx.round_id}/{step}", data={"csrf_token": token}
        )
        assert response.status_code in (403, 409, 422), response.status_code
    assert db.session.get(VotingRound, ctx.round_id).status != "finalized"


@attack("T10", "tampering", "change a sealed ballot before close")
def t10(ctx: Ctx) -> None:
    from voting.services import sealing

    for _ in range(3):
        ctx.legit_vote()
    db.session.rollback()
    from voting.services._tx import begin_write, commit

    begin_write()
    batch = sealing.seal_batch(ctx.round_id, now=datetime.now(UTC))
    commit()
    assert batch is not None
    original = sql(
        "SELECT ballot_id, candidate_id FROM ballot_choice WHERE round_id = :r LIMIT 1",
        r=ctx.round_id,
    ).first()
    sql(
        "UPDATE ballot_choice SET candidate_id = :c WHERE ballot_id = :b",
        c=ctx.candidate_ids[4],
        b=original.ballot_id,
    )
    try:
        assert batch in sealing.verify_batches(ctx.round_id)
    finally:
        sql(
            "UPDATE ballot_choice SET candidate_id = :c WHERE ballot_id = :b",
            c=original.candidate_id,
            b=original.ballot_id,
        )


# -- S/H: injection ---------------------------------------------------------------------------


@attack("S1", "sql injection", "payloads in code, receipt and paging parameters")
def s1(ctx: Ctx) -> None:
    client = ctx.client()
    before = ctx.counts()
    for payload in ("1' OR '1'='1", "1; DROP TABLE ballot;--", "' UNION SELECT * FROM resident--"):
        assert client.get(f"/vote/c/{payload}").status_code in (404, 422)
        assert (
            client.get(
                f"/rounds/{ctx.round_id}/receipts", query_string={"after": payload}
            ).status_code
            == 200
        )
    _unchanged(ctx, before)


@attack("H1", "xss", "script in a candidate title is shown as text")
def h1(ctx: Ctx) -> None:
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    cid = ctx.candidate_ids[2]
    sql("UPDATE candidate SET title = :t WHERE id = :c", t=payload, c=cid)
    page = ctx.client().get(f"/rounds/{ctx.round_id}").get_data(as_text=True)
    assert payload not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    csp = ctx.client().get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


@attack("H3", "csv injection", "formula in a title is neutralised in the CSV export")
def h3(ctx: Ctx) -> None:
    cid = ctx.candidate_ids[3]
    sql("UPDATE candidate SET title = :t WHERE id = :c", t='=HYPERLINK("http://x")', c=cid)
    body = (
        ctx.client(ctx.world.official)
        .get(f"/official/rounds/{ctx.round_id}/tally.csv")
        .get_data(as_text=True)
    )
    assert "'=HYPERLINK" in body
    assert ",=HYPERLINK" not in body


# -- U: uploads -------------------------------------------------------------------------------


@attack("U1", "uploads", "a body over MAX_CONTENT_LENGTH")
def u1(ctx: Ctx) -> None:
    limit = ctx.app.config["MAX_CONTENT_LENGTH"]
    response = ctx.client().post(
        "/vote/", data=b"x" * (limit + 1), content_type="application/octet-stream"
    )
    assert response.status_code == 413


# -- K: clock -----------------------------------------------------------------------------------


@attack("K1", "clock", "half-open window: opens_at accepted, closes_at refused")
def k1(ctx: Ctx) -> None:
    from voting.domain.lifecycle import RoundStatus, voting_phase

    rnd = db.session.get(VotingRound, ctx.round_id)
    o, c = rnd.opens_at, rnd.closes_at
    second = timedelta(seconds=1)
    phases = [voting_phase(RoundStatus.OPEN, o, c, t) for t in (o - second, o, c - second, c)]
    assert phases == ["not_started", "voting", "voting", "ended"], phases


@attack("K2", "clock", "logged in before close, cast after close")
def k2(ctx: Ctx) -> None:
    voter = ctx.fresh_voter()
    login = voting.login_with_code(voter.code, pepper=TEST_PEPPER.encode())
    rnd = db.session.get(VotingRound, ctx.round_id)
    try:
        voting.cast_ballot(login, [ctx.candidate_ids[0]], now=rnd.closes_at + timedelta(minutes=1))
    except RoundNotOpen:
        return
    raise AssertionError("cast accepted after close")


@attack("K4", "clock", "a window entered in Beijing time is stored as the right instant")
def k4(ctx: Ctx) -> None:
    from zoneinfo import ZoneInfo

    local_midnight = datetime(2027, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert local_midnight.astimezone(UTC) == datetime(2026, 12, 31, 16, tzinfo=UTC)


# -- P: privacy --------------------------------------------------------------------------------


@attack("P2", "privacy", "after close, no participation links to a ballot by xmin or order")
def p2(ctx: Ctx) -> None:
    from tests.factories import World

    world = World(candidates=3, street=f"另一街道{ctx.round_id}{_n()}")
    round_id = world.open_round(datetime.now(UTC))
    world.residents(12, seed=81)
    for code in world.issue_codes(round_id, seed=82):
        voting.cast_ballot(
            voting.login_with_code(code, pepper=TEST_PEPPER.encode()), [world.candidates[1].id]
        )
    rounds.close_round(world.official, round_id, reason="测试")
    if db.engine.dialect.name == "postgresql":
        linked = sql(
            "SELECT count(*) FROM participation p JOIN ballot b ON p.xmin::text = b.xmin::text"
            " WHERE p.round_id = :r",
            r=round_id,
        ).scalar()
        assert linked == 0
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("ballot")}
    assert not columns & {"resident_id", "participation_id", "created_at", "cast_at"}


@attack("P3", "privacy", "results before close are not public")
def p3(ctx: Ctx) -> None:
    assert ctx.client().get(f"/rounds/{ctx.round_id}/results").status_code == 403
    assert ctx.client().get(f"/rounds/{ctx.round_id}/notice").status_code == 404


@attack("P4", "privacy", "no per-ballot audit events; batches are sorted")
def p4(ctx: Ctx) -> None:
    ctx.legit_vote()
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert not {a for a in actions if a.startswith("ballot.") or a == "vote.cast"}


# -- D: development backdoors -----------------------------------------------------------------


@attack("D1", "dev backdoors", "no debug, test login or default secrets in production")
def d1(ctx: Ctx) -> None:
    import os

    from voting import create_app

    saved = {k: os.environ.pop(k, None) for k in ("FLASK_DEBUG", "SECRET_KEY", "ROLL_PEPPER")}
    try:
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    except RuntimeError:
        pass
    else:
        raise AssertionError("the app started with development secrets outside debug")
    finally:
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value
    assert not ctx.app.debug
    assert ctx.client().get("/staff/login?as=admin").status_code == 200
