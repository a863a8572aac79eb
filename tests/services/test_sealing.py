"""Sealed batches, the mixed ballot box, and unlinkability after close."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from tests.conftest import TEST_PEPPER, is_postgres
from tests.factories import World
from voting.domain.codes import receipt_hash
from voting.extensions import db
from voting.models import AuditEvent, Ballot
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
