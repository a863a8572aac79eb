"""Reading and writing Pabulib ``.pb`` files: quirks of the format, round trips, real files."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from voting.domain.pabulib import (
    PabulibFormatError,
    PbElection,
    PbProject,
    PbVote,
    PbVotes,
    dump_pb,
    format_number,
    open_pb,
    parse_pb,
    parse_pb_text,
    read_pb,
)

PABULIB = Path(__file__).parents[3] / "shared" / "pabulib"
SMALL_FILES = [
    "France_Toulouse_2022_17_-_Mirail-Universite_Reynerie_Bellefontaine.pb",
    "Netherlands_Assen_2024.pb",
    "Poland_Gdynia_2020_Babie_Doly__small.pb",
    "Poland_Katowice_2024_Murcki.pb",
    "Poland_Warszawa_2026_Grochow.pb",
    "US_Stanford_Dataset_Your_Voice_Your_Choice_Parks_and_Streets-_Seattle_2019_"
    "District_3_vote_knapsacks.pb",
]


def needs_corpus() -> None:
    if not PABULIB.is_dir():
        pytest.skip(f"Pabulib corpus not found at {PABULIB} (shared/pabulib beside the repo)")


def pb(vote_type: str = "approval", votes: str = "1;a,b\n2;b", extra_meta: str = "") -> str:
    header = "voter_id;vote;points" if vote_type in {"cumulative", "scoring"} else "voter_id;vote"
    return (
        "META\nkey;value\ndescription;test\ncountry;Nowhere\nunit;Town\ninstance;2024\n"
        f"num_projects;3\nnum_votes;2\nbudget;100\nvote_type;{vote_type}\nrule;greedy\n"
        f"{extra_meta}"
        "PROJECTS\nproject_id;cost;name;selected\n"
        "a;60;Park;1\nb;50.0;Bench;0\nc;10;Lamp;none\n"
        f"VOTES\n{header}\n{votes}\n"
    )


# --- reading ---------------------------------------------------------------------------


def test_parse_pb_minimal_file_fields_read():
    election = parse_pb_text(pb())
    assert election.meta["unit"] == "Town"
    assert election.vote_type == "approval"
    assert election.budget == 100
    assert [p.project_id for p in election.projects] == ["a", "b", "c"]
    assert election.projects[0] == PbProject("a", Fraction(60), 1, {"name": "Park"})
    assert election.votes == (PbVote("1", ("a", "b")), PbVote("2", ("b",)))


def test_parse_pb_float_cost_exact_fraction():
    election = parse_pb_text(pb().replace("b;50.0;", "b;1656699.67;"))
    assert election.costs["b"] == Fraction(165669967, 100)


def test_parse_pb_decimal_comma_in_cost_and_budget_accepted():
    text = pb().replace("budget;100", "budget;100,5").replace("b;50.0;", "b;12,25;")
    election = parse_pb_text(text)
    assert election.budget == Fraction(201, 2)
    assert election.costs["b"] == Fraction(49, 4)


def test_parse_pb_selected_column_kept_none_is_missing():
    election = parse_pb_text(pb())
    assert [p.selected for p in election.projects] == [1, 0, None]
    assert election.file_selected == {"a"}


def test_parse_pb_selected_special_flag_kept():
    election = parse_pb_text(pb().replace("c;10;Lamp;none", "c;10;Lamp;2"))
    assert election.projects[2].selected == 2
    assert election.file_selected == {"a"}


def test_parse_pb_quoted_fields_with_semicolons_and_quotes():
    text = pb().replace("a;60;Park;1", 'a;60;"""Konikowo"" - park; etap II";1')
    assert parse_pb_text(text).projects[0].extra["name"] == '"Konikowo" - park; etap II'


def test_parse_pb_string_ids_kept_as_text():
    text = pb(votes="1;a,c\n2;c").replace("a;60;", "BO.OM.13/24;60;")
    text = text.replace("1;a,c", "1;BO.OM.13/24,c")
    election = parse_pb_text(text)
    assert election.projects[0].project_id == "BO.OM.13/24"
    assert election.votes[0].projects == ("BO.OM.13/24", "c")


