"""Counting at close from the ballot rows: points, equal shares, the sealed digest, verify."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from tests.conftest import TEST_PEPPER
from tests.factories import World
from voting.domain.ballots import BallotKind
from voting.domain.errors import BallotRuleViolation
from voting.domain.tally import OutcomeRule
from voting.extensions import db
from voting.models import BallotChoice, RoundCandidate, VotingRound
from voting.services import counting, rounds, voting


@pytest.fixture
def world(app):
    return World()


def _vote(code: str, choices, now) -> None:
    login = voting.login_with_code(code, pepper=TEST_PEPPER.encode(), now=now)
    voting.cast_ballot(login, choices, now=now)


def _selected(round_id: int) -> set[int]:
    rows = db.session.scalars(
        select(RoundCandidate.candidate_id).where(
            RoundCandidate.round_id == round_id, RoundCandidate.rule_selected.is_(True)
        )
    )
    return set(rows)


def _close(world: World, round_id: int, now) -> VotingRound:
    rounds.close_round(world.official, round_id, now=now + timedelta(days=14))
    db.session.expire_all()
    return db.session.get(VotingRound, round_id)


def test_cumulative_round_counts_points(world, now):
    round_id = world.open_round(
        now, ballot_kind=BallotKind.CUMULATIVE, points_total=5, min_choices=1, max_choices=3
    )
    world.residents(3)
    codes = world.issue_codes(round_id)
    a, b, c = (x.id for x in world.candidates[:3])
    _vote(codes[0], {a: 5}, now)
    _vote(codes[1], {a: 2, b: 3}, now)
    _vote(codes[2], {b: 1, c: 1}, now)  # fewer points than allowed is fine

    stored = db.session.execute(select(BallotChoice.candidate_id, BallotChoice.points)).all()
    assert sorted(stored) == sorted([(a, 5), (a, 2), (b, 3), (b, 1), (c, 1)])
    rnd = _close(world, round_id, now)
    votes = {e.candidate_id: e.public_votes for e in rnd.entries}
    assert (votes[a], votes[b], votes[c]) == (7, 4, 1)
    assert rnd.ballot_count == 3


def test_cumulative_ballot_over_points_refused_and_nothing_stored(world, now):
    round_id = world.open_round(now, ballot_kind=BallotKind.CUMULATIVE, points_total=5)
    world.residents(1)
    code = world.issue_codes(round_id)[0]
    a, b = world.candidates[0].id, world.candidates[1].id
    with pytest.raises(BallotRuleViolation) as exc:
        _vote(code, {a: 4, b: 2}, now)
    assert exc.value.code == "too_many_points"
    assert db.session.scalars(select(BallotChoice)).all() == []
    _vote(code, {a: 4, b: 1}, now)  # the code is still good
    assert len(db.session.scalars(select(BallotChoice)).all()) == 2


# park 280k, charger 120k, bench 32k, fitness 450k. Six residents want park and fitness,
# four want charger and bench. Budget 800k: 80k each.
PROPORTIONAL_CASES = [
    # by votes: park (6, cheaper), fitness (6) — 730k; then bench 32k; charger no longer fits.
    (OutcomeRule.GREEDY, {"park", "fitness", "bench"}),
    # the six pay 46.7k each for park and cannot pay for fitness; the four fund both of theirs.
    (OutcomeRule.MES, {"park", "bench", "charger"}),
    (OutcomeRule.MES_GREEDY, {"park", "bench", "charger"}),
    (OutcomeRule.MES_ADD1, {"park", "bench", "charger"}),
]


@pytest.mark.parametrize(("rule", "expected"), PROPORTIONAL_CASES)
def test_close_applies_equal_shares_rules(world, now, rule, expected):
    park, charger, bench, fitness, _lift = world.candidates[:5]
    names = {park.id: "park", charger.id: "charger", bench.id: "bench", fitness.id: "fitness"}
    round_id = world.open_round(
        now,
        budget_yuan=800_000,
        ballot_kind=BallotKind.APPROVAL,
        outcome_rule=rule,
        seats=3,
        max_choices=2,
    )
    world.residents(10)
    codes = world.issue_codes(round_id)
    for i, code in enumerate(codes):
        _vote(code, [park.id, fitness.id] if i < 6 else [charger.id, bench.id], now)
    _close(world, round_id, now)
    assert {names[c] for c in _selected(round_id)} == expected


def test_close_seals_the_documented_digest_and_verify_agrees(world, now):
    round_id = world.open_round(now, max_choices=3)
    world.residents(4)
    codes = world.issue_codes(round_id)
    ids = [c.id for c in world.candidates]
    a, b, c = ids[:3]
    for code, choices in zip(codes, [[c, a], [a, c], [b], [a, b, c]], strict=True):
        _vote(code, choices, now)

    rnd = _close(world, round_id, now)

    # The canonical text of docs/verify.md, written out by hand.
    costs = {x.id: x.cost_yuan for x in world.candidates}
    votes = {a: 3, b: 2, c: 3}
    lines = ["voting-tally v1", f"round {round_id}", "ballots 4"]
    lines += [f"candidate {i} {costs[i]} {votes.get(i, 0)}" for i in sorted(ids)]
    groups = {f"{a},{b},{c}": 1, f"{a},{c}": 2, f"{b}": 1}
    lines += [f"ballot {k} {groups[k]}" for k in sorted(groups)]
    expected = hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()
    assert rnd.tally_digest == expected

    report = counting.verify(rnd)
    assert report.ok
    assert (report.digest, report.ballots, report.count_mismatches) == (expected, 4, ())


def test_verify_reports_a_tampered_count_and_digest(world, now):
    round_id = world.open_round(now)
    world.residents(2)
    codes = world.issue_codes(round_id)
    a = world.candidates[0].id
    for code in codes:
        _vote(code, [a], now)
    rnd = _close(world, round_id, now)
    good = rnd.tally_digest

    db.session.execute(
        update(RoundCandidate)
        .where(RoundCandidate.round_id == round_id, RoundCandidate.candidate_id == a)
        .values(public_votes=5)
    )
    db.session.execute(text("UPDATE voting_round SET tally_digest = :d"), {"d": "0" * 64})
    db.session.commit()
    db.session.expire_all()

    report = counting.verify(db.session.get(VotingRound, round_id))
    assert not report.ok
    assert report.count_mismatches == ((a, 5, 2),)
    assert report.stored_digest == "0" * 64
    assert report.digest == good  # recomputed from the ballot rows, which are unchanged
