"""Counting votes, the street ranking and the advisory outcome (top_n / greedy)."""

from __future__ import annotations

import random

import pytest

from voting.domain.ballots import CandidateRef
from voting.domain.errors import InvalidInput
from voting.domain.tally import (
    OutcomeRule,
    TallyResult,
    TallyRow,
    count_votes,
    rank,
    rank_key,
    select_greedy,
    select_top_n,
    tally,
)


def ref(cid: int, cost: int, position: int | None = None) -> CandidateRef:
    return CandidateRef(id=cid, cost=cost, position=cid if position is None else position)


def ids(candidates) -> list[int]:
    return [c.id for c in candidates]


# --- counting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate_ids", "ballots", "expected"),
    [
        ([1, 2, 3], [], {1: 0, 2: 0, 3: 0}),
        ([1, 2, 3], [[1], [1, 2], [1, 3]], {1: 3, 2: 1, 3: 1}),
        ([1, 2, 3], [[2], [2], [], [2, 3]], {1: 0, 2: 3, 3: 1}),
        ([1, 2], [{1, 2}, frozenset({2})], {1: 1, 2: 2}),
        ([], [[1]], {}),
    ],
)
def test_count_votes_ballots_counts_zero_filled(candidate_ids, ballots, expected):
    assert count_votes(candidate_ids, ballots) == expected


def test_count_votes_ids_not_standing_ignored():
    assert count_votes([1, 2], [[1, 9], [9]]) == {1: 1, 2: 0}


def test_count_votes_keys_in_candidate_order():
    assert list(count_votes([3, 1, 2], [[1]])) == [3, 1, 2]


def test_count_votes_generator_ballots_counted():
    ballots = (iter(b) for b in ([1, 2], [2]))
    assert count_votes(iter([1, 2]), ballots) == {1: 1, 2: 2}


# --- ranking ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidates", "counts", "expected"),
    [
        # votes descending decide first
        ([ref(1, 10), ref(2, 10), ref(3, 10)], {1: 5, 2: 9, 3: 7}, [2, 3, 1]),
        # equal votes: the cheaper first, whatever the position
        ([ref(1, 50, 1), ref(2, 20, 2), ref(3, 30, 3)], {1: 4, 2: 4, 3: 4}, [2, 3, 1]),
        # equal votes and cost: the lower ballot position first, whatever the id
        ([ref(1, 10, 3), ref(2, 10, 1), ref(3, 10, 2)], {1: 4, 2: 4, 3: 4}, [2, 3, 1]),
        # equal votes, cost and position: the lower id first
        ([ref(9, 10, 1), ref(4, 10, 1), ref(6, 10, 1)], {9: 1, 4: 1, 6: 1}, [4, 6, 9]),
        # more votes beats lower cost
        ([ref(1, 5, 1), ref(2, 100, 2)], {1: 3, 2: 4}, [2, 1]),
        # missing from counts means zero votes
        ([ref(1, 10), ref(2, 10), ref(3, 5)], {2: 1}, [2, 3, 1]),
    ],
)
def test_rank_tie_break_votes_cost_position_id(candidates, counts, expected):
    assert ids(rank(candidates, counts)) == expected


def test_rank_key_fields_in_order():
    assert rank_key(CandidateRef(id=7, cost=40, position=2), 12) == (-12, 40, 2, 7)


def test_rank_input_order_irrelevant():
    candidates = [ref(1, 30), ref(2, 20), ref(3, 20), ref(4, 50), ref(5, 10)]
    counts = {1: 8, 2: 8, 3: 8, 4: 9, 5: 1}
    expected = [4, 2, 3, 1, 5]
    rng = random.Random(5)
    for _ in range(20):
        shuffled = candidates[:]
        rng.shuffle(shuffled)
        assert ids(rank(shuffled, counts)) == expected


# --- selection -------------------------------------------------------------------------

ORDERED = [ref(1, 60), ref(2, 50), ref(3, 30), ref(4, 10), ref(5, 40)]


@pytest.mark.parametrize(
    ("seats", "expected"),
    [(0, []), (1, [1]), (3, [1, 2, 3]), (5, [1, 2, 3, 4, 5]), (8, [1, 2, 3, 4, 5])],
)
def test_select_top_n_seats_first_n(seats, expected):
    assert select_top_n(ORDERED, seats) == expected


@pytest.mark.parametrize(
    ("budget", "seats", "expected"),
    [
        # 60 fits, 50 does not (40 left), 30 fits, 10 fits (0 left), 40 does not
        (100, None, [1, 3, 4]),
        # the cap stops the walk after two
        (100, 2, [1, 3]),
        # exactly the sum of the first two
        (110, None, [1, 2]),
        # the top candidate alone does not fit: skipped, cheaper later ones taken
        (50, None, [2]),
        (45, None, [3, 4]),
        (9, None, []),
        (0, None, []),
        (1000, None, [1, 2, 3, 4, 5]),
        (1000, 3, [1, 2, 3]),
        (1000, 0, []),
    ],
)
def test_select_greedy_budget_seats_expected(budget, seats, expected):
    assert select_greedy(ORDERED, budget, seats) == expected


