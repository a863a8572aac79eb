"""Pabulib services: reading a file into round settings, the import's unit of work, and the
streamed export (``pb_io.iter_pb_lines``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from tests.conftest import TEST_PEPPER
from tests.factories import World
from voting.domain import codes
from voting.domain.ballots import BallotKind
from voting.domain.errors import InvalidInput
from voting.domain.pabulib import parse_pb_text
from voting.domain.tally import OutcomeRule
from voting.extensions import db
from voting.models import AuditEvent, Ballot, BallotChoice, Candidate, Street, VotingRound
from voting.services import pb_files, pb_import, pb_io, rounds, voting

NOW = datetime(2026, 5, 12, 2, 30, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- reading the file ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        (
            {"date_begin": "31.03.2024", "date_end": "15.04.2024"},
            (utc(2024, 3, 31), utc(2024, 4, 16)),
        ),
        ({"date_begin": "2022", "date_end": "2022"}, (utc(2022, 1, 1), utc(2023, 1, 1))),
        ({}, (NOW - timedelta(days=1), NOW)),
        (
            {"date_begin": "05.06.2024", "date_end": "01.06.2024"},
            (utc(2024, 6, 5), utc(2024, 6, 6)),
        ),
        ({"date_begin": "someday", "date_end": "02.06.2024"}, (utc(2024, 6, 2), utc(2024, 6, 3))),
    ],
)
def test_window_file_dates_give_a_positive_utc_window(meta, expected):
    assert pb_files.window(meta, NOW) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("greedy", OutcomeRule.GREEDY),
        ("greedy-threshold", OutcomeRule.GREEDY),
        ("greedy-no-skip", OutcomeRule.GREEDY),
        ("unknown", OutcomeRule.GREEDY),
        ("equalshares", OutcomeRule.MES),
        ("equalshares/add1", OutcomeRule.MES_ADD1),
        ("equalshares/add1-comparison", OutcomeRule.MES_ADD1),
        ("equalshares/greedy", OutcomeRule.MES_GREEDY),
        ("equalshares/add1/greedy", OutcomeRule.MES_ADD1_GREEDY),
    ],
)
def test_outcome_rule_of_meta_rule(rule, expected):
    assert pb_files.outcome_rule_of({"rule": rule}) is expected


def test_every_round_rule_exports_a_name_that_imports_back():
    for rule in OutcomeRule:
        if rule is not OutcomeRule.TOP_N:
            assert pb_files.outcome_rule_of({"rule": pb_io.PB_RULE_NAMES[rule]}) is rule


def pb_text(*, meta: str = "", votes: str = "1;a\n2;a,b\n") -> bytes:
    return (
        "META\nkey;value\nunit;Testville\nbudget;100\nvote_type;approval\nrule;greedy\n"
        f"{meta}PROJECTS\nproject_id;cost\na;10\nb;90\nVOTES\nvoter_id;vote\n{votes}"
    ).encode()


def test_read_choices_range_widened_to_the_ballots():
    data = pb_files.read_pb_data(pb_text(meta="min_length;2\nmax_length;1\n"))
    assert pb_files.choices_range(data.meta, data) == (1, 2)


def test_read_knapsack_when_ballots_are_capped_at_the_budget():
    capped = pb_files.read_pb_data(pb_text(meta="max_sum_cost;100\n"))
    assert capped.kind is BallotKind.KNAPSACK
    assert pb_files.read_pb_data(pb_text()).kind is BallotKind.APPROVAL


def test_read_repeated_ids_collapsed_and_counted():
    data = pb_files.read_pb_data(pb_text(votes="1;a,a,b\n2;b,b\n"))
    assert data.ballots == [((0, 1), None), ((1,), None)]
    assert data.duplicates == 2


def test_read_duplicate_project_names_its_second_line():
    text = pb_text().replace(b"b;90\n", b"b;90\na;5\n")
    with pytest.raises(pb_files.PbImportError) as exc:
        pb_files.read_pb_data(text)
    assert exc.value.params == {"reason": "duplicate_project", "project": "a", "line": 11}


def test_receipt_is_a_receipt_code_and_hashes_as_codes_does():
    receipts = pb_import._receipts(500)
    assert len(set(receipts)) == 500
    for receipt in receipts:
        assert len(receipt) == codes.RECEIPT_LENGTH
        assert set(receipt) <= set(codes.RECEIPT_ALPHABET)
        assert hashlib.sha256(receipt.encode()).hexdigest() == codes.receipt_hash(receipt)


# --- the import's unit of work ---------------------------------------------------------


def test_import_failing_after_the_ballots_leaves_nothing(app, monkeypatch):
    def boom(*args, **kwargs):
        raise InvalidInput("boom")

    monkeypatch.setattr(pb_import, "count_round", boom)
    with pytest.raises(InvalidInput):
        pb_import.import_pb(pb_text(), file_name="t.pb")
    for model in (Street, Candidate, VotingRound, Ballot, BallotChoice, AuditEvent):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_import_progress_reports_reading_then_writing(app):
    seen = []
    pb_import.import_pb(pb_text(), file_name="t.pb", progress=lambda *a: seen.append(a))
    assert seen == [("read", 2, 2), ("write", 2, 2)]


# --- the streamed export ---------------------------------------------------------------


@pytest.fixture
def cumulative_round(app, now):  # type: ignore[no-untyped-def]
    """A closed cumulative round (5 points, MES): three ballots."""
    world = World()
    round_id = world.open_round(
        now,
        ballot_kind=BallotKind.CUMULATIVE,
        points_total=5,
        budget_yuan=500_000,
        outcome_rule=OutcomeRule.MES,
    )
    world.residents(3)
    a, b, c = (x.id for x in world.candidates[:3])
    for code, choices in zip(
        world.issue_codes(round_id), [{a: 2, b: 3}, {c: 5}, {a: 1, b: 1, c: 1}], strict=True
    ):
        login = voting.login_with_code(code, pepper=TEST_PEPPER.encode(), now=now)
        voting.cast_ballot(login, choices, now=now)
    rounds.close_round(world.official, round_id, now=now + timedelta(days=14))
    return world, round_id


def test_export_cumulative_round_lists_points_most_first(cumulative_round):
    world, round_id = cumulative_round
    a, b, c = (str(x.id) for x in world.candidates[:3])
    election = parse_pb_text("".join(pb_io.iter_pb_lines(round_id)))
    assert election.vote_type == "cumulative"
    assert (election.meta["max_sum_points"], election.meta["rule"]) == ("5", "equalshares")
    assert sorted((v.projects, v.points) for v in election.votes) == sorted(
        [((b, a), (3, 2)), ((c,), (5,)), ((a, b, c), (1, 1, 1))]
    )
    scores = {p.project_id: (p.extra["votes"], p.extra["score"]) for p in election.projects}
    assert (scores[a], scores[b], scores[c]) == (("2", "3"), ("2", "4"), ("2", "6"))


def test_export_same_lines_whatever_the_fetch_size(cumulative_round):
    _, round_id = cumulative_round
    whole = list(pb_io.pb_export(round_id).lines)
    assert list(pb_io.pb_export(round_id, yield_per=1).lines) == whole
    assert all(line.endswith("\n") for line in whole)


def test_export_reads_the_ballots_only_while_lines_are_taken(cumulative_round):
    _, round_id = cumulative_round
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        export = pb_io.pb_export(round_id)
        before = [s for s in statements if "ORDER BY ballot.id" in s]
        lines = list(export.lines)
        after = [s for s in statements if "ORDER BY ballot.id" in s]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (len(before), len(after)) == (0, 1)
    assert lines[-1].startswith("3;")


def test_export_cumulative_round_imports_back_with_its_rule(cumulative_round):
    _, round_id = cumulative_round
    text = "".join(pb_io.iter_pb_lines(round_id)).encode()
    report = pb_import.import_pb(text, file_name="street.pb")
    again = db.session.get(VotingRound, report.round_id)
    assert (again.ballot_kind, again.points_total, again.outcome_rule) == ("cumulative", 5, "mes")
    original = db.session.get(VotingRound, round_id)
    assert [e.public_votes for e in again.entries] == [e.public_votes for e in original.entries]
    assert [e.rule_selected for e in again.entries] == [e.rule_selected for e in original.entries]