def test_parse_pb_bom_crlf_and_blank_lines_tolerated():
    text = "\ufeff" + pb().replace("\n", "\r\n").replace("PROJECTS", "\r\nPROJECTS")
    assert parse_pb_text(text) == parse_pb_text(pb())


def test_parse_pb_mixed_line_endings_tolerated():
    lines = pb().split("\n")
    text = "\r\n".join(lines[:10]) + "\r\n" + "\n".join(lines[10:])
    assert parse_pb_text(text) == parse_pb_text(pb())


def test_parse_pb_cells_stripped_like_pabulib_example():
    text = pb().replace("unit;Town", "unit; Town ").replace("1;a,b", "1 ; a,b ")
    election = parse_pb_text(text)
    assert election.meta["unit"] == "Town"
    assert election.votes[0] == PbVote("1", ("a", "b"))


def test_parse_pb_header_order_free():
    text = pb().replace("project_id;cost;name;selected", "name;selected;cost;project_id")
    text = text.replace("a;60;Park;1", "Park;1;60;a").replace("b;50.0;Bench;0", "Bench;0;50;b")
    text = text.replace("c;10;Lamp;none", "Lamp;none;10;c")
    assert parse_pb_text(text).projects == parse_pb_text(pb()).projects


def test_parse_pb_approval_duplicates_collapsed_like_pabutools():
    election = parse_pb_text(pb(votes="1;b,b,a,b\n2;c"))
    assert election.votes[0].projects == ("b", "a")
    assert election.votes[0].duplicates == 2


def test_parse_pb_ordinal_duplicates_keep_first_position():
    election = parse_pb_text(pb("ordinal", votes="1;c,a,c,b\n2;a"))
    assert election.votes[0].projects == ("c", "a", "b")


def test_parse_pb_cumulative_duplicates_last_points_win():
    election = parse_pb_text(pb("cumulative", votes="1;a,b,a;1,2,3\n2;c;1.5"))
    assert election.votes[0].projects == ("a", "b")
    assert election.votes[0].points == (Fraction(3), Fraction(2))
    assert election.votes[0].duplicates == 1
    assert election.votes[1].points == (Fraction(3, 2),)


def test_parse_pb_empty_ballot_allowed():
    assert parse_pb_text(pb(votes="1;\n2;a")).votes[0].projects == ()


def test_parse_pb_threshold_read():
    election = parse_pb_text(pb(extra_meta="min_project_score_threshold;30\n"))
    assert election.threshold == 30
    assert parse_pb_text(pb()).threshold is None


def test_parse_pb_voter_columns_kept_or_dropped():
    text = pb(votes="1;a;34;F\n2;b;none;M").replace("voter_id;vote", "voter_id;vote;age;sex")
    assert parse_pb_text(text).votes[0].extra == {"age": "34", "sex": "F"}
    assert parse_pb_text(text).votes[1].extra == {"sex": "M"}
    assert parse_pb(text.splitlines(), voter_data=False).votes[0].extra == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (pb(votes="1;a,z"), "unknown_project"),
        (pb("cumulative", votes="1;a,b;1"), "points_do_not_match_vote"),
        (pb().replace("b;50.0;", "b;lots;"), "not_a_number"),
        (pb().split("VOTES")[0], "missing_section"),
        ("PROJECTS\nproject_id;cost\n", "expected_section"),
        (pb().replace("project_id;cost", "id;cost"), "missing_column"),
        (pb(votes="1;a;extra"), "wrong_cell_count"),
        (pb("ranked"), "unknown_vote_type"),
    ],
)
def test_parse_pb_broken_file_refused_with_reason(text, reason):
    with pytest.raises(PabulibFormatError) as caught:
        parse_pb_text(text)
    assert caught.value.params["reason"] == reason


def test_open_pb_votes_streamed_lazily():
    lines_read = []

    def lines():
        for line in pb(votes="1;a\n2;b\n3;c\n4;z").splitlines():
            lines_read.append(line)
            yield line

    stream = open_pb(lines())
    assert [p.project_id for p in stream.projects] == ["a", "b", "c"]
    assert next(stream.votes) == PbVote("1", ("a",))
    assert len(lines_read) < 30
    with pytest.raises(PabulibFormatError):
        list(stream.votes)  # the unknown project "z" is only met when its row is read


