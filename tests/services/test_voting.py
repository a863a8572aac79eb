"""Casting ballots through the service: one resident, one ballot; secrecy of the rows."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from tests.conftest import TEST_PEPPER, is_postgres
from tests.factories import World
from voting.domain import codes
from voting.domain.errors import AlreadyVoted, BallotRuleViolation, InvalidCode, RoundNotOpen
from voting.extensions import db
from voting.models import Ballot, BallotChoice, Participation, Resident, VotingCode
from voting.services import rounds, voting

PEPPER = TEST_PEPPER.encode()


@pytest.fixture
def world(app):
    return World()


def _cast(code: str, choices, now):
    login = voting.login_with_code(code, pepper=PEPPER, now=now)
    return voting.cast_ballot(login, choices, now=now)


def _assert_nothing_cast(login) -> None:
    """No ballot was stored and the login's code is still unused."""
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0
    assert db.session.scalar(select(VotingCode.used_at).where(VotingCode.id == login.id)) is None


def test_cast_ballot_valid_code_records_one_participation_and_ballot(world, now):
    round_id = world.open_round(now)
    world.residents(3)
    codes = world.issue_codes(round_id)
    picked = [world.candidates[0].id, world.candidates[2].id]

    receipt = _cast(codes[0], picked, now)

    assert len(receipt) == 16
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 1
    ballot = db.session.scalars(select(Ballot)).one()
    assert len(ballot.id) == 32
    chosen = db.session.scalars(select(BallotChoice.candidate_id)).all()
    assert sorted(chosen) == sorted(picked)
    used = db.session.scalars(select(VotingCode).where(VotingCode.used_at.is_not(None))).all()
    assert len(used) == 1


def test_cast_ballot_twice_raises_already_voted_with_time_and_channel(world, now):
    round_id = world.open_round(now)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    _cast(code, [world.candidates[0].id], now)

    with pytest.raises(AlreadyVoted) as exc:
        _cast(code, [world.candidates[1].id], now + timedelta(minutes=5))

    assert exc.value.params["channel"] == "code"
    assert exc.value.params["voted_at"] == now.replace(second=0)
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1


def test_cast_ballot_stores_the_minute_as_the_models_read_it(world, now):
    # The cast writes through the driver; the rows must read back through the models as
    # any other write would, times to the minute in UTC.
    round_id = world.open_round(now)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    receipt = _cast(code, {world.candidates[1].id: 1}, now)

    db.session.expire_all()
    participation = db.session.scalars(select(Participation)).one()
    assert participation.voted_at == now.replace(second=0, microsecond=0)
    assert participation.channel == "code"
    assert (participation.assisted_by, participation.assist_reason) == ("", "")
    assert db.session.scalar(select(VotingCode.used_at)) == participation.voted_at
    ballot = db.session.scalars(select(Ballot)).one()
    assert (ballot.receipt_hint, ballot.batch_no) == (receipt[:8], None)
    assert ballot.receipt_hash == codes.receipt_hash(receipt)
    choice = db.session.scalars(select(BallotChoice)).one()
    assert (choice.round_id, choice.candidate_id, choice.points) == (
        round_id,
        world.candidates[1].id,
        1,
    )


def test_cast_after_a_vote_at_the_station_is_refused_and_spends_nothing(world, now):
    # The station recorded this resident between the code login and the cast: the
    # participation's UNIQUE constraint refuses the write, the refusal names the station.
    round_id = world.open_round(now)
    resident = world.residents(1)[0]
    code = world.issue_codes(round_id)[0]
    login = voting.login_with_code(code, pepper=PEPPER, now=now)
    voting.add_participation(round_id, resident.id, "station", now.replace(second=0))
    db.session.commit()

    with pytest.raises(AlreadyVoted) as exc:
        voting.cast_ballot(login, [world.candidates[0].id], now=now + timedelta(minutes=3))

    assert exc.value.params["channel"] == "station"
    _assert_nothing_cast(login)


def test_cast_ballot_stale_session_after_use_raises_already_voted(world, now):
    round_id = world.open_round(now)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    login = voting.login_with_code(code, pepper=PEPPER, now=now)
    voting.cast_ballot(login, [world.candidates[0].id], now=now)

    with pytest.raises(AlreadyVoted):
        voting.cast_ballot(login, [world.candidates[1].id], now=now)
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 1


