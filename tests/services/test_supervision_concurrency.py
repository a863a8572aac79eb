"""Real threads answering one suggestion at once: exactly one answer, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

from sqlalchemy import func, select

from tests.supervised import open_record, supervised_round, visit_input
from voting.domain.errors import Conflict
from voting.extensions import db
from voting.models import AuditEvent, StaffUser, Suggestion
from voting.services import audit, supervision

THREADS = 12


def test_answer_suggestion_threads_exactly_one_wins(app, now):
    s = supervised_round(now)
    record_id = open_record(s)
    supervision.record_visit(
        s.world.supervisor, record_id, visit_input(date(2026, 6, 3)), now=s.now
    )
    suggestion_id = db.session.scalars(select(Suggestion.id)).first()
    official_id = s.world.official.id
    db.session.remove()
    barrier = threading.Barrier(THREADS)
    outcomes: Counter[str] = Counter()
    winners: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        with app.app_context():
            official = db.session.get(StaffUser, official_id)
            db.session.rollback()
            barrier.wait(timeout=30)
            try:
                supervision.answer_suggestion(official, suggestion_id, f"答复{i}", now=s.now)
                result = "answered"
            except Conflict:
                result = "conflict"
            finally:
                db.session.remove()
            with lock:
                outcomes[result] += 1
                if result == "answered":
                    winners.append(f"答复{i}")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes == Counter({"answered": 1, "conflict": THREADS - 1})
    stored = db.session.get(Suggestion, suggestion_id)
    assert stored.status == "answered"
    assert [stored.answer] == winners
    answered_events = select(func.count()).where(AuditEvent.action == "suggestion.answered")
    assert db.session.scalar(answered_events) == 1
    assert audit.verify_chain()[1] is None