# --- writing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(5), "5"), (Fraction(1, 4), "0.25"), (Fraction(-7, 2), "-3.5"), (3, "3")],
)
def test_format_number_exact_decimal(value, text):
    assert format_number(value) == text


def test_format_number_no_terminating_decimal_refused():
    with pytest.raises(ValueError, match="exact decimal"):
        format_number(Fraction(1, 3))


@pytest.mark.parametrize("vote_type", ["approval", "ordinal", "cumulative"])
def test_dump_pb_round_trip_equal(vote_type):
    votes = "1;a,b;2,1\n2;c;3" if vote_type == "cumulative" else "1;a,b\n2;c"
    text = pb(vote_type, votes=votes).replace("a;60;Park;1", 'a;60.5;"Park; ""big""";1')
    election = parse_pb_text(text)
    again = parse_pb_text(dump_pb(election))
    assert again == election
    assert again.projects[0].extra["name"] == 'Park; "big"'


def test_dump_pb_counts_set_from_data():
    election = PbElection(
        {"description": "x", "num_votes": "99", "budget": "10", "vote_type": "approval"},
        (PbProject("p1", Fraction(3)),),
        (PbVote("v1", ("p1",)),),
    )
    text = dump_pb(election)
    assert "num_votes;1\n" in text
    assert "num_projects;1\n" in text
    assert parse_pb_text(text).votes == election.votes


def test_dump_pb_comma_in_project_id_refused():
    election = PbElection(
        {"budget": "10", "vote_type": "approval"},
        (PbProject("a,b", Fraction(3)),),
        (PbVote("v1", ("a,b",)),),
    )
    with pytest.raises(ValueError, match="comma"):
        dump_pb(election)


# --- the real files --------------------------------------------------------------------


def test_read_pb_wroclaw_2017_semicolons_in_quoted_names():
    needs_corpus()
    election = read_pb(PABULIB / "Poland_Wroclaw_2017.pb")
    names = {p.project_id: p.extra["name"] for p in election.projects}
    assert names["499"].startswith('"Konikowo" - Budowa')
    assert "; ETAP II" in names["50"]
    assert len(election.votes) == int(election.meta["num_votes"]) == 62529


def test_read_pb_grochow_duplicate_vote_counted_once():
    needs_corpus()
    election = read_pb(PABULIB / "Poland_Warszawa_2026_Grochow.pb")
    project = next(p for p in election.projects if p.project_id == "2107")
    assert project.extra["votes"] == "857"  # the file counts the duplicate
    assert sum("2107" in v.projects for v in election.votes) == 856  # pabutools' count


def test_read_pb_czestochowa_duplicate_points_last_wins():
    needs_corpus()
    election = read_pb(PABULIB / "Poland_Czestochowa_2020.pb")
    project = next(p for p in election.projects if p.project_id == "579")
    assert (project.extra["votes"], project.extra["score"]) == ("704", "5437")
    listed = [v for v in election.votes if "579" in v.projects]
    points = sum(v.points[v.projects.index("579")] for v in listed if v.points)
    assert (len(listed), points) == (701, 5434)


def test_read_pb_toulouse_float_costs_exact():
    needs_corpus()
    election = read_pb(PABULIB / "France_Toulouse_2024.pb")
    assert all(p.cost.denominator == 1 for p in election.projects)
    assert election.budget == 8_000_000


@pytest.mark.parametrize("name", SMALL_FILES)
def test_read_pb_small_files_round_trip(name):
    needs_corpus()
    election = read_pb(PABULIB / name)
    assert len(election.projects) == int(election.meta["num_projects"])
    assert len(election.votes) == int(election.meta["num_votes"])
    assert parse_pb_text(dump_pb(election)) == election


