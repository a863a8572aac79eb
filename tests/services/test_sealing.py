"""Sealed batches, the mixed ballot box, and unlinkability after close."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select, text

from tests.conftest import TEST_PEPPER, is_postgres
from tests.factories import World
from voting.domain.codes import receipt_hash
from voting.extensions import db
from voting.models import AuditEvent, Ballot, StaffUser
from voting.services import rounds, sealing, voting


@pytest.fixture
def world(app):
    return World()


def _cast_all(codes, choice, now) -> list[str]:
    receipts = []
    for code in codes:
        login = voting.login_with_code(code, pepper=TEST_PEPPER.encode(), now=now)
        receipts.append(voting.cast_ballot(login, [choice], now=now))
    return receipts


def test_seal_if_due_seals_a_batch_once_enough_ballots_wait(app, world, now, monkeypatch):
    monkeypatch.setitem(app.config, "SEAL_BATCH_SIZE", 3)
    monkeypatch.setattr("voting.services.voting.SEAL_CHECK_EVERY", 1)
    round_id = world.open_round(now)
    world.residents(7)
    _cast_all(world.issue_codes(round_id), world.candidates[0].id, now)

    batches = db.session.scalars(select(Ballot.batch_no)).all()
    assert sorted(batches, key=lambda b: (b is None, b)) == [1, 1, 1, 2, 2, 2, None]
    sealed = db.session.scalars(
        select(AuditEvent.payload).where(AuditEvent.action == "ballots.sealed")
    ).all()
    assert len(sealed) == 2
    assert sealing.verify_batches(round_id) == []


def test_changing_a_sealed_ballot_breaks_its_batch_root(app, world, now, monkeypatch):
    monkeypatch.setitem(app.config, "SEAL_BATCH_SIZE", 2)
    monkeypatch.setattr("voting.services.voting.SEAL_CHECK_EVERY", 1)
    round_id = world.open_round(now)
    world.residents(2)
    _cast_all(world.issue_codes(round_id), world.candidates[0].id, now)
    # Before close the triggers allow writes; a direct edit still cannot hide.
    db.session.execute(
        text("UPDATE ballot_choice SET candidate_id = :c WHERE round_id = :r"),
        {"c": world.candidates[1].id, "r": round_id},
    )
    db.session.commit()
    assert sealing.verify_batches(round_id) == [1]


def test_a_batch_read_in_slices_has_the_same_root(app, world, now, monkeypatch):
    """A batch's choices are read by ballot id in slices; a batch larger than a slice gets
    the root of all its ballots, and a change in any slice still shows."""
    monkeypatch.setitem(app.config, "SEAL_BATCH_SIZE", 5)
    monkeypatch.setattr("voting.services.voting.SEAL_CHECK_EVERY", 1)
    round_id = world.open_round(now)
    world.residents(5)
    _cast_all(world.issue_codes(round_id), world.candidates[0].id, now)
    assert sealing.verify_batches(round_id) == []

    monkeypatch.setattr(sealing, "_LOOKUP_SLICE", 2)
    assert sealing.verify_batches(round_id) == []
    last = db.session.scalars(select(Ballot.id).order_by(Ballot.id.desc())).first()
    db.session.execute(
        text("UPDATE ballot_choice SET candidate_id = :c WHERE ballot_id = :b"),
        {"c": world.candidates[1].id, "b": last},
    )
    db.session.commit()
    assert sealing.verify_batches(round_id) == [1]


def test_close_seals_the_rest_and_keeps_every_receipt(world, now):
    round_id = world.open_round(now)
    world.residents(5)
    receipts = _cast_all(world.issue_codes(round_id), world.candidates[0].id, now)

    rounds.close_round(world.official, round_id, reason="测试", now=now)

    stored = set(db.session.scalars(select(Ballot.receipt_hash)))
    assert stored == {receipt_hash(r) for r in receipts}
    assert set(db.session.scalars(select(Ballot.batch_no))) == {1}
    assert sealing.verify_batches(round_id) == []


def test_close_rewrites_ballot_box_out_of_cast_order(world, now):
    round_id = world.open_round(now)
    world.residents(40)
    receipts = _cast_all(world.issue_codes(round_id), world.candidates[2].id, now)
    cast_order = [receipt_hash(r) for r in receipts]

    rounds.close_round(world.official, round_id, reason="测试", now=now)

    # Physical order: PostgreSQL's heap order (ctid), SQLite's table order.
    order_by = "ctid" if is_postgres() else "id"
    stored = db.session.scalars(text(f"SELECT receipt_hash FROM ballot ORDER BY {order_by}")).all()  # noqa: S608
    assert sorted(stored) == sorted(cast_order)
    assert stored != cast_order


def test_close_breaks_the_xmin_link_on_postgres(world, now):
    if not is_postgres():
        pytest.skip("xmin is PostgreSQL's")
    round_id = world.open_round(now)
    world.residents(6)
    _cast_all(world.issue_codes(round_id), world.candidates[0].id, now)
    link = text(
        "SELECT count(*) FROM participation p JOIN ballot b"
        " ON p.xmin::text = b.xmin::text WHERE p.round_id = :r"
    )
    assert db.session.scalar(link, {"r": round_id}) == 6  # before close: linkable

    rounds.close_round(world.official, round_id, reason="测试", now=now)

    assert db.session.scalar(link, {"r": round_id}) == 0


def test_casts_racing_seals_put_every_ballot_in_exactly_one_batch(app, world, now, monkeypatch):
    """8 threads cast at once, every cast trying to seal batches of 3; after close the
    batches hold each ballot once and every root still matches."""
    monkeypatch.setitem(app.config, "SEAL_BATCH_SIZE", 3)
    monkeypatch.setattr("voting.services.voting.SEAL_CHECK_EVERY", 1)
    round_id = world.open_round(now)
    world.residents(24)
    codes = world.issue_codes(round_id)
    choice, official_id = world.candidates[0].id, world.official.id
    db.session.remove()
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def cast_three(i: int) -> None:
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                _cast_all(codes[i * 3 : i * 3 + 3], choice, now)
            except Exception as exc:  # collected: the assertion below names it
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=cast_three, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    rounds.close_round(db.session.get(StaffUser, official_id), round_id, reason="测试", now=now)

    payloads = [
        json.loads(p)
        for p in db.session.scalars(
            select(AuditEvent.payload).where(AuditEvent.action == "ballots.sealed")
        )
    ]
    assert sum(p["ballots"] for p in payloads) == 24
    assert sorted(p["batch"] for p in payloads) == list(range(1, len(payloads) + 1))
    assert None not in set(db.session.scalars(select(Ballot.batch_no)))
    assert sealing.verify_batches(round_id) == []


def _hold(statement: str, params: dict[str, object]):  # type: ignore[no-untyped-def]
    """Another connection holding a lock in an open transaction (close it to release)."""
    conn = db.engine.connect()
    conn.begin()
    conn.execute(text(statement), params)
    return conn


def _in_thread(app, fn):  # type: ignore[no-untyped-def]
    """Run ``fn`` in a thread with its own session; its result, or "blocked" after 10 s."""
    result: list[object] = []

    def run() -> None:
        with app.app_context():
            try:
                result.append(fn())
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=10)
    return result[0] if result else "blocked"


def _two_unsealed(app, world, now, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """An open round with two cast ballots, a batch's worth, not sealed yet."""
    monkeypatch.setitem(app.config, "SEAL_BATCH_SIZE", 2)
    monkeypatch.setattr("voting.services.voting.SEAL_CHECK_EVERY", 10**9)
    round_id = world.open_round(now)
    world.residents(2)
    _cast_all(world.issue_codes(round_id), world.candidates[0].id, now)
    db.session.remove()
    return round_id