@pytest.mark.parametrize(
    ("raw", "code"),
    [("1234", "code_format"), ("abcdefghijkl", "code_format"), ("000000000001", "code_checksum")],
)
def test_login_with_code_malformed_raises_invalid_code(world, now, raw, code):
    with pytest.raises(InvalidCode) as exc:
        voting.login_with_code(raw, pepper=PEPPER, now=now)
    assert exc.value.code == code


def test_login_with_code_unknown_but_well_formed_raises_code_unknown(world, now):
    from voting.domain.codes import generate_code

    with pytest.raises(InvalidCode) as exc:
        voting.login_with_code(generate_code(random.Random(99)), pepper=PEPPER, now=now)
    assert exc.value.code == "code_unknown"


def test_login_with_code_before_window_raises_not_started(world, now):
    round_id = world.open_round(now, opens_at=now + timedelta(hours=2))
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    with pytest.raises(RoundNotOpen) as exc:
        voting.login_with_code(code, pepper=PEPPER, now=now)
    assert exc.value.params["phase"] == "not_started"


def test_cast_ballot_after_close_raises_round_not_open_and_stores_nothing(world, now):
    round_id = world.open_round(now)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    login = voting.login_with_code(code, pepper=PEPPER, now=now)
    rounds.close_round(world.official, round_id, reason="测试提前结束", now=now)

    with pytest.raises(RoundNotOpen):
        voting.cast_ballot(login, [world.candidates[0].id], now=now)
    _assert_nothing_cast(login)


def test_cast_ballot_too_many_choices_refused_and_code_still_usable(world, now):
    round_id = world.open_round(now, max_choices=2)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    login = voting.login_with_code(code, pepper=PEPPER, now=now)
    too_many = [c.id for c in world.candidates[:3]]

    with pytest.raises(BallotRuleViolation) as exc:
        voting.cast_ballot(login, too_many, now=now)

    assert exc.value.code == "too_many"
    assert db.session.scalar(select(VotingCode.used_at)) is None
    assert _cast(code, too_many[:2], now)


def test_cast_ballot_over_budget_refused(world, now):
    round_id = world.open_round(now, budget_yuan=500_000, max_choices=3)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    expensive = [world.candidates[0].id, world.candidates[3].id]  # 280k + 450k
    with pytest.raises(BallotRuleViolation) as exc:
        _cast(code, expensive, now)
    assert exc.value.params == {"budget": 500_000, "total": 730_000}


def test_ballot_tables_have_no_link_to_residents_or_time(app):
    inspector = inspect(db.engine)
    for table in ("ballot", "ballot_choice"):
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert not columns & {"resident_id", "participation_id", "code_id", "created_at", "cast_at"}
        foreign = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        assert foreign <= {"voting_round", "ballot", "round_candidate"}
    participation = {c["name"] for c in inspector.get_columns("participation")}
    assert "ballot_id" not in participation


def test_ballot_ids_do_not_follow_cast_order_on_sqlite(world, now):
    if is_postgres():
        pytest.skip("PostgreSQL keeps heap rows in insertion order until close rewrites them")
    round_id = world.open_round(now)
    world.residents(12)
    for code in world.issue_codes(round_id):
        _cast(code, [world.candidates[0].id], now)
    stored = db.session.scalars(select(Ballot.id)).all()  # storage order
    assert len(set(stored)) == 12
    assert stored == sorted(stored), "ballots are kept in random-id order, not insertion order"


def test_cast_refused_when_the_resident_moved_out_after_login(world, now):
    """The claim itself checks the roll: a code whose resident moved out between login and
    confirm casts nothing and stays unused."""
    round_id = world.open_round(now)
    world.residents(2)
    codes = world.issue_codes(round_id)
    login = voting.login_with_code(codes[0], pepper=PEPPER, now=now)
    db.session.get(Resident, login_resident(login)).status = "moved_out"
    db.session.commit()

    with pytest.raises(AlreadyVoted):
        voting.cast_ballot(login, [world.candidates[0].id], now=now)

    assert db.session.scalar(select(func.count()).select_from(Participation)) == 0
    _assert_nothing_cast(login)
    assert len(_cast(codes[1], [world.candidates[0].id], now)) == 16  # the neighbour votes