@pytest.mark.slow
def test_read_pb_every_file_round_trip():
    needs_corpus()
    for path in sorted(PABULIB.glob("*.pb")):
        election = read_pb(path)
        assert len(election.votes) == int(election.meta["num_votes"]), path.name
        assert parse_pb_text(dump_pb(election)) == election, path.name


# --- counted reading: read_pb(voter_data=False) ----------------------------------------


def row_by_row(text: str) -> PbElection:
    """The reference: the file read one row at a time, voter columns dropped."""
    return parse_pb(text.splitlines(keepends=True), voter_data=False)


def counted(tmp_path: Path, text: str) -> PbElection:
    path = tmp_path / "election.pb"
    path.write_bytes(text.encode("utf-8"))  # line endings and BOM exactly as given
    return read_pb(path, voter_data=False)


def index_groups(election: PbElection) -> dict[frozenset[str], int]:
    """The approval index read back as sets of ids, after checking it against itself."""
    index = election.approval_index()
    ids = [p.project_id for p in election.projects]
    for p, groups_of in enumerate(index.groups):
        assert groups_of == [g for g, ballot in enumerate(index.ballots) if p in ballot]
    groups: Counter[frozenset[str]] = Counter()
    for ballot, n in zip(index.ballots, index.weights, strict=True):
        groups[frozenset(ids[p] for p in ballot)] += n
    return dict(groups)


def assert_same_reading(fast: PbElection, slow: PbElection) -> None:
    assert fast == slow
    assert len(fast.votes) == len(slow.votes)
    assert fast.ballot_counts() == slow.ballot_counts()
    assert fast.approval_groups() == slow.approval_groups()
    assert fast.approval_counts() == slow.approval_counts()
    assert index_groups(fast) == index_groups(slow) == slow.approval_groups()


COUNTED_QUIRKS = {
    "plain": pb(),
    "repeats and orders": pb(votes="1;b,b,a,b\n2;c\n3;a,b\n4;b,a\n5;b,b,a,b"),
    "ordinal repeats": pb("ordinal", votes="1;c,a,c,b\n2;a\n3;c,a,c,b"),
    "cumulative repeats": pb("cumulative", votes="1;a,b,a;1,2,3\n2;c;1.5\n3;a,b,a;1,2,3"),
    "empty ballots": pb(votes="1;\n2;a\n3;"),
    "spaces": pb(votes="1 ; a, b \n2;b\n3;a,b"),
    "empty ids": pb(votes="1;a,,b\n2;b,\n3;,a"),
    "bom crlf": "\ufeff" + pb().replace("\n", "\r\n"),
    "cr only": pb().replace("\n", "\r"),
    "no final newline": pb().rstrip("\n"),
    "blank lines": pb(votes="1;a\n\n2;b\n   \n3;c\n\n"),
    "quoted vote": pb(votes='1;"a,b"\n2;b'),
    "decimal comma": pb().replace("budget;100", "budget;100,5").replace("b;50.0;", "b;12,25;"),
    "string ids": pb(votes="1;BO.OM.13/24,c\n2;c").replace("a;60;", "BO.OM.13/24;60;"),
    "voter columns": pb(votes="1;a;34;F\n2;b;none;M").replace(
        "voter_id;vote", "voter_id;vote;age;sex"
    ),
    "vote column first": pb(votes="a,b;1\nb;2").replace("voter_id;vote", "vote;voter_id"),
    "quoted project name": pb().replace("a;60;Park;1", 'a;60;"Park; ""big""";1'),
    "lowercase title": pb().replace("VOTES\n", "votes\n"),
    "title with a cell": pb().replace("VOTES\n", "VOTES;\n"),
    "project id VOTES2": pb().replace("a;60;Park;1\n", "a;60;Park;1\nVOTES2;5;Tiny;0\n"),
    "vote column last": pb(votes="1;F;a,b\n2;M;b").replace("voter_id;vote", "voter_id;sex;vote"),
    "vote column inside": pb(votes="1;34;a,b;F\n2;40;b,b;M\n3;1;b;F").replace(
        "voter_id;vote", "voter_id;age;vote;sex"
    ),
    "points apart from the vote": pb(
        "cumulative", votes="1;2,1;K;a,b\n2;3;M;c\n3;2,1;L;a,b\n4;2,1;K;b,a"
    ).replace("voter_id;vote;points", "voter_id;points;sex;vote"),
    "non-ASCII text before and among the votes": pb(
        votes="1;a,b;Zameście „Łąka”\n2;b;Ligota\n3;b;Żółć"
    )
    .replace("voter_id;vote", "voter_id;vote;neighborhood")
    .replace("Park;1", "Łąka „zielona”;1"),
    "CRLF, LF and a lone CR mixed": pb(votes="1;a;x\r\n2;b;y\n3;a,b;z\r4;b;w\r\n").replace(
        "voter_id;vote", "voter_id;vote;sex"
    ),
    "CRLF with the vote last": pb(votes="1;x;a,b\r\n2;y;b\r\n").replace(
        "voter_id;vote", "voter_id;sex;vote"
    ),
    "NUL in a voter column": pb(votes="1;a;x\0y\n2;b;z").replace(
        "voter_id;vote", "voter_id;vote;sex"
    ),
}