def test_select_greedy_seats_default_no_cap():
    assert select_greedy(ORDERED, 1000) == [1, 2, 3, 4, 5]


def test_select_greedy_skips_misfit_takes_later_cheaper():
    ordered = [ref(1, 70), ref(2, 40), ref(3, 30)]
    # 70 taken, 40 no longer fits in 30, 30 does.
    assert select_greedy(ordered, 100, seats=5) == [1, 3]


# --- tally -----------------------------------------------------------------------------

CANDIDATES = [ref(1, 30), ref(2, 50), ref(3, 20), ref(4, 80), ref(5, 10)]
COUNTS = {1: 40, 2: 40, 3: 25, 4: 60, 5: 10}
# rank: 4 (60), 1 (40, cost 30), 2 (40, cost 50), 3 (25), 5 (10)


def test_tally_top_n_rows_ranked_with_flags():
    result = tally(CANDIDATES, COUNTS, ballots=90, rule=OutcomeRule.TOP_N, seats=3, budget=None)
    assert result == TallyResult(
        ballots=90,
        rule=OutcomeRule.TOP_N,
        rows=(
            TallyRow(candidate_id=4, votes=60, rank=1, tied=False, selected=True),
            TallyRow(candidate_id=1, votes=40, rank=2, tied=True, selected=True),
            TallyRow(candidate_id=2, votes=40, rank=3, tied=True, selected=True),
            TallyRow(candidate_id=3, votes=25, rank=4, tied=False, selected=False),
            TallyRow(candidate_id=5, votes=10, rank=5, tied=False, selected=False),
        ),
    )
    assert result.selected_ids == frozenset({4, 1, 2})


def test_tally_greedy_rows_ranked_selection_within_budget():
    result = tally(CANDIDATES, COUNTS, ballots=90, rule=OutcomeRule.GREEDY, seats=3, budget=120)
    # 4 (80) fits, 1 (30) fits -> 10 left, 2 (50) skipped, 3 (20) skipped, 5 (10) fits.
    assert [row.candidate_id for row in result.rows] == [4, 1, 2, 3, 5]
    assert [row.rank for row in result.rows] == [1, 2, 3, 4, 5]
    assert [row.selected for row in result.rows] == [True, True, False, False, True]
    assert result.selected_ids == frozenset({4, 1, 5})
    assert result.rule is OutcomeRule.GREEDY


def test_tally_greedy_seat_cap_applies():
    result = tally(CANDIDATES, COUNTS, ballots=90, rule=OutcomeRule.GREEDY, seats=1, budget=500)
    assert result.selected_ids == frozenset({4})


def test_tally_greedy_without_budget_raises_greedy_needs_budget():
    with pytest.raises(InvalidInput) as exc:
        tally(CANDIDATES, COUNTS, ballots=90, rule=OutcomeRule.GREEDY, seats=3, budget=None)
    assert exc.value.code == "greedy_needs_budget"
    assert exc.value.params == {}


def test_tally_top_n_budget_ignored():
    result = tally(CANDIDATES, COUNTS, ballots=90, rule=OutcomeRule.TOP_N, seats=2, budget=1)
    assert result.selected_ids == frozenset({4, 1})


@pytest.mark.parametrize(
    ("counts", "expected_tied"),
    [
        ({1: 5, 2: 4, 3: 3, 4: 2}, [False, False, False, False]),
        ({1: 5, 2: 5, 3: 5, 4: 5}, [True, True, True, True]),
        ({1: 5, 2: 4, 3: 4, 4: 2}, [False, True, True, False]),
        ({1: 5, 2: 5, 3: 3, 4: 3}, [True, True, True, True]),
        ({1: 5, 2: 4, 3: 3, 4: 3}, [False, False, True, True]),
        ({1: 1}, [False, True, True, True]),  # three candidates with zero votes
    ],
)
def test_tally_tied_flag_equal_votes_marked(counts, expected_tied):
    candidates = [ref(1, 10), ref(2, 10), ref(3, 10), ref(4, 10)]
    result = tally(candidates, counts, ballots=9, rule=OutcomeRule.TOP_N, seats=1, budget=None)
    assert [row.tied for row in result.rows] == expected_tied
    assert [row.rank for row in result.rows] == [1, 2, 3, 4]


def test_tally_single_candidate_not_tied():
    result = tally([ref(1, 10)], {1: 0}, ballots=0, rule=OutcomeRule.TOP_N, seats=1, budget=None)
    assert result.rows == (TallyRow(1, 0, 1, False, True),)


def test_tally_no_candidates_empty_rows():
    result = tally([], {}, ballots=0, rule=OutcomeRule.TOP_N, seats=2, budget=None)
    assert result.rows == ()
    assert result.selected_ids == frozenset()


def test_outcome_rule_values_stable():
    # Stored in voting_round.outcome_rule and named in the migration's CHECK constraint.
    assert [rule.value for rule in OutcomeRule] == [
        "top_n",
        "greedy",
        "mes",
        "mes_greedy",
        "mes_add1",
        "mes_add1_greedy",
    ]


