"""Round set-up, the tally written at close, and the council's finalization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.conftest import TEST_PEPPER
from tests.council_records import council_input, request_and_approve
from tests.factories import World, candidate_input
from voting.domain.errors import Conflict, InvalidInput, InvalidTransition, NotPermitted
from voting.domain.tally import OutcomeRule
from voting.extensions import db
from voting.models import AuditEvent, RoundCandidate, VotingRound
from voting.models.triggers import create_triggers, drop_triggers
from voting.services import audit, council, intake, rounds, voting


@pytest.fixture
def world(app):
    return World()


def _vote(code: str, choices, now) -> None:
    login = voting.login_with_code(code, pepper=TEST_PEPPER.encode(), now=now)
    voting.cast_ballot(login, choices, now=now)


def _entries(round_id: int) -> dict[int, RoundCandidate]:
    rows = db.session.scalars(select(RoundCandidate).where(RoundCandidate.round_id == round_id))
    return {r.candidate_id: r for r in rows}


def test_create_round_with_unreviewed_candidate_raises_invalid_input(world, now):
    pending = intake.submit_candidate(world.station_staff, candidate_input(world.communities[0].id))
    data = world.round_input(now, candidate_ids=(world.candidates[0].id, pending.id))
    with pytest.raises(InvalidInput) as exc:
        rounds.create_round(world.official, data, now=now)
    assert exc.value.code == "candidate_not_accepted"


def test_create_round_by_station_staff_raises_not_permitted(world, now):
    with pytest.raises(NotPermitted):
        rounds.create_round(world.station_staff, world.round_input(now), now=now)


def test_open_round_not_more_candidates_than_seats_refused_and_stays_draft(world, now):
    data = world.round_input(now, candidate_ids=tuple(c.id for c in world.candidates[:2]), seats=2)
    round_id = rounds.create_round(world.official, data, now=now)
    with pytest.raises(InvalidInput) as exc:
        rounds.open_round(world.official, round_id, now=now)
    assert "not_competitive" in exc.value.params["problems"]
    assert db.session.get(VotingRound, round_id).status == "draft"


def test_update_round_after_open_raises_conflict(world, now):
    round_id = world.open_round(now)
    with pytest.raises(Conflict) as exc:
        rounds.update_round(world.official, round_id, world.round_input(now, title="改"), now=now)
    assert exc.value.code == "round_frozen"
    assert db.session.get(VotingRound, round_id).title != "改"


def test_open_round_twice_raises_invalid_transition(world, now):
    round_id = world.open_round(now)
    with pytest.raises(InvalidTransition):
        rounds.open_round(world.official, round_id, now=now)


def test_close_round_early_without_reason_refused(world, now):
    round_id = world.open_round(now)
    with pytest.raises(InvalidTransition) as exc:
        rounds.close_round(world.official, round_id, reason=" ", now=now)
    assert exc.value.code == "early_close_needs_reason"


def test_close_round_after_window_writes_counts_ranks_and_top_n(world, now):
    round_id = world.open_round(now, seats=2)
    world.residents(5)
    codes = world.issue_codes(round_id)
    a, b, c, d, _e = (x.id for x in world.candidates)
    for code, choices in zip(codes, [[a, b], [a], [b, c], [a, c], [d]], strict=True):
        _vote(code, choices, now)

    result = rounds.close_round(world.official, round_id, now=now + timedelta(days=14))

    assert result.ballots == 5
    entries = _entries(round_id)
    assert {cid: e.public_votes for cid, e in entries.items()} == {a: 3, b: 2, c: 2, d: 1, _e: 0}
    # b and c tie on 2 votes: the cheaper (c: 32,000 yuan) ranks first.
    assert [cid for cid, _ in sorted(entries.items(), key=lambda kv: kv[1].public_rank)] == [
        a,
        c,
        b,
        d,
        _e,
    ]
    assert {cid for cid, e in entries.items() if e.rule_selected} == {a, c}
    rnd = db.session.get(VotingRound, round_id)
    assert (rnd.status, rnd.ballot_count) == ("closed", 5)


def test_close_round_greedy_skips_what_no_longer_fits(world, now):
    round_id = world.open_round(
        now, seats=3, budget_yuan=750_000, outcome_rule=OutcomeRule.GREEDY, max_choices=5
    )
    world.residents(4)
    codes = world.issue_codes(round_id)
    park, charger, bench, fitness, _lift = (x.id for x in world.candidates)
    ballots = [[fitness, park], [fitness, park], [fitness, charger], [charger, bench]]
    for code, choices in zip(codes, ballots, strict=True):
        _vote(code, choices, now)
    rounds.close_round(world.official, round_id, reason="提前结束", now=now)
    selected = {cid for cid, e in _entries(round_id).items() if e.rule_selected}
    # Ranking: fitness 3 (450k), charger 2 (120k), park 2 (280k), bench 1 (32k).
    # 450k + 120k leaves 180k: park no longer fits and is skipped; bench fits.
    assert selected == {fitness, charger, bench}


def _council_input(world, *, selected, reasons=None, present=25):
    ids = [c.id for c in world.candidates]
    return council_input(
        ids, selected=selected, reasons=reasons, present=present, votes=dict.fromkeys(ids, 8)
    )


def _closed_round(world, now) -> tuple[int, list[int]]:
    round_id = world.open_round(now, seats=2)
    world.residents(3)
    ids = [c.id for c in world.candidates]
    for code, choices in zip(
        world.issue_codes(round_id), [[ids[0], ids[1]], [ids[0]], [ids[1]]], strict=True
    ):
        _vote(code, choices, now)
    rounds.close_round(world.official, round_id, reason="测试", now=now)
    return round_id, ids


def test_council_departure_without_reason_blocks_finalize(world, now):
    round_id, ids = _closed_round(world, now)
    problems = council.save_record(
        world.clerk, round_id, _council_input(world, selected={ids[0], ids[2]}), now=now
    )
    assert ("reason_required", ids[1]) in problems
    assert ("reason_required", ids[2]) in problems
    with pytest.raises(InvalidInput):
        council.request_finalization(world.clerk, round_id, now=now)
    assert db.session.get(VotingRound, round_id).status == "closed"


def test_council_without_quorum_blocks_finalize(world, now):
    round_id, ids = _closed_round(world, now)
    problems = council.save_record(
        world.clerk, round_id, _council_input(world, selected={ids[0], ids[1]}, present=20), now=now
    )
    assert ("no_quorum", None) in problems


def test_council_finalize_with_reasons_locks_round(world, now):
    round_id, ids = _closed_round(world, now)
    reasons = {ids[1]: "该项目已列入区级计划", ids[2]: "议事会认为更紧迫"}
    data = _council_input(world, selected={ids[0], ids[2]}, reasons=reasons)
    assert council.save_record(world.clerk, round_id, data, now=now) == []

    request_and_approve(world.clerk, world.official, round_id, now=now)

    rnd = db.session.get(VotingRound, round_id)
    assert rnd.status == "finalized"
    assert rnd.finalized_at is not None
    assert {cid for cid, e in _entries(round_id).items() if e.council_selected} == {ids[0], ids[2]}
    with pytest.raises(Conflict) as exc:
        council.save_record(
            world.clerk, round_id, _council_input(world, selected={ids[0]}), now=now
        )
    assert exc.value.code == "round_finalized"
    assert {cid for cid, e in _entries(round_id).items() if e.council_selected} == {ids[0], ids[2]}


def test_council_by_station_staff_raises_not_permitted(world, now):
    round_id, ids = _closed_round(world, now)
    with pytest.raises(NotPermitted):
        council.save_record(
            world.station_staff, round_id, _council_input(world, selected=set(ids[:2]))
        )


def test_audit_chain_covers_the_round_and_verifies(world, now):
    _closed_round(world, now)
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert {
        "candidate.submitted",
        "candidate.accepted",
        "round.created",
        "round.opened",
        "codes.issued",
        "round.closed",
    } <= set(actions)
    # Ballots are never logged one by one: the 3 ballots went into one sealed batch at close.
    assert actions.count("ballots.sealed") == 1
    assert not [a for a in actions if a.startswith("ballot.")]
    count, broken = audit.verify_chain()
    assert (count, broken) == (len(actions), None)
    tamper = AuditEvent.__table__.update().where(AuditEvent.seq == 3).values(payload='{"x":1}')
    with pytest.raises(IntegrityError):  # the database refuses: append-only
        db.session.execute(tamper)
    db.session.rollback()
    with db.engine.begin() as conn:  # a DBA who drops the triggers is still caught
        drop_triggers(conn)
        conn.execute(tamper)
        create_triggers(conn)
    assert audit.verify_chain() == (len(actions), 3)
