"""Two-person finalization, the 公示, objections and their answers; races on both databases."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.closed_rounds import closed_round
from tests.council_records import council_input
from tests.factories import World, make_staff
from tests.phone_roll import PEPPER, enrol, stranger
from tests.services.test_otp import sent_code
from voting.domain.council import Ballots
from voting.domain.errors import Conflict, InvalidCode, InvalidInput, NotPermitted
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import (
    AuditEvent,
    CouncilNotice,
    Objection,
    OtpChallenge,
    StaffUser,
    VotingRound,
)
from voting.services import council, notice_period, objections, otp
from voting.services.sms import MemorySender

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(app):
    return World()


def _recorded(world, now):  # type: ignore[no-untyped-def]
    rnd = closed_round(world, now)
    ids = [e.candidate_id for e in rnd.entries]
    picked = {e.candidate_id for e in rnd.entries if e.rule_selected}
    at = now + timedelta(days=15)
    assert (
        council.save_record(world.clerk, rnd.id, council_input(ids, selected=picked), now=at) == []
    )
    return rnd.id, at


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_record_ballots_beyond_present_refused_before_writing(world, now):
    rnd = closed_round(world, now)
    ids = [e.candidate_id for e in rnd.entries]
    data = council_input(ids, selected=ids[:2], ballots=Ballots(26, 25, 25))
    with pytest.raises(InvalidInput) as exc:
        council.save_record(world.clerk, rnd.id, data, now=now)
    assert ("ballots_issued_range", None) in exc.value.params["problems"]
    assert db.session.get(VotingRound, rnd.id).council is None


def test_official_of_other_street_cannot_record(world, now):
    rnd = closed_round(world, now)
    other = make_staff(World(candidates=0, street="闸弄口街道").street, Role.OFFICIAL)
    with pytest.raises(NotPermitted):
        council.save_record(other, rnd.id, council_input([1], selected=[1]), now=now)


def test_request_then_approve_by_requester_refused(world, now):
    round_id, at = _recorded(world, now)
    council.request_finalization(world.official, round_id, now=at)
    with pytest.raises(NotPermitted):
        council.approve(world.official, round_id, now=at)  # requested it
    with pytest.raises(NotPermitted):
        council.approve(world.clerk, round_id, now=at)  # recorded it
    assert db.session.get(VotingRound, round_id).status == "closed"


def test_change_after_request_cancels_it(world, now):
    round_id, at = _recorded(world, now)
    council.request_finalization(world.clerk, round_id, now=at)
    rnd = db.session.get(VotingRound, round_id)
    ids = [e.candidate_id for e in rnd.entries]
    picked = {e.candidate_id for e in rnd.entries if e.rule_selected}
    council.save_record(world.clerk, round_id, council_input(ids, selected=picked), now=at)
    with pytest.raises(Conflict) as exc:
        council.approve(world.official, round_id, now=at)
    assert exc.value.code == "finalization_not_pending"


def test_withdraw_by_the_other_person_then_request_again(world, now):
    round_id, at = _recorded(world, now)
    council.request_finalization(world.clerk, round_id, now=at)
    council.withdraw_request(world.official, round_id, now=at)
    assert db.session.get(VotingRound, round_id).council.requested_by_id is None
    with pytest.raises(Conflict):
        council.withdraw_request(world.official, round_id, now=at)
    council.request_finalization(world.clerk, round_id, now=at)
    assert "council.finalization_withdrawn" in _actions()


def test_full_path_notice_objections_answer_then_implementation(world, now):
    round_id, at = _recorded(world, now)  # at: Wednesday 2026-05-27 10:30 Beijing
    council.request_finalization(world.clerk, round_id, now=at)
    council.approve(world.official, round_id, now=at)
    rnd = db.session.get(VotingRound, round_id)
    notice = db.session.get(CouncilNotice, round_id)
    assert rnd.status == "finalized"
    # Thu, Fri, (weekend), Mon, Tue, Wed: the period ends at midnight after Wed 3 June.
    assert notice.objections_close_at == datetime(2026, 6, 4, tzinfo=SHANGHAI)
    assert notice.head_hash == db.session.scalar(
        select(AuditEvent.hash).where(AuditEvent.action == "round.finalized")
    )
    assert not notice_period.implementation_open(rnd, at + timedelta(days=1))

    person, outsider, outbox = enrol(world, seed=3), stranger(4), MemorySender()

    def ask(who, later: int = 0) -> int:  # type: ignore[no-untyped-def]
        return objections.request_code(
            round_id,
            who.name,
            who.id_number,
            who.phone,
            pepper=PEPPER,
            sender=outbox,
            now=at + timedelta(minutes=later),
        )

    on_roll, off_roll = ask(person), ask(outsider)
    assert len(outbox.messages) == 1  # only the resident on the roll gets a code
    code = sent_code(outbox.messages[-1][1])
    with pytest.raises(InvalidCode):
        objections.file_objection(off_roll, "123456", "我反对这个结果的理由", pepper=PEPPER, now=at)
    number = objections.file_objection(
        on_roll, code, "停车位选址离学校太近，存在安全隐患。", pepper=PEPPER, now=at
    )
    assert number == 1
    stored = db.session.scalar(select(Objection))
    assert stored.body == "停车位选址离学校太近，存在安全隐患。"
    assert len(stored.filer_hmac) == 64
    assert person.id_number not in stored.filer_hmac

    again = ask(person, later=2)
    with pytest.raises(Conflict) as exc:
        objections.file_objection(
            again, sent_code(outbox.messages[-1][1]), "再提一次意见内容", pepper=PEPPER, now=at
        )
    assert exc.value.code == "objection_already_filed"

    with pytest.raises(NotPermitted):
        objections.answer(world.station_staff, round_id, 1, "答复", now=at)
    objections.answer(world.official, round_id, 1, "已请规划部门复核选址。", now=at)
    with pytest.raises(Conflict):
        objections.answer(world.clerk, round_id, 1, "再答", now=at)
    assert {"objection.filed", "objection.answered", "round.finalized"} <= set(_actions())

    late = notice.objections_close_at + timedelta(seconds=1)
    with pytest.raises(Conflict) as exc:
        objections.request_code(
            round_id,
            person.name,
            person.id_number,
            person.phone,
            pepper=PEPPER,
            sender=outbox,
            now=late,
        )
    assert exc.value.code == "objection_period_over"
    assert notice_period.implementation_open(rnd, late)
    assert notice_period.phase(rnd, late) == "implementation"


def test_objection_code_never_unlocks_a_vote(world, now):
    round_id, at = _recorded(world, now)
    council.request_finalization(world.clerk, round_id, now=at)
    council.approve(world.official, round_id, now=at)
    person, outbox = enrol(world, seed=5), MemorySender()
    challenge = objections.request_code(
        round_id, person.name, person.id_number, person.phone, pepper=PEPPER, sender=outbox, now=at
    )
    assert db.session.get(OtpChallenge, challenge).purpose == "objection"
    with pytest.raises(InvalidCode):
        otp.verify_code(challenge, sent_code(outbox.messages[-1][1]), pepper=PEPPER, now=at)


THREADS = 8
SENDS = 5  # codes a phone may be sent per round per day


def _race(app, n: int, work) -> Counter[str]:  # type: ignore[no-untyped-def]
    barrier, lock, outcomes = threading.Barrier(n), threading.Lock(), Counter()

    def attempt(i: int) -> None:
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                work(i)
                result = "ok"
            except (Conflict, NotPermitted, InvalidCode) as err:
                result = err.code
            finally:
                db.session.remove()
            with lock:
                outcomes[result] += 1

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_approve_threads_colliding_exactly_one_notice(app, world, now):
    round_id, at = _recorded(world, now)
    council.request_finalization(world.clerk, round_id, now=at)
    approvers = [world.official] + [
        make_staff(world.street, Role.OFFICIAL, username=f"o{i}") for i in range(THREADS - 1)
    ]
    ids = [a.id for a in approvers]
    db.session.remove()

    outcomes = _race(
        app,
        THREADS,
        lambda i: council.approve(db.session.get(StaffUser, ids[i]), round_id, now=at),
    )
    assert outcomes["ok"] == 1
    assert sum(outcomes.values()) == THREADS
    assert db.session.scalar(select(func.count()).select_from(CouncilNotice)) == 1
    assert _actions().count("round.finalized") == 1


def test_duplicate_objection_threads_exactly_one_filed(app, world, now):
    round_id, at = _recorded(world, now)
    council.request_finalization(world.clerk, round_id, now=at)
    council.approve(world.official, round_id, now=at)
    person, outbox = enrol(world, seed=9), MemorySender()
    pending = []
    for k in range(SENDS):
        challenge = objections.request_code(
            round_id,
            person.name,
            person.id_number,
            person.phone,
            pepper=PEPPER,
            sender=outbox,
            now=at + timedelta(minutes=2 * k),
        )
        pending.append((challenge, sent_code(outbox.messages[-1][1])))
    # Every code stays live: the later requests replaced earlier ones, so revive them.
    db.session.execute(
        OtpChallenge.__table__.update().values(expires_at=at + timedelta(hours=3), attempts_left=5)
    )
    db.session.commit()
    db.session.remove()
    later = at + timedelta(minutes=2 * SENDS)

    outcomes = _race(
        app,
        SENDS,
        lambda i: objections.file_objection(
            pending[i][0], pending[i][1], f"第{i}次提交的异议内容", pepper=PEPPER, now=later
        ),
    )
    assert outcomes["ok"] == 1
    assert outcomes["objection_already_filed"] == SENDS - 1
    assert db.session.scalar(select(func.count()).select_from(Objection)) == 1