@pytest.mark.parametrize("text", COUNTED_QUIRKS.values(), ids=COUNTED_QUIRKS.keys())
def test_read_pb_counted_equals_row_by_row(tmp_path, text):
    assert_same_reading(counted(tmp_path, text), row_by_row(text))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (pb(votes="1;a,z"), "unknown_project"),
        (pb(votes="1;a,b\n2; z"), "unknown_project"),
        (pb("cumulative", votes="1;a,b;1"), "points_do_not_match_vote"),
        (pb("cumulative", votes="1;a;lots"), "not_a_number"),
        (pb(votes="1;a;extra"), "wrong_cell_count"),
        (pb(votes="1;a\n2"), "wrong_cell_count"),
        (  # as many ';' in all as three good rows: one short, one long
            pb(votes="1;34;a,b;F\n2;40;b\n3;1;b;F;x").replace(
                "voter_id;vote", "voter_id;age;vote;sex"
            ),
            "wrong_cell_count",
        ),
        (pb("ranked"), "unknown_vote_type"),
    ],
)
def test_read_pb_counted_refuses_what_row_by_row_refuses(tmp_path, text, reason):
    with pytest.raises(PabulibFormatError) as caught:
        counted(tmp_path, text)
    assert caught.value.params["reason"] == reason


def test_read_pb_counted_votes_read_on_first_use(tmp_path):
    election = counted(tmp_path, pb(votes="1;a,b\n2;b\n3;b,a"))
    assert isinstance(election.votes, PbVotes)
    assert len(election.votes) == 3
    assert election.ballot_counts() == {
        (("a", "b"), None): 1,
        (("b",), None): 1,
        (("b", "a"), None): 1,
    }
    assert election.approval_groups() == {frozenset("ab"): 2, frozenset("b"): 1}
    assert election.approval_counts() == {"a": 2, "b": 3, "c": 0}
    assert election.votes[1] == PbVote("2", ("b",))
    assert election.votes[1:] == (PbVote("2", ("b",)), PbVote("3", ("b", "a")))
    assert list(election.votes) == list(parse_pb_text(pb(votes="1;a,b\n2;b\n3;b,a")).votes)
    assert election.votes == parse_pb_text(pb(votes="1;a,b\n2;b\n3;b,a")).votes


@pytest.mark.parametrize("name", SMALL_FILES)
def test_read_pb_counted_small_files_equal_row_by_row(name):
    needs_corpus()
    text = (PABULIB / name).read_text(encoding="utf-8-sig")
    election = read_pb(PABULIB / name, voter_data=False)
    assert isinstance(election.votes, PbVotes)  # the counted reading was used
    assert_same_reading(election, row_by_row(text))


@pytest.mark.slow
def test_read_pb_counted_every_file_equal_row_by_row():
    needs_corpus()
    for path in sorted(PABULIB.glob("*.pb")):
        election = read_pb(path, voter_data=False)
        assert isinstance(election.votes, PbVotes), path.name
        assert_same_reading(election, row_by_row(path.read_text(encoding="utf-8-sig")))
