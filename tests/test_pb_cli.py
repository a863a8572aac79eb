"""``flask pb``: outcome (no database), import a .pb file as a closed round, export a round.

The outcome tests compare with the pabutools 1.2.3 outcomes cached in
``tests/domain/pabutools_outcomes.json``; the import tests read back what was stored; the
round-trip tests parse the exported file with the domain parser and compare it with the
original. Small files run by default, the two largest (Warszawa 2026, Wrocław 2015) are slow.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import TEST_PEPPER
from tests.factories import World, make_street
from voting.domain.pabulib import PbElection, parse_pb_text, read_pb
from voting.domain.replay import replay
from voting.domain.tally import OutcomeRule
from voting.extensions import db
from voting.models import (
    AuditEvent,
    Ballot,
    BallotChoice,
    Candidate,
    Community,
    Resident,
    RoundCandidate,
    StaffUser,
    Station,
    Street,
    VotingRound,
)
from voting.services import counting, rounds, sealing, staff, voting

PABULIB = Path(__file__).parents[2] / "shared" / "pabulib"
CACHE = Path(__file__).parent / "domain" / "pabutools_outcomes.json"
RULES = ["greedy", "mes", "mes-greedy", "mes-add1", "mes-add1-greedy"]
SMALL = [
    "Netherlands_Assen_2024.pb",
    "Poland_Gdynia_2020_Babie_Doly__small.pb",
    "France_Toulouse_2022_17_-_Mirail-Universite_Reynerie_Bellefontaine.pb",
]
ASSEN = "Netherlands_Assen_2024.pb"
MURCKI = "Poland_Katowice_2024_Murcki.pb"  # cumulative, 1–3 points
GROCHOW = "Poland_Warszawa_2026_Grochow.pb"  # repeated ids inside ballots
GRABOWEK = "Poland_Gdynia_2020_Grabowek__large.pb"  # voters' age and sex columns
KRAKOW = "Poland_Krakow_2020_Wzgorza_Krzeslawickie.pb"  # ordinal
SWIECIE = "Poland_Swiecie_2023.pb"


def corpus(name: str) -> Path:
    if not PABULIB.is_dir():
        pytest.skip(f"Pabulib corpus not found at {PABULIB}")
    return PABULIB / name


def cached(name: str, rule: str) -> list[str]:
    return json.loads(CACHE.read_text(encoding="utf-8"))["outcomes"][name][rule]


def invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def import_file(app: Flask, path: Path, *extra: str) -> VotingRound:
    result = invoke(app, "pb", "import", str(path), *extra)
    assert result.exit_code == 0, result.output
    return db.session.scalars(select(VotingRound).order_by(VotingRound.id.desc())).first()


def export_text(app: Flask, round_id: int, tmp_path: Path) -> str:
    out = tmp_path / f"round-{round_id}.pb"
    result = invoke(app, "pb", "export", str(round_id), "-o", str(out))
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def ballots(election: PbElection) -> Counter:
    """The multiset of ballots: approval sets, or project → points."""
    return Counter(
        frozenset(zip(v.projects, v.points, strict=True)) if v.points else frozenset(v.projects)
        for v in election.votes
    )


# --- outcome ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("rule", RULES)
def test_pb_outcome_json_equals_cached_pabutools_outcome(app, name, rule):
    path = corpus(name)
    result = invoke(app, "pb", "outcome", str(path), "--rule", rule, "--json")
    assert result.exit_code == 0, result.output
    assert result.output.startswith('{"rule": ')
    data = json.loads(result.output)
    assert list(data) == ["rule", "selected", "total_cost"]
    expected = cached(name, rule)
    costs = read_pb(path, voter_data=False).costs
    assert data == {
        "rule": rule,
        "selected": expected,
        "total_cost": int(sum(costs[p] for p in expected)),
    }


def test_pb_outcome_threshold_equals_cached_greedy_threshold(app):
    path = corpus(GROCHOW)
    result = invoke(app, "pb", "outcome", str(path), "--rule", "greedy", "--threshold", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["selected"] == cached(GROCHOW, "greedy-threshold")


def test_pb_outcome_fractional_total_cost_is_exact_decimal(app, tmp_path):
    path = tmp_path / "half.pb"
    path.write_text(tiny_pb(costs=("10.25", "20.5"), budget="40"), encoding="utf-8")
    result = invoke(app, "pb", "outcome", str(path), "--rule", "greedy", "--json")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith('"total_cost": 30.75}')
    assert json.loads(result.output)["total_cost"] == 30.75


def test_pb_outcome_threshold_with_mes_refused_as_usage_error(app):
    result = invoke(app, "pb", "outcome", str(corpus(ASSEN)), "--rule", "mes", "--threshold")
    assert result.exit_code == 2
    assert "--threshold applies to the greedy rules only" in result.output


def test_pb_outcome_without_json_prints_a_table(app):
    result = invoke(app, "pb", "outcome", str(corpus(ASSEN)), "--rule", "mes-add1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Netherlands_Assen_2024.pb, rule mes-add1: 9 of 14 projects")
    assert "PopUp Podium" in result.output
    assert len(lines) == 2 + 9


def test_pb_outcome_broken_file_names_the_line(app, tmp_path):
    path = tmp_path / "bad.pb"
    path.write_text(tiny_pb(votes=("1;a", "2;a,zz")), encoding="utf-8")
    result = invoke(app, "pb", "outcome", str(path), "--rule", "greedy", "--json")
    assert result.exit_code == 1
    assert "bad.pb line 19: the vote names projects that PROJECTS does not list" in result.output


# --- import ----------------------------------------------------------------------------


def tiny_pb(
    *,
    costs: tuple[str, ...] = ("10", "20"),
    budget: str = "25",
    vote_type: str = "approval",
    votes: tuple[str, ...] = ("1;a", "2;a,b", "3;b"),
    vote_header: str = "voter_id;vote",
) -> str:
    """A small valid file: projects a and b; the VOTES rows start at line 16."""
    lines = [
        "META",
        "key;value",
        "description;Tiny",
        "country;Testland",
        "unit;Testville",
        "instance;2025",
        "num_projects;2",
        f"num_votes;{len(votes)}",
        f"budget;{budget}",
        f"vote_type;{vote_type}",
        "rule;greedy",
        "PROJECTS",
        "project_id;cost;name",
        f"a;{costs[0]};Alpha",
        f"b;{costs[1]};Beta",
        "VOTES",
        vote_header,
        *votes,
    ]
    return "\n".join(lines) + "\n"


def test_pb_import_creates_closed_round_with_projects_and_ballots(app):
    path = corpus(ASSEN)
    election = read_pb(path, voter_data=False)
    rnd = import_file(app, path)
    assert rnd.status == "closed"
    assert rnd.closed_at is not None
    assert rnd.tally_digest
    assert rnd.street.name == "Pabulib: Netherlands Assen 2024"
    assert rnd.title == "Assen 2024"
    assert (rnd.ballot_kind, rnd.outcome_rule, rnd.budget_yuan) == ("approval", "mes_add1", 100000)
    assert rnd.ballot_count == len(election.votes) == count(Ballot)
    assert json.loads(rnd.pb_meta) == election.meta
    assert [(e.position, e.external_id) for e in rnd.entries] == [
        (i, p.project_id) for i, p in enumerate(election.projects, start=1)
    ]
    assert [e.candidate.cost_yuan for e in rnd.entries] == [int(p.cost) for p in election.projects]
    assert {e.candidate.status for e in rnd.entries} == {"accepted"}
    # Assen's own selection is reproduced by MES with Add1, ties here by the street's order.
    assert {e.external_id for e in rnd.entries if e.rule_selected} == election.file_selected
    assert counting.verify(rnd).ok
    assert sealing.verify_batches(rnd.id) == []
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["ballots.sealed", "round.imported"]


def test_pb_import_system_account_cannot_log_in(app):
    rnd = import_file(app, corpus(ASSEN))
    user = db.session.get(StaffUser, rnd.created_by_id)
    assert (user.role, user.active, user.street_id) == ("official", False, rnd.street_id)
    assert staff.authenticate(user.username, "") is None
    assert staff.authenticate(user.username, "!") is None


def test_pb_import_stores_no_voter_data(app):
    path = corpus(GRABOWEK)  # VOTES has age and sex
    rnd = import_file(app, path)
    stored = json.dumps(
        [
            [list(row) for row in db.session.execute(select(table))]
            for table in (Ballot.__table__, BallotChoice.__table__, Candidate.__table__)
        ],
        default=str,
    )
    for vote in read_pb(path).votes[:50]:
        assert f'"{vote.voter_id}"' not in stored
    assert count(Resident) == 0
    assert rnd.ballot_count == 1511


def test_pb_import_cumulative_file_keeps_points(app):
    path = corpus(MURCKI)
    election = read_pb(path, voter_data=False)
    rnd = import_file(app, path)
    assert (rnd.ballot_kind, rnd.points_total, rnd.max_choices) == ("cumulative", 3, 3)
    points = dict(
        db.session.execute(
            select(RoundCandidate.external_id, RoundCandidate.public_votes).where(
                RoundCandidate.round_id == rnd.id
            )
        ).all()
    )
    assert points == {p.project_id: int(p.extra["score"]) for p in election.projects}


def test_pb_import_same_file_twice_refused_naming_the_round(app):
    path = corpus(ASSEN)
    first = import_file(app, path)
    before = (count(Ballot), count(AuditEvent), count(Candidate))
    result = invoke(app, "pb", "import", str(path))
    assert result.exit_code == 1
    assert f"already round {first.id} (Assen 2024)" in result.output
    assert (count(Ballot), count(AuditEvent), count(Candidate)) == before


def test_pb_import_into_named_street_reuses_it(app):
    street = make_street(name="凯旋街道")
    rnd = import_file(app, corpus(ASSEN), "--street", "凯旋街道")
    assert rnd.street_id == street.id
    assert [c.name for c in street.communities][-1] == "Assen"
    assert count(Street) == 1


def test_pb_import_unknown_street_refused_and_nothing_written(app):
    result = invoke(app, "pb", "import", str(corpus(ASSEN)), "--street", "无此街道")
    assert result.exit_code == 1
    assert "No street named '无此街道'" in result.output
    assert (count(Street), count(AuditEvent)) == (0, 0)


BROKEN = [
    pytest.param(tiny_pb(votes=("1;a", "2;a,zz", "3;b")), 19, "the vote names projects", id="vote"),
    pytest.param(tiny_pb(costs=("10", "x")), 15, "'x' is not a number", id="cost"),
    pytest.param(tiny_pb(costs=("10", "-5")), 15, "project b has a negative cost", id="negative"),
    pytest.param(tiny_pb(budget="0"), 9, "the budget 0 is not positive", id="budget"),
    pytest.param(
        tiny_pb(
            vote_type="cumulative",
            vote_header="voter_id;vote;points",
            votes=("1;a;2",) * 2 + ("3;a,b;1.5,1",),
        ),
        20,
        "points must be whole numbers of at least 1, not 1.5",
        id="points",
    ),
    pytest.param(
        tiny_pb().replace("PROJECTS\n", "PROJETS\n"),
        12,
        "a META line needs a key and a value",
        id="section",
    ),
    pytest.param(tiny_pb(votes=("1;a;extra",)), 18, "this row does not have", id="cells"),
]


@pytest.mark.parametrize(("text", "line", "message"), BROKEN)
def test_pb_import_broken_file_names_the_line_and_writes_nothing(
    app, tmp_path, text, line, message
):
    path = tmp_path / "broken.pb"
    path.write_text(text, encoding="utf-8")
    result = invoke(app, "pb", "import", str(path))
    assert result.exit_code == 1
    assert f"broken.pb line {line}: {message}" in result.output
    assert "Nothing was imported." in result.output
    for model in (Street, Community, Station, StaffUser, Candidate, VotingRound, Ballot):
        assert count(model) == 0, model
    assert count(AuditEvent) == 0


def test_pb_import_not_utf8_refused_with_line(app, tmp_path):
    path = tmp_path / "latin.pb"
    path.write_bytes(tiny_pb(votes=("1;a", "2;b")).replace("Beta", "Bêta").encode("latin-1"))
    result = invoke(app, "pb", "import", str(path))
    assert result.exit_code == 1
    assert "latin.pb line 15: the file is not UTF-8 text." in result.output


def test_pb_import_ordinal_refused_naming_vote_type_line(app):
    result = invoke(app, "pb", "import", str(corpus(KRAKOW)))
    assert result.exit_code == 1
    assert "line 12: vote_type is ordinal" in result.output
    assert "--ordinal-as-approval" in result.output
    assert count(VotingRound) == 0


def test_pb_import_ordinal_as_approval_imports_the_sets(app, tmp_path):
    path = corpus(KRAKOW)
    rnd = import_file(app, path, "--ordinal-as-approval")
    assert rnd.ballot_kind == "approval"
    exported = parse_pb_text(export_text(app, rnd.id, tmp_path))
    assert exported.meta["vote_type"] == "approval"
    assert ballots(exported) == Counter(frozenset(v.projects) for v in read_pb(path).votes)


def test_pb_import_fractional_amounts_rounded_and_reported(app, tmp_path):
    path = tmp_path / "cents.pb"
    path.write_text(tiny_pb(costs=("10.25", "20"), budget="30.99"), encoding="utf-8")
    result = invoke(app, "pb", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "2 fractional amounts rounded to whole units." in result.output
    rnd = db.session.scalars(select(VotingRound)).one()
    assert rnd.budget_yuan == 30
    assert [e.candidate.cost_yuan for e in rnd.entries] == [11, 20]


# --- round trip ------------------------------------------------------------------------


def assert_round_trip(original: PbElection, exported: PbElection, rules: list[str]) -> None:
    assert [p.project_id for p in exported.projects] == [p.project_id for p in original.projects]
    assert exported.costs == original.costs
    assert exported.budget == original.budget
    assert len(exported.votes) == len(original.votes)
    assert ballots(exported) == ballots(original)
    assert [v.voter_id for v in exported.votes] == [
        str(i) for i in range(1, len(exported.votes) + 1)
    ]
    for rule in rules:
        assert replay(exported, rule).selected == replay(original, rule).selected, rule
    if original.threshold is not None:
        assert replay(exported, "greedy", threshold=True) == replay(
            original, "greedy", threshold=True
        )


@pytest.mark.parametrize(
    ("name", "rules"),
    [
        (ASSEN, RULES),
        (MURCKI, ["greedy", "greedy-points", "mes", "mes-greedy"]),
        (GROCHOW, ["greedy", "mes", "mes-greedy"]),
        (SWIECIE, ["greedy", "mes", "mes-add1"]),
    ],
)
def test_pb_import_then_export_round_trip_same_election(app, tmp_path, name, rules):
    path = corpus(name)
    original = read_pb(path, voter_data=False)
    rnd = import_file(app, path)
    exported = parse_pb_text(export_text(app, rnd.id, tmp_path))
    assert_round_trip(original, exported, rules)
    names = [p.extra["name"] for p in original.projects]
    assert [p.extra["name"] for p in exported.projects] == names
    selected = {e.external_id for e in rnd.entries if e.rule_selected}
    assert exported.file_selected == selected
    assert (
        exported.meta["rule"]
        == {"greedy": "greedy", "mes_add1": "equalshares/add1"}[rnd.outcome_rule]
    )
    for key in ("description", "country", "unit", "instance", "date_begin", "date_end"):
        assert exported.meta[key] == original.meta[key]


def test_pb_export_of_export_is_identical(app, tmp_path):
    rnd = import_file(app, corpus(MURCKI))
    first = export_text(app, rnd.id, tmp_path)
    again = import_file(app, _write(tmp_path / "again.pb", first))
    second = export_text(app, again.id, tmp_path)
    assert parse_pb_text(second).projects == parse_pb_text(first).projects
    assert ballots(parse_pb_text(second)) == ballots(parse_pb_text(first))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Poland_Warszawa_2026.pb", "Poland_Wroclaw_2015_150_-_500.pb"])
def test_pb_round_trip_largest_files(app, tmp_path, name):
    path = corpus(name)
    original = read_pb(path, voter_data=False)
    rnd = import_file(app, path)
    assert counting.verify(rnd).ok
    exported = parse_pb_text(export_text(app, rnd.id, tmp_path))
    assert_round_trip(original, exported, ["greedy", "mes"])


# --- export ----------------------------------------------------------------------------


def test_pb_export_imported_round_has_no_personal_data(app, tmp_path):
    path = corpus(GRABOWEK)
    rnd = import_file(app, path)
    text = export_text(app, rnd.id, tmp_path)
    exported = parse_pb_text(text)
    assert exported.vote_columns == ("voter_id", "vote")
    assert "age" not in exported.project_columns
    for ballot_id, receipt_hash, hint in db.session.execute(
        select(Ballot.id, Ballot.receipt_hash, Ballot.receipt_hint)
    ):
        assert ballot_id not in text
        assert receipt_hash not in text
        assert hint not in text
    # Voter 1, 2, … of the export are the ballots in random-id order, not the file's voters.
    assert [v.projects for v in exported.votes] != [v.projects for v in read_pb(path).votes]


@pytest.fixture
def street_round(app, now):  # type: ignore[no-untyped-def]
    """A closed 凯旋街道 round: knapsack ballots, greedy, four residents who voted."""
    world = World()
    round_id = world.open_round(now, budget_yuan=600_000, outcome_rule=OutcomeRule.GREEDY)
    residents = world.residents(4)
    codes = world.issue_codes(round_id)
    ids = [c.id for c in world.candidates]
    for code, choices in zip(codes, [[ids[0]], [ids[0], ids[1]], [ids[2]], [ids[1]]], strict=True):
        login = voting.login_with_code(code, pepper=TEST_PEPPER.encode(), now=now)
        voting.cast_ballot(login, choices, now=now)
    rounds.close_round(world.official, round_id, now=now + timedelta(days=14))
    return world, round_id, residents


def test_pb_export_street_round_writes_street_meta_and_counts(app, street_round, tmp_path):
    world, round_id, _ = street_round
    exported = parse_pb_text(export_text(app, round_id, tmp_path))
    meta = exported.meta
    assert (meta["country"], meta["unit"], meta["district"]) == ("China", "凯旋街道", "上城区")
    assert (meta["instance"], meta["vote_type"], meta["rule"]) == ("2026", "approval", "greedy")
    assert (meta["date_begin"], meta["date_end"]) == ("11.05.2026", "25.05.2026")
    assert (meta["budget"], meta["max_sum_cost"], meta["currency"]) == ("600000", "600000", "CNY")
    assert meta["comment"].startswith("#1: ")
    assert [p.project_id for p in exported.projects] == [str(c.id) for c in world.candidates]
    votes = {p.project_id: int(p.extra["votes"]) for p in exported.projects}
    ids = [str(c.id) for c in world.candidates]
    assert votes == {ids[0]: 2, ids[1]: 2, ids[2]: 1, ids[3]: 0, ids[4]: 0}
    stored = db.session.scalars(
        select(RoundCandidate).where(RoundCandidate.round_id == round_id)
    ).all()
    assert exported.file_selected == {str(e.candidate_id) for e in stored if e.rule_selected}
    assert sorted(map(sorted, (v.projects for v in exported.votes))) == sorted(
        [[ids[0]], sorted([ids[0], ids[1]]), [ids[2]], [ids[1]]]
    )


def test_pb_export_street_round_has_no_personal_data(app, street_round, tmp_path):
    _, round_id, residents = street_round
    text = export_text(app, round_id, tmp_path)
    for resident in residents:
        assert resident.name not in text
        assert resident.id_hmac not in text
    for ballot_id, receipt_hash, hint in db.session.execute(
        select(Ballot.id, Ballot.receipt_hash, Ballot.receipt_hint)
    ):
        assert ballot_id not in text
        assert receipt_hash not in text
        assert hint not in text
    assert text.split("VOTES\n")[1].splitlines()[0] == "voter_id;vote"


def test_pb_export_to_stdout_is_the_file(app, street_round, tmp_path):
    _, round_id, _ = street_round
    result = invoke(app, "pb", "export", str(round_id))
    assert result.exit_code == 0, result.output
    assert result.stdout == export_text(app, round_id, tmp_path)
    assert "4 ballots written to standard output" in result.stderr


def test_pb_export_open_round_refused(app, now):
    world = World()
    round_id = world.open_round(now)
    result = invoke(app, "pb", "export", str(round_id))
    assert result.exit_code == 1
    assert "The round is open: only closed or finalized rounds are exported." in result.output


def test_pb_export_unknown_round_refused(app):
    result = invoke(app, "pb", "export", "999")
    assert result.exit_code == 1
    assert "No round 999." in result.output


def test_pb_export_street_round_imports_back_as_the_same_election(app, street_round, tmp_path):
    _, round_id, _ = street_round
    text = export_text(app, round_id, tmp_path)
    again = import_file(app, _write(tmp_path / "street.pb", text))
    assert (again.ballot_kind, again.outcome_rule, again.budget_yuan) == (
        "knapsack",
        "greedy",
        600_000,
    )
    assert ballots(parse_pb_text(export_text(app, again.id, tmp_path))) == ballots(
        parse_pb_text(text)
    )
    assert Fraction(parse_pb_text(text).meta["budget"]) == 600_000
