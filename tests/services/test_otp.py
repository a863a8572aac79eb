"""Phone codes as transactions: roll matching, caps from the database, atomic attempts,
and the races, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import World
from tests.phone_roll import PEPPER, Person, enrol, stranger
from voting.domain import identity
from voting.domain import otp as rules
from voting.domain.errors import AlreadyVoted, InvalidCode, InvalidInput, RoundNotOpen
from voting.domain.otp import SendRefused
from voting.extensions import db
from voting.models import AuditEvent, Ballot, OtpChallenge, Participation, Resident
from voting.services import otp as otp_service
from voting.services import rounds, voting
from voting.services.sms import MemorySender

SECOND = timedelta(seconds=1)


@dataclass
class Setup:
    world: World
    round_id: int
    person: Person
    outbox: MemorySender
    now: datetime

    def request(self, who: Person | None = None, *, at: datetime | None = None, **kw) -> int:  # type: ignore[no-untyped-def]
        who = who or self.person
        return otp_service.request_code(
            kw.pop("round_id", self.round_id),
            kw.pop("name", who.name),
            kw.pop("id_number", who.id_number),
            kw.pop("phone", who.phone),
            pepper=PEPPER,
            sender=self.outbox,
            now=at or self.now,
            **kw,
        )

    def verify(self, challenge_id: int, code: str, *, at: datetime | None = None):  # type: ignore[no-untyped-def]
        return otp_service.verify_code(challenge_id, code, pepper=PEPPER, now=at or self.now)

    def last_code(self) -> str:
        return sent_code(self.outbox.messages[-1][1])


def sent_code(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match, text
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def setup(app, now) -> Setup:  # type: ignore[no-untyped-def]
    world = World(candidates=3)
    round_id = world.open_round(now)
    return Setup(world, round_id, enrol(world, seed=1), MemorySender(), now)


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def challenge(challenge_id: int) -> OtpChallenge:
    db.session.expire_all()
    row = db.session.get(OtpChallenge, challenge_id)
    assert row is not None
    return row


# --- requesting ---------------------------------------------------------------------------


def test_request_code_on_roll_sends_six_digits_to_the_typed_phone(setup):
    challenge_id = setup.request()

    assert len(setup.outbox.messages) == 1
    phone, text = setup.outbox.messages[0]
    assert phone == setup.person.phone
    code = sent_code(text)
    row = challenge(challenge_id)
    assert row.resident_id == setup.person.resident_id
    assert row.round_id == setup.round_id
    assert row.attempts_left == rules.MAX_ATTEMPTS == 5
    assert row.expires_at == setup.now + timedelta(minutes=5)
    assert row.consumed_at is None
    assert code not in row.code_hash


def test_request_code_phone_spelling_normalized_before_sending(setup):
    p = setup.person.phone
    setup.request(phone=f"+86 {p[:3]}-{p[3:7]}-{p[7:]}")
    assert setup.outbox.messages[0][0] == p


def test_request_code_off_roll_writes_a_challenge_sends_nothing(setup):
    challenge_id = setup.request(stranger(9))

    assert setup.outbox.messages == []
    row = challenge(challenge_id)
    assert row.resident_id is None
    assert row.attempts_left == 5
    assert row.expires_at == setup.now + rules.TTL


@pytest.mark.parametrize(
    "mismatch",
    ["name", "phone", "id_number", "moved_out", "community_outside_scope"],
)
def test_request_code_any_mismatch_behaves_as_off_roll(app, now, mismatch):
    world = World(candidates=3)
    round_id = world.open_round(now, community_ids=(world.communities[0].id,))
    person = enrol(world, seed=3, community=1 if mismatch == "community_outside_scope" else 0)
    other = stranger(4)
    typed = {
        "name": {"name": "王晓明"},
        "phone": {"phone": other.phone},
        "id_number": {"id_number": other.id_number},
    }.get(mismatch, {})
    if mismatch == "moved_out":
        db.session.get(Resident, person.resident_id).status = "moved_out"
        db.session.commit()
    outbox = MemorySender()
    setup = Setup(world, round_id, person, outbox, now)

    challenge_id = setup.request(**typed)

    assert outbox.messages == []
    assert challenge(challenge_id).resident_id is None


def test_request_code_name_spaces_ignored(setup):
    challenge_id = setup.request(name=" 王 小明 ")
    assert challenge(challenge_id).resident_id == setup.person.resident_id
    assert len(setup.outbox.messages) == 1


def test_request_code_bad_shapes_listed_per_field_nothing_written(setup):
    with pytest.raises(InvalidInput) as caught:
        setup.request(name=" ", id_number="330102194013010011", phone="12345")
    problems = caught.value.params["problems"]
    assert [field for _, field in problems] == ["name", "id_number", "phone"]
    assert problems[0][0] == "name_missing"
    assert problems[1][0] == "id_birth_date"
    assert problems[2][0] == "phone_format"
    assert count(OtpChallenge) == 0


def test_request_code_checksum_error_uses_existing_code(setup):
    number = setup.person.id_number
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as caught:
        setup.request(id_number=bad)
    assert caught.value.code == "id_checksum"


@pytest.mark.parametrize(("offset", "phase"), [(-2, "not_started"), (14, "ended")])
def test_request_code_outside_window_round_not_open(setup, offset, phase):
    with pytest.raises(RoundNotOpen) as caught:
        setup.request(at=setup.now + timedelta(days=offset))
    assert caught.value.params["phase"] == phase
    assert count(OtpChallenge) == 0


def test_request_code_closed_round_refused(setup):
    rounds.close_round(setup.world.official, setup.round_id, reason="测试提前结束", now=setup.now)
    with pytest.raises(RoundNotOpen):
        setup.request()


# --- cool-down and caps -------------------------------------------------------------------


@pytest.mark.parametrize("on_roll", [True, False], ids=["on-roll", "off-roll"])
def test_request_code_resend_before_60s_refused_with_wait(setup, on_roll):
    who = setup.person if on_roll else stranger(5)
    setup.request(who)

    with pytest.raises(SendRefused) as caught:
        setup.request(who, at=setup.now + 45 * SECOND)
    assert (caught.value.code, caught.value.params) == ("otp_cooldown", {"seconds": 15})
    setup.request(who, at=setup.now + 60 * SECOND)
    assert count(OtpChallenge) == 2


@pytest.mark.parametrize("on_roll", [True, False], ids=["on-roll", "off-roll"])
def test_request_code_sixth_send_in_a_day_refused(setup, on_roll):
    who = setup.person if on_roll else stranger(6)
    for i in range(5):
        setup.request(who, at=setup.now + i * 2 * timedelta(hours=1))

    with pytest.raises(SendRefused) as caught:
        setup.request(who, at=setup.now + 12 * timedelta(hours=1))
    assert caught.value.code == "otp_daily_cap"
    assert count(OtpChallenge) == 5
    # 24 hours after the first send, one slot is free again.
    setup.request(who, at=setup.now + 24 * timedelta(hours=1) + SECOND)
    assert count(OtpChallenge) == 6


def test_request_code_caps_count_off_roll_requests_for_an_on_roll_phone(setup):
    """A wrong name typed with a resident's phone counts against that phone: the caps must
    not differ between on- and off-roll, or they would tell who is on the roll."""
    setup.request(name="别人")
    with pytest.raises(SendRefused) as caught:
        setup.request(at=setup.now + 30 * SECOND)
    assert caught.value.code == "otp_cooldown"


def test_request_code_global_cap_refuses_and_audits_counts_once(setup, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHONE_CODE_GLOBAL_PER_HOUR", 3)
    for seed in range(3):
        setup.request(stranger(100 + seed))

    for seed in range(2):
        with pytest.raises(SendRefused) as caught:
            setup.request(stranger(200 + seed), at=setup.now + SECOND)
        assert caught.value.code == "otp_busy"

    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == otp_service.GLOBAL_CAP_ACTION)
    ).all()
    assert len(events) == 1
    assert events[0].payload == '{"cap":3,"sent_last_hour":3}'
    assert count(OtpChallenge) == 3
    setup.request(stranger(300), at=setup.now + timedelta(hours=1))


def test_request_code_new_code_kills_the_previous_one(setup):
    first = setup.request()
    old_code = setup.last_code()
    second = setup.request(at=setup.now + 61 * SECOND)
    new_code = setup.last_code()

    with pytest.raises(InvalidCode) as caught:
        setup.verify(first, old_code, at=setup.now + 62 * SECOND)
    assert caught.value.code == "otp_expired"
    if new_code != old_code:
        with pytest.raises(InvalidCode):
            setup.verify(second, old_code, at=setup.now + 62 * SECOND)
    assert setup.verify(second, new_code, at=setup.now + 63 * SECOND).kind == "sms"


def test_request_code_parallel_requests_one_phone_one_sms(app, setup):
    """C4: ten requests for one phone at the same moment send one code."""
    db.session.remove()
    threads_n = 10
    barrier = threading.Barrier(threads_n)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                setup.request()
                result = "sent"
            except SendRefused as err:
                result = err.code
            finally:
                db.session.remove()
            with lock:
                outcomes[result] += 1

    run_threads(attempt, threads_n)

    assert outcomes == Counter({"sent": 1, "otp_cooldown": threads_n - 1})
    assert len(setup.outbox.messages) == 1
    assert count(OtpChallenge) == 1


def test_resend_code_same_person_new_code_old_dies(setup):
    first = setup.request()
    old_code = setup.last_code()
    second = otp_service.resend_code(
        first, setup.person.phone, pepper=PEPPER, sender=setup.outbox, now=setup.now + 61 * SECOND
    )
    assert second != first
    assert len(setup.outbox.messages) == 2
    assert challenge(second).resident_id == setup.person.resident_id
    with pytest.raises(InvalidCode):
        setup.verify(first, old_code, at=setup.now + 62 * SECOND)
    assert setup.verify(second, setup.last_code(), at=setup.now + 62 * SECOND)


def test_resend_code_off_roll_sends_nothing(setup):
    first = setup.request(stranger(7))
    second = otp_service.resend_code(
        first, stranger(7).phone, pepper=PEPPER, sender=setup.outbox, now=setup.now + 61 * SECOND
    )
    assert setup.outbox.messages == []
    assert challenge(second).resident_id is None


def test_resend_code_before_cooldown_refused(setup):
    first = setup.request()
    with pytest.raises(SendRefused) as caught:
        otp_service.resend_code(
            first, setup.person.phone, pepper=PEPPER, sender=setup.outbox, now=setup.now
        )
    assert caught.value.params == {"seconds": 60}


def test_resend_code_other_phone_refused(setup):
    first = setup.request()
    with pytest.raises(InvalidCode):
        otp_service.resend_code(
            first,
            stranger(8).phone,
            pepper=PEPPER,
            sender=setup.outbox,
            now=setup.now + 61 * SECOND,
        )
    assert len(setup.outbox.messages) == 1


# --- verifying ----------------------------------------------------------------------------


def test_verify_code_right_code_consumes_and_casts_as_sms(setup):
    challenge_id = setup.request()
    credential = setup.verify(challenge_id, setup.last_code())

    assert credential == voting.Credential(setup.round_id, "sms", challenge_id)
    assert challenge(challenge_id).consumed_at == setup.now
    receipt = voting.cast_ballot(credential, [setup.world.candidates[0].id], now=setup.now)
    assert receipt
    participation = db.session.scalar(select(Participation))
    assert participation.channel == "sms"
    assert participation.resident_id == setup.person.resident_id


def test_verify_code_typed_with_spaces_and_full_width_accepted(setup):
    challenge_id = setup.request()
    code = setup.last_code()
    typed = " ".join(chr(ord(c) + 0xFEE0) for c in code)  # full-width digits, spaced
    assert setup.verify(challenge_id, typed).kind == "sms"


def test_verify_code_wrong_counts_down_then_dead_even_for_right_code(setup):
    challenge_id = setup.request()
    code = setup.last_code()
    left = []
    for _ in range(4):
        with pytest.raises(InvalidCode) as caught:
            setup.verify(challenge_id, wrong(code))
        assert caught.value.code == "otp_wrong"
        left.append(caught.value.params["attempts_left"])
    with pytest.raises(InvalidCode) as fifth:
        setup.verify(challenge_id, wrong(code))

    with pytest.raises(InvalidCode) as sixth:
        setup.verify(challenge_id, code)

    assert left == [4, 3, 2, 1]
    assert fifth.value.code == "otp_exhausted"
    assert sixth.value.code == "otp_exhausted"
    assert challenge(challenge_id).attempts_left == 0
    assert challenge(challenge_id).consumed_at is None


def test_verify_code_format_error_spends_no_attempt(setup):
    challenge_id = setup.request()
    with pytest.raises(InvalidCode) as caught:
        setup.verify(challenge_id, "12345")
    assert caught.value.code == "otp_format"
    assert challenge(challenge_id).attempts_left == 5


@pytest.mark.parametrize(
    ("after", "accepted"),
    [(rules.TTL - SECOND, True), (rules.TTL, False), (rules.TTL + SECOND, False)],
    ids=["ttl-1s", "ttl", "ttl+1s"],
)
def test_verify_code_at_ttl_boundary(setup, after, accepted):
    challenge_id = setup.request()
    code = setup.last_code()
    if accepted:
        assert setup.verify(challenge_id, code, at=setup.now + after).kind == "sms"
        return
    with pytest.raises(InvalidCode) as caught:
        setup.verify(challenge_id, code, at=setup.now + after)
    assert caught.value.code == "otp_expired"
    assert challenge(challenge_id).attempts_left == 5  # an expired code takes no attempts


def test_verify_code_off_roll_never_matches_even_the_drawn_code(setup):
    challenge_id = setup.request(stranger(10), rng=random.Random(42))
    drawn = rules.generate_code(random.Random(42))  # what the request drew and hashed

    with pytest.raises(InvalidCode) as caught:
        setup.verify(challenge_id, drawn)
    assert (caught.value.code, caught.value.params) == ("otp_wrong", {"attempts_left": 4})


def test_verify_code_used_twice_refused(setup):
    challenge_id = setup.request()
    code = setup.last_code()
    setup.verify(challenge_id, code)
    with pytest.raises(InvalidCode) as caught:
        setup.verify(challenge_id, code)
    assert caught.value.code == "otp_used"


def test_verify_code_unknown_challenge_expired(setup):
    with pytest.raises(InvalidCode) as caught:
        setup.verify(987654, "123456")
    assert caught.value.code == "otp_expired"


def test_verify_code_round_closed_meanwhile_refused(setup):
    challenge_id = setup.request()
    rounds.close_round(setup.world.official, setup.round_id, reason="测试提前结束", now=setup.now)
    with pytest.raises(RoundNotOpen):
        setup.verify(challenge_id, setup.last_code())


def test_voted_by_code_then_phone_told_when_and_code_channel(setup):
    codes = setup.world.issue_codes(setup.round_id)
    slips_code = codes[-1]  # the resident enrolled by the fixture got the only code
    login = voting.login_with_code(slips_code, pepper=PEPPER, now=setup.now)
    voting.cast_ballot(login, [setup.world.candidates[0].id], now=setup.now)

    challenge_id = setup.request(at=setup.now + timedelta(hours=1))
    assert len(setup.outbox.messages) == 1  # the request does not reveal it
    with pytest.raises(AlreadyVoted) as caught:
        setup.verify(challenge_id, setup.last_code(), at=setup.now + timedelta(hours=1))

    assert caught.value.params["channel"] == "code"
    assert caught.value.params["voted_at"] == setup.now.replace(second=0, microsecond=0)


def test_voted_by_phone_then_code_told_when_and_sms_channel(setup):
    codes = setup.world.issue_codes(setup.round_id)
    challenge_id = setup.request()
    credential = setup.verify(challenge_id, setup.last_code())
    voting.cast_ballot(credential, [setup.world.candidates[1].id], now=setup.now)

    with pytest.raises(AlreadyVoted) as caught:
        voting.login_with_code(codes[-1], pepper=PEPPER, now=setup.now)

    assert caught.value.params["channel"] == "sms"
    assert caught.value.params["voted_at"] == setup.now.replace(second=0, microsecond=0)


def test_verify_code_after_voting_with_it_already_voted(setup):
    challenge_id = setup.request()
    code = setup.last_code()
    credential = setup.verify(challenge_id, code)
    voting.cast_ballot(credential, [setup.world.candidates[0].id], now=setup.now)
    with pytest.raises(AlreadyVoted):
        setup.verify(challenge_id, code)


def test_code_never_stored_in_clear(setup):
    sent = []
    for i, who in enumerate([setup.person, stranger(11), stranger(12)]):
        setup.request(who, at=setup.now + i * SECOND)
        if who is setup.person:
            sent.append(setup.last_code())
    challenge_id = setup.request(at=setup.now + 61 * SECOND)
    sent.append(setup.last_code())
    setup.verify(challenge_id, sent[-1], at=setup.now + 62 * SECOND)

    db.session.expire_all()
    rows = db.session.execute(select(OtpChallenge.__table__)).all()
    cells = [str(cell) for row in rows for cell in row]
    assert len(rows) == 4
    assert not [c for c in cells for code in sent if code in c]
    assert not [c for c in cells if setup.person.phone in c or setup.person.id_number in c]


# --- races --------------------------------------------------------------------------------


def run_threads(target, n: int) -> None:  # type: ignore[no-untyped-def]
    threads = [threading.Thread(target=target) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)


def test_verify_code_50_parallel_wrong_guesses_at_most_5_compared(app, setup, monkeypatch):
    challenge_id = setup.request()
    code = setup.last_code()
    db.session.remove()
    compared = Counter[str]()
    lock = threading.Lock()
    real_matches = otp_service._matches

    def counting_matches(row, typed, pepper):  # type: ignore[no-untyped-def]
        with lock:
            compared["n"] += 1
        return real_matches(row, typed, pepper)

    monkeypatch.setattr(otp_service, "_matches", counting_matches)
    threads_n = 50
    barrier = threading.Barrier(threads_n)
    outcomes: Counter[str] = Counter()

    def guess() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                setup.verify(challenge_id, wrong(code))
                result = "accepted"
            except InvalidCode as err:
                result = err.code
            finally:
                db.session.remove()
            with lock:
                outcomes[result] += 1

    run_threads(guess, threads_n)

    assert compared["n"] == 5
    assert outcomes["accepted"] == 0
    assert outcomes["otp_wrong"] == 4
    assert outcomes["otp_exhausted"] == threads_n - 4
    assert challenge(challenge_id).attempts_left == 0
    with pytest.raises(InvalidCode) as caught:
        setup.verify(challenge_id, code)  # the right code is dead too
    assert caught.value.code == "otp_exhausted"


def test_cast_ballot_20_threads_different_sms_credentials_same_resident_one_ballot(app, setup):
    """C2: twenty verified phone codes for one resident, cast at once: one ballot."""
    threads_n = 20
    credentials = []
    for i in range(threads_n):
        code = f"{i:06d}"
        phone_key = identity.phone_hmac(PEPPER, setup.person.phone)
        row = OtpChallenge(
            round_id=setup.round_id,
            resident_id=setup.person.resident_id,
            phone_hmac=phone_key,
            code_hash=rules.code_hash(PEPPER, code, round_id=setup.round_id, phone_hmac=phone_key),
            created_at=setup.now,
            expires_at=setup.now + rules.TTL,
            attempts_left=5,
        )
        db.session.add(row)
        db.session.commit()
        credentials.append(setup.verify(row.id, code))
    assert len({c.id for c in credentials}) == threads_n
    choice = setup.world.candidates[0].id
    db.session.remove()
    barrier = threading.Barrier(threads_n)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def cast(credential: voting.Credential) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                voting.cast_ballot(credential, [choice], now=setup.now)
                result = "cast"
            except AlreadyVoted:
                result = "already_voted"
            finally:
                db.session.remove()
            with lock:
                outcomes[result] += 1

    threads = [threading.Thread(target=cast, args=(c,)) for c in credentials]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert outcomes == Counter({"cast": 1, "already_voted": threads_n - 1})
    assert count(Participation) == 1
    assert count(Ballot) == 1