def test_a_seal_does_not_wait_for_casts_in_flight_on_postgres(app, world, now, monkeypatch):
    if not is_postgres():
        pytest.skip("on SQLite a cast in flight holds the only write lock")
    round_id = _two_unsealed(app, world, now, monkeypatch)
    # What a cast in flight holds: the round row, shared.
    cast = _hold("SELECT id FROM voting_round WHERE id = :r FOR SHARE", {"r": round_id})
    try:
        assert _in_thread(app, lambda: sealing.seal_if_due(round_id)) == 1
    finally:
        cast.close()
    assert sealing.verify_batches(round_id) == []


def test_a_seal_in_progress_makes_other_requests_skip_on_postgres(app, world, now, monkeypatch):
    if not is_postgres():
        pytest.skip("SQLite serialises every writer already")
    round_id = _two_unsealed(app, world, now, monkeypatch)
    other = _hold(
        "SELECT pg_advisory_xact_lock(:c, :r)", {"c": sealing._SEAL_LOCK_CLASS, "r": round_id}
    )
    try:
        assert _in_thread(app, lambda: sealing.seal_if_due(round_id)) is None
    finally:
        other.close()
    assert set(db.session.scalars(select(Ballot.batch_no))) == {None}
    assert sealing.seal_if_due(round_id) == 1


def test_seals_refresh_planner_statistics_at_batches_one_two_four(app, world, now, monkeypatch):
    monkeypatch.setitem(app.config, "SEAL_BATCH_SIZE", 1)
    monkeypatch.setattr("voting.services.voting.SEAL_CHECK_EVERY", 1)
    refreshed: list[int] = []
    monkeypatch.setattr(sealing, "refresh_statistics", lambda: refreshed.append(_batches(round_id)))
    round_id = world.open_round(now)
    world.residents(5)
    _cast_all(world.issue_codes(round_id), world.candidates[0].id, now)
    assert _batches(round_id) == 5
    assert refreshed == [1, 2, 4]


def _batches(round_id: int) -> int:
    return db.session.scalar(select(func.max(Ballot.batch_no)).where(Ballot.round_id == round_id))


def test_refresh_statistics_gives_postgres_the_ballot_table_size(app, world, now):
    if not is_postgres():
        pytest.skip("ANALYZE for the planner is PostgreSQL's")
    round_id = world.open_round(now)
    world.residents(7)
    _cast_all(world.issue_codes(round_id), world.candidates[0].id, now)
    db.session.remove()
    sealing.refresh_statistics()
    ballots = db.session.scalar(select(func.count()).select_from(Ballot))
    reltuples = db.session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'ballot'"))
    assert ballots == 7
    assert reltuples == ballots
