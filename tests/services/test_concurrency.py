"""Real threads colliding on one voting code: exactly one ballot, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from tests.conftest import TEST_PEPPER
from tests.factories import World
from voting.domain.errors import AlreadyVoted
from voting.extensions import db
from voting.models import Ballot, BallotChoice, Participation
from voting.services import voting

THREADS = 20


def _race(app, code: str, choice: int, now) -> Counter[str]:
    """Log in with ``code`` in every thread, then cast all at once behind a barrier."""
    barrier = threading.Barrier(THREADS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt() -> None:
        with app.app_context():
            login = voting.login_with_code(code, pepper=TEST_PEPPER.encode(), now=now)
            db.session.rollback()  # end the read transaction before the race
            barrier.wait(timeout=30)
            try:
                voting.cast_ballot(login, [choice], now=now)
                result = "cast"
            except AlreadyVoted:
                result = "already_voted"
            finally:
                db.session.remove()
            with lock:
                outcomes[result] += 1

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_cast_ballot_20_threads_same_code_exactly_one_ballot(app, now):
    world = World()
    round_id = world.open_round(now)
    world.residents(2)
    code, other_code = world.issue_codes(round_id)
    first, second = world.candidates[0].id, world.candidates[1].id
    db.session.remove()

    outcomes = _race(app, code, first, now)

    assert outcomes == Counter({"cast": 1, "already_voted": THREADS - 1})
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 1
    assert db.session.scalar(select(func.count()).select_from(BallotChoice)) == 1
    # The other resident is unaffected by the collision.
    login = voting.login_with_code(other_code, pepper=TEST_PEPPER.encode(), now=now)
    voting.cast_ballot(login, [second], now=now)
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 2


def test_cast_ballot_threads_on_distinct_codes_all_succeed(app, now):
    world = World()
    round_id = world.open_round(now)
    world.residents(8)
    codes = world.issue_codes(round_id)
    choice = world.candidates[2].id
    db.session.remove()
    barrier = threading.Barrier(len(codes))
    errors: list[BaseException] = []

    def vote(code: str) -> None:
        with app.app_context():
            try:
                login = voting.login_with_code(code, pepper=TEST_PEPPER.encode(), now=now)
                db.session.rollback()
                barrier.wait(timeout=30)
                voting.cast_ballot(login, [choice], now=now)
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=vote, args=(c,)) for c in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 8
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 8
