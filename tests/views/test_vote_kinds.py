"""The ballot page for each ballot kind: points on a cumulative ballot, the minimum spend of
a knapsack ballot, through HTTP with CSRF on."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import submit
from tests.factories import World
from tests.views.test_vote_pages import _setup, count, text_of
from voting.domain.ballots import BallotKind
from voting.extensions import db
from voting.models import Ballot, BallotChoice, VotingRound


def _cumulative(app):  # type: ignore[no-untyped-def]
    return _setup(ballot_kind=BallotKind.CUMULATIVE, points_total=5)


def test_cumulative_ballot_page_has_a_points_field_per_candidate(app, browser):
    setup = _cumulative(app)
    client = browser()
    client.get(f"/vote/c/{setup.codes[0]}")

    page = text_of(client.get(setup.path("ballot")))

    assert "每张选票有 5 分" in page
    fields = re.findall(r'<input type="number"[^>]*name="points-(\d+)"', page)
    assert sorted(map(int, fields)) == sorted(setup.ids)
    assert 'type="checkbox" name="choices"' not in page


def test_cumulative_points_reviewed_then_stored(app, browser):
    setup = _cumulative(app)
    a, b, c = setup.ids
    client = browser()
    client.get(f"/vote/c/{setup.codes[0]}")

    response = submit(
        client, setup.path("ballot"), {f"points-{a}": "3", f"points-{b}": "2", f"points-{c}": ""}
    )
    assert response.status_code == 302
    review = text_of(client.get(setup.path("review")))
    assert "共分配 5 分" in review
    assert re.findall(r"<strong>(\d) 分</strong>", review) == ["3", "2"]
    # the back button: the ballot page shows the points again
    again = text_of(client.get(setup.path("ballot")))
    assert re.search(rf'name="points-{a}"[^>]*value="3"', again)

    confirmed = submit(client, setup.path("confirm"), {}, page=setup.path("review"))
    assert confirmed.status_code == 302
    stored = db.session.execute(select(BallotChoice.candidate_id, BallotChoice.points)).all()
    assert sorted(stored) == sorted([(a, 3), (b, 2)])


def test_cumulative_too_many_points_refused_with_a_sentence(app, browser):
    setup = _cumulative(app)
    a, b, _c = setup.ids
    client = browser()
    client.get(f"/vote/c/{setup.codes[0]}")

    response = submit(client, setup.path("ballot"), {f"points-{a}": "4", f"points-{b}": "2"})

    assert response.status_code == 422
    assert "每张选票最多分配 5 分，您分配了 6 分，请减少一些。" in text_of(response)
    assert count(Ballot) == 0


def test_cumulative_points_not_a_number_refused(app, browser):
    setup = _cumulative(app)
    client = browser()
    client.get(f"/vote/c/{setup.codes[0]}")

    response = submit(client, setup.path("ballot"), {f"points-{setup.ids[0]}": "两"})

    assert response.status_code == 422
    assert "分数请填 0 或正整数" in text_of(response)


def test_knapsack_minimum_spend_refused_with_a_sentence(app, browser):
    # Costs: 280,000, 120,000, 32,000; budget 400,000, at least 50 % = 200,000.
    setup = _setup(ballot_kind=BallotKind.KNAPSACK, budget_yuan=400_000, min_spend_percent=50)
    a, b, c = setup.ids
    client = browser()
    client.get(f"/vote/c/{setup.codes[0]}")

    page = text_of(client.get(setup.path("ballot")))
    assert "合计至少用掉预算的 50%。" in page
    response = submit(client, setup.path("ballot"), {"choices": [str(b), str(c)]})
    assert response.status_code == 422
    assert "少于本次规则要求的至少 200000 元" in text_of(response)
    assert submit(client, setup.path("ballot"), {"choices": [str(a)]}).status_code == 302


def _round_form(world, **fields: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "title": "积分投票测试",
        "description": "",
        "community_ids": [str(c.id) for c in world.communities],
        "candidate_ids": [str(c.id) for c in world.candidates],
        "opens_at": "2026-05-10T09:00",
        "closes_at": "2026-05-20T18:00",
        "min_choices": "1",
        "max_choices": "3",
        "budget_yuan": "",
        "seats": "2",
        "outcome_rule": "top_n",
        **fields,
    }


def test_official_sets_up_a_cumulative_mes_round_through_the_form(app, browser):
    world = World(candidates=4)
    official = browser(world.official)
    form = _round_form(
        world,
        ballot_kind="cumulative",
        points_total="5",
        min_spend_percent="40",  # typed for another kind: ignored, not refused
        budget_yuan="600000",
        outcome_rule="mes_add1_greedy",
    )

    response = submit(official, "/official/rounds/new", form)

    assert response.status_code == 302
    rnd = db.session.scalars(select(VotingRound)).one()
    assert (rnd.ballot_kind, rnd.points_total, rnd.min_spend_percent, rnd.outcome_rule) == (
        "cumulative",
        5,
        None,
        "mes_add1_greedy",
    )
    page = text_of(official.get(f"/official/rounds/{rnd.id}"))
    assert "每张选票有 5 分" in page
    assert "平均分配法（MES）" in page


def test_round_form_mes_without_budget_refused_with_a_sentence(app, browser):
    world = World(candidates=4)
    official = browser(world.official)

    response = submit(official, "/official/rounds/new", _round_form(world, outcome_rule="mes"))

    assert response.status_code == 422
    assert "需要填写预算上限" in text_of(response)
    assert db.session.scalars(select(VotingRound)).all() == []
