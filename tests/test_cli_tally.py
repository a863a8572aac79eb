"""``flask tally verify``: the sealed tally against the ballot rows and the audit chain.

Tampering goes straight to the tables an attacker with database access could change:
``round_candidate`` and ``voting_round`` are not append-only (the council writes to them
after close), unlike the ballots and the audit chain.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import delete, select, text

from tests.closed_rounds import closed_round, open_round_with_ballots
from tests.factories import World
from voting.extensions import db
from voting.models import Ballot, BallotChoice, VotingRound
from voting.models.triggers import create_triggers, drop_triggers
from voting.services import counting


@pytest.fixture
def world(app):
    return World()


def invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["tally", "verify", *args])
    db.session.rollback()
    return result


def test_tally_verify_closed_round_prints_digests_and_exits_zero(app, world, now):
    rnd = closed_round(world, now)

    result = invoke(app, str(rnd.id))

    assert result.exit_code == 0, result.output
    assert f"digest stored      {rnd.tally_digest}" in result.output
    assert f"digest recomputed  {rnd.tally_digest}" in result.output
    assert f"digest in audit    {rnd.tally_digest} (round.closed, event" in result.output
    assert "ballots            stored 6, counted 6" in result.output
    assert "sealed batches     all match" in result.output
    assert "Tally verified" in result.output


def test_tally_verify_tampered_votes_named_and_exit_nonzero(app, world, now):
    rnd = closed_round(world, now)
    a = world.candidates[0].id
    db.session.execute(
        text(
            "UPDATE round_candidate SET public_votes = 40 WHERE round_id = :r AND candidate_id = :c"
        ),
        {"r": rnd.id, "c": a},
    )

    result = invoke(app, str(rnd.id))

    assert result.exit_code != 0
    assert f"candidate {a} 增设停车位: stored 40, counted 4" in result.output
    assert "does NOT match" in result.output
    assert "the stored votes of 1 candidate(s) differ" in result.output
    # The recount comes from the ballot rows, which did not change.
    assert f"digest recomputed  {rnd.tally_digest}" in result.output


def test_tally_verify_tampered_digest_exit_nonzero(app, world, now):
    rnd = closed_round(world, now)
    good = rnd.tally_digest
    db.session.execute(
        text("UPDATE voting_round SET tally_digest = :d WHERE id = :r"),
        {"d": "f" * 64, "r": rnd.id},
    )

    result = invoke(app, str(rnd.id))

    assert result.exit_code != 0
    assert f"digest stored      {'f' * 64}" in result.output
    assert f"digest recomputed  {good}" in result.output
    assert "the stored digest differs from the recomputed one" in result.output


def test_tally_verify_rows_and_tally_rewritten_together_caught_by_audit_chain(app, world, now):
    """A DBA who drops the triggers, removes a ballot and rewrites the stored tally to match
    the rows still differs from the digest and the batch roots sealed in the audit chain."""
    rnd = closed_round(world, now)
    round_id, sealed = rnd.id, rnd.tally_digest
    d = world.candidates[3].id
    ballot_id = db.session.scalar(
        select(BallotChoice.ballot_id).where(BallotChoice.candidate_id == d)
    )
    db.session.commit()
    with db.engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(delete(BallotChoice).where(BallotChoice.ballot_id == ballot_id))
        conn.execute(delete(Ballot).where(Ballot.id == ballot_id))
        create_triggers(conn)
    forged = counting.verify(db.session.get(VotingRound, round_id)).digest
    db.session.execute(
        text("UPDATE round_candidate SET public_votes = 0 WHERE candidate_id = :c"), {"c": d}
    )
    db.session.execute(
        text("UPDATE voting_round SET ballot_count = 5, tally_digest = :d WHERE id = :r"),
        {"d": forged, "r": round_id},
    )

    result = invoke(app, str(round_id))

    assert result.exit_code != 0
    assert f"digest stored      {forged}" in result.output
    assert f"digest recomputed  {forged}" in result.output
    assert f"digest in audit    {sealed} (round.closed" in result.output
    assert "sealed batches     broken: [1]" in result.output
    assert "candidate " not in result.output
    assert "the audit chain's digest differs or is missing" in result.output


def test_tally_verify_open_round_says_nothing_sealed_yet(app, world, now):
    round_id = open_round_with_ballots(world, now)

    result = invoke(app, str(round_id))

    assert result.exit_code != 0
    assert f"Round {round_id} is open" in result.output
    assert "nothing to verify yet" in result.output


def test_tally_verify_missing_round_named(app, world):
    result = invoke(app, "999")
    assert result.exit_code != 0
    assert "No round 999." in result.output


def test_tally_verify_skip_batches_leaves_them_out(app, world, now):
    rnd = closed_round(world, now)
    result = invoke(app, str(rnd.id), "--skip-batches")
    assert result.exit_code == 0, result.output
    assert "sealed batches" not in result.output