# Six residents want A and B (50 each), four want C (40); budget 100, so 10 each.
PROPORTIONAL = [ref(1, 50), ref(2, 50), ref(3, 40)]
PROPORTIONAL_COUNTS = {1: 6, 2: 6, 3: 4}
PROPORTIONAL_GROUPS = [(frozenset({1, 2}), 6), (frozenset({3}), 4)]


def proportional(rule: OutcomeRule, seats: int = 3) -> frozenset[int]:
    return tally(
        PROPORTIONAL,
        PROPORTIONAL_COUNTS,
        ballots=10,
        rule=rule,
        seats=seats,
        budget=100,
        groups=PROPORTIONAL_GROUPS,
    ).selected_ids


def test_greedy_gives_the_majority_everything():
    assert proportional(OutcomeRule.GREEDY) == {1, 2}


def test_mes_gives_the_minority_its_share():
    # A: six pay 8.33 each; then the six hold 1.67 each and cannot pay for B; the four pay
    # 10 each for C. A before B on the street tie-break (same votes and cost, position).
    assert proportional(OutcomeRule.MES) == {1, 3}
    assert proportional(OutcomeRule.MES_GREEDY) == {1, 3}  # 10 left: nothing fits
    assert proportional(OutcomeRule.MES_ADD1) == {1, 3}
    assert proportional(OutcomeRule.MES_ADD1_GREEDY) == {1, 3}


def test_mes_selection_is_cut_at_the_seats_in_mes_order():
    assert proportional(OutcomeRule.MES, seats=1) == {1}


def test_mes_tie_follows_the_street_ranking():
    # B is cheaper than A at the same support: B wins the tie, as in the ranking.
    candidates = [ref(1, 50), ref(2, 40)]
    result = tally(
        candidates,
        {1: 5, 2: 5},
        ballots=5,
        rule=OutcomeRule.MES,
        seats=2,
        budget=50,
        groups=[(frozenset({1, 2}), 5)],
    )
    assert result.selected_ids == {2}


def test_mes_without_ballots_or_budget_refused():
    with pytest.raises(InvalidInput) as exc:
        tally(
            PROPORTIONAL, PROPORTIONAL_COUNTS, ballots=10, rule=OutcomeRule.MES, seats=2, budget=100
        )
    assert exc.value.code == "mes_needs_ballots"
    with pytest.raises(InvalidInput) as exc:
        tally(
            PROPORTIONAL,
            PROPORTIONAL_COUNTS,
            ballots=10,
            rule=OutcomeRule.MES,
            seats=2,
            budget=None,
            groups=PROPORTIONAL_GROUPS,
        )
    assert exc.value.code == "greedy_needs_budget"


# --- properties over random elections --------------------------------------------------


def random_election(rng: random.Random):
    n = rng.randint(1, 12)
    candidates = [
        CandidateRef(id=cid, cost=rng.randint(1, 100), position=pos)
        for pos, cid in enumerate(rng.sample(range(1, 1000), n), start=1)
    ]
    voters = rng.randint(0, 60)
    ballots = [rng.sample([c.id for c in candidates], rng.randint(0, n)) for _ in range(voters)]
    counts = count_votes([c.id for c in candidates], ballots)
    seats = rng.randint(1, n + 2)
    budget = rng.randint(0, 400)
    return candidates, counts, voters, seats, budget


def test_tally_random_elections_invariants_hold():
    rng = random.Random(20240601)
    for _ in range(500):
        candidates, counts, voters, seats, budget = random_election(rng)
        cost = {c.id: c.cost for c in candidates}

        top = tally(
            candidates, counts, ballots=voters, rule=OutcomeRule.TOP_N, seats=seats, budget=None
        )
        greedy = tally(
            candidates, counts, ballots=voters, rule=OutcomeRule.GREEDY, seats=seats, budget=budget
        )

        for result in (top, greedy):
            assert [row.rank for row in result.rows] == list(range(1, len(candidates) + 1))
            assert sorted(row.candidate_id for row in result.rows) == sorted(cost)
            votes = [row.votes for row in result.rows]
            assert votes == sorted(votes, reverse=True)
            assert all(row.votes == counts[row.candidate_id] for row in result.rows)
            for row in result.rows:
                others = [o.votes for o in result.rows if o.candidate_id != row.candidate_id]
                assert row.tied == (row.votes in others)

        assert len(top.selected_ids) == min(seats, len(candidates))
        top_rows = [row.selected for row in top.rows]
        assert top_rows == sorted(top_rows, reverse=True)  # a prefix of the ranking

        spent = sum(cost[cid] for cid in greedy.selected_ids)
        assert spent <= budget
        assert len(greedy.selected_ids) <= seats
        if len(greedy.selected_ids) < seats:
            # nothing left out would still have fitted
            left = budget - spent
            assert all(cost[row.candidate_id] > left for row in greedy.rows if not row.selected)