def login_resident(login: voting.Credential) -> int:
    return db.session.scalar(select(VotingCode.resident_id).where(VotingCode.id == login.id))


def test_a_close_between_the_check_and_the_write_refuses_the_cast(world, now, monkeypatch):
    """On SQLite the ballot is checked before the write lock; a close that commits in between
    is refused by the trigger, and the resident is told the round is not open."""
    round_id = world.open_round(now)
    world.residents(1)
    login = voting.login_with_code(world.issue_codes(round_id)[0], pepper=PEPPER, now=now)
    official, begin = world.official, voting.begin_write

    def close_first() -> None:
        rounds.close_round(official, round_id, reason="测试", now=now)
        begin()

    monkeypatch.setattr(voting, "begin_write", close_first)
    with pytest.raises(RoundNotOpen):
        voting.cast_ballot(login, [world.candidates[0].id], now=now)

    assert db.session.scalar(select(func.count()).select_from(Participation)) == 0
    _assert_nothing_cast(login)


# --- the process's copy of a round's frozen definition ------------------------------------


def test_opening_draws_a_definition_key_per_round(world, now):
    first, second = world.open_round(now), world.open_round(now)
    keys = [rounds.load_round(r).definition_key for r in (first, second)]
    assert all(k and len(k) == 32 for k in keys)
    assert keys[0] != keys[1]


def test_the_ballot_check_keeps_a_copy_that_the_cast_uses(world, now):
    round_id = world.open_round(now, max_choices=2)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    voting.check_choices(round_id, [world.candidates[0].id])
    copy = voting._frozen[round_id]
    assert copy.key == rounds.load_round(round_id).definition_key
    assert copy.rule.max_choices == 2

    _cast(code, [world.candidates[0].id], now)

    assert voting._frozen[round_id] is copy  # the cast read no new one
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1


def _foreign_copy(round_id: int, max_choices: int) -> None:
    """A copy of another round's definition under this round's id (another database)."""
    definition = voting.round_definition(round_id)
    voting._frozen[round_id] = replace(
        definition, key="0" * 32, rule=replace(definition.rule, max_choices=max_choices)
    )


def test_a_copy_of_another_round_cannot_let_a_ballot_break_this_rounds_rule(world, now):
    round_id = world.open_round(now, max_choices=2)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    _foreign_copy(round_id, max_choices=5)  # would accept three choices
    login = voting.login_with_code(code, pepper=PEPPER, now=now)

    with pytest.raises(BallotRuleViolation) as exc:
        voting.cast_ballot(login, [c.id for c in world.candidates[:3]], now=now)

    assert exc.value.code == "too_many"
    _assert_nothing_cast(login)
    assert voting._frozen[round_id].key == rounds.load_round(round_id).definition_key


def test_a_copy_of_another_round_is_replaced_and_a_valid_ballot_is_cast(world, now):
    round_id = world.open_round(now, max_choices=2)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    _foreign_copy(round_id, max_choices=2)

    _cast(code, [world.candidates[0].id, world.candidates[1].id], now)

    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1
    assert db.session.scalar(select(func.count()).select_from(BallotChoice)) == 2
    assert voting._frozen[round_id].key == rounds.load_round(round_id).definition_key


def test_a_copy_does_not_outlive_the_round_closing(world, now):
    round_id = world.open_round(now)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    login = voting.login_with_code(code, pepper=PEPPER, now=now)
    voting.check_choices(round_id, [world.candidates[0].id])  # the copy is taken
    rounds.close_round(world.official, round_id, reason="测试提前结束", now=now)

    with pytest.raises(RoundNotOpen) as exc:
        voting.cast_ballot(login, [world.candidates[0].id], now=now)

    assert exc.value.params["phase"] == "closed"
    _assert_nothing_cast(login)


def test_a_copy_does_not_outlive_the_voting_window(world, now):
    round_id = world.open_round(now)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    login = voting.login_with_code(code, pepper=PEPPER, now=now)
    voting.check_choices(round_id, [world.candidates[0].id])
    closes_at = rounds.load_round(round_id).closes_at

    with pytest.raises(RoundNotOpen) as exc:
        voting.cast_ballot(login, [world.candidates[0].id], now=closes_at)

    assert exc.value.params["phase"] == "ended"
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0
