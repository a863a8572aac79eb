"""The results page's inline SVG charts and breakdown tables, the official's exact view,
and the page's query count (a constant, however many residents voted)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.factories import World
from tests.voters import closed_round, issue, statements, vote_by_code
from voting.domain.ballots import BallotKind
from voting.services import rounds


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    return World(candidates=4)


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def svg(html: str, kind: str) -> str:
    found = re.search(rf'<svg class="chart {kind}".*?</svg>', html, re.DOTALL)
    assert found, f"no {kind} chart"
    return found.group(0)


def bars(chart: str) -> list[tuple[str, float]]:
    """(class, width) of each bar of a chart, top to bottom."""
    return [
        (cls, float(width))
        for width, cls in re.findall(
            r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="\d+" class="(chart-bar[^"]*)"',
            chart,
        )
    ]


def table_rows(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table with this caption, as the text of each cell."""
    table = re.search(rf"<caption>{caption}</caption>(.*?)</table>", html, re.DOTALL)
    assert table, caption
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), re.DOTALL).group(1)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    ]


def test_votes_chart_draws_one_bar_per_candidate_with_values_and_marks(world, browser, now):
    round_id = closed_round(world, now)
    html = text_of(browser().get(f"/rounds/{round_id}/results"))
    chart = svg(html, "votes")
    assert 'role="img"' in chart
    assert re.search(r'aria-labelledby="votes-chart-title votes-chart-desc"', chart)
    assert '<title id="votes-chart-title">各候选项目得票</title>' in chart
    # The longest bar leaves room for its value: 332 - (8.5 x 12 characters + 15) = 215.
    assert bars(chart) == [
        ("chart-bar selected", 215.0),  # B, 24 of 30 ballots
        ("chart-bar selected", 125.4),  # A, 14 / 24 of the longest bar
        ("chart-bar", 53.8),  # C
        ("chart-bar", 0.0),  # D
    ]
    values = re.findall(r'class="chart-value">([^<]+)</text>', chart)
    assert values == ["24 票 · 80.0%", "14 票 · 46.7%", "6 票 · 20.0%", "0 票 · 0.0%"]
    labels = re.findall(r'class="chart-label">([^<]+)</text>', chart)
    assert labels == [
        "1. 电动自行车充电桩 · 建议入选",
        "2. 增设停车位 · 建议入选",
        "3. 休闲座椅",
        "4. 健身点",
    ]
    # Not colour alone: the selected bars are hatched as well as labelled.
    assert chart.count('fill="url(#votes-chart-hatch)"') == 2
    assert '<pattern id="votes-chart-hatch"' in chart


def test_days_chart_and_tables_split_by_beijing_day_with_small_cells_withheld(world, browser, now):
    round_id = closed_round(world, now)
    html = text_of(browser().get(f"/rounds/{round_id}/results"))
    chart = svg(html, "days")
    assert re.findall(r'class="chart-label">([^<]+)</text>', chart) == [
        "5月11日",
        "5月12日",
        "5月13日",
        "5月14日",
    ]
    assert re.findall(r'class="chart-value[^"]*">([^<]+)</text>', chart) == [
        "0 人",
        "20 人",
        "10 人",
        "0 人",
    ]
    assert len(bars(chart)) == 4
    assert table_rows(html, "每日参与人数及占名册的比例") == [
        ["5月11日", "0", "0.0%"],
        ["5月12日", "20", "55.6%"],
        ["5月13日", "10", "27.8%"],
        ["5月14日", "0", "0.0%"],
    ]
    # 景芳社区: 12 of 18, so 6 did not vote — withheld, and 南肖埠社区 with it.
    assert table_rows(html, "各社区名册人数与参与人数") == [
        ["南肖埠社区", "18", "不公布", "不公布"],
        ["景芳社区", "18", "不公布", "不公布"],
    ]
    assert table_rows(html, "各渠道参与人数及占参与总数的比例") == [
        ["投票码", "30", "100.0%"],
        ["手机验证码", "0", "0.0%"],
        ["联络站现场", "0", "0.0%"],
        ["其中：工作人员协助", "0", "0.0%"],
        ["其中：本人投票", "0", "0.0%"],
    ]
    assert "参与 30 人 / 名册 36 人（参与率 83.3%）" in html
    assert "不足 10 人的格不公布" in html


def test_page_has_no_script_inline_style_or_external_request(world, browser, now):
    round_id = closed_round(world, now)
    html = text_of(browser().get(f"/rounds/{round_id}/results"))
    assert "<script" not in html
    assert " style=" not in html
    for chart in (svg(html, "votes"), svg(html, "days")):
        assert "http" not in chart.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_staff_see_the_public_suppression_on_the_public_page(world, browser, now):
    round_id = closed_round(world, now)
    html = text_of(browser(world.official).get(f"/rounds/{round_id}/results"))
    assert table_rows(html, "各社区名册人数与参与人数")[1] == ["景芳社区", "18", "不公布", "不公布"]
    assert "公开页不公布" not in html


def test_official_round_page_shows_exact_counts_marking_what_the_public_does_not_see(
    world, browser, now
):
    round_id = closed_round(world, now)
    html = text_of(browser(world.official).get(f"/official/rounds/{round_id}"))
    assert table_rows(html, "各社区名册人数与参与人数") == [
        ["南肖埠社区", "18", "18 公开页不公布", "100.0%"],
        ["景芳社区", "18", "12 公开页不公布", "66.7%"],
    ]
    assert f'href="/official/rounds/{round_id}/export.xlsx"' in html
    assert svg(html, "days")


def test_running_results_show_the_votes_chart_but_no_breakdowns(world, browser, now):
    round_id = world.open_round(now, running_results_public=True)
    people = world.residents(12)
    vote_by_code(issue(world, round_id), people, now, [world.candidates[2].id])
    html = text_of(browser().get(f"/rounds/{round_id}/results"))
    assert [w for _cls, w in bars(svg(html, "votes"))] == [215.0, 0.0, 0.0, 0.0]
    assert '<svg class="chart days"' not in html
    assert "参与情况" not in html


def test_cumulative_round_chart_counts_points(world, browser, now):
    round_id = world.open_round(
        now, ballot_kind=BallotKind.CUMULATIVE, points_total=5, running_results_public=True
    )
    people = world.residents(2)
    vote_by_code(issue(world, round_id), people, now, {world.candidates[0].id: 5})
    chart = svg(text_of(browser().get(f"/rounds/{round_id}/results")), "votes")
    assert re.findall(r'class="chart-value">([^<]+)</text>', chart)[0] == "10 分"


def test_results_page_query_count_does_not_grow_with_voters(world, browser, now):
    people = world.residents(62)
    first = world.open_round(now)
    vote_by_code(issue(world, first), people[:12], now, [world.candidates[0].id])
    rounds.close_round(world.official, first, reason="测试", now=now + timedelta(hours=1))
    second = world.open_round(now + timedelta(hours=2))
    vote_by_code(issue(world, second), people, now + timedelta(hours=3), [world.candidates[1].id])
    rounds.close_round(world.official, second, reason="测试", now=now + timedelta(hours=4))

    client = browser()
    counts = []
    for round_id in (first, second):
        with statements() as seen:
            assert client.get(f"/rounds/{round_id}/results").status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1]
    # The round (loaded twice: the public check, then the results) with its candidates'
    # photos in a second query each time, the roll total and the four breakdowns.
    assert counts[1] <= 10, counts


def test_published_breakdowns_are_kept_for_the_time_to_live(world, browser, now, app, monkeypatch):
    round_id = closed_round(world, now)
    monkeypatch.setitem(app.config, "BREAKDOWN_CACHE_SECONDS", 60)
    monkeypatch.setitem(app.extensions, "voting.breakdowns", {})
    client = browser()
    with statements() as first:
        first_html = text_of(client.get(f"/rounds/{round_id}/results"))
    with statements() as second:
        second_html = text_of(client.get(f"/rounds/{round_id}/results"))
    reads = [s for s in first if "participation" in s]
    assert len(reads) == 3
    assert not [s for s in second if "participation" in s]
    assert len(second) == len(first) - 4  # the roll, communities, channels, days
    assert second_html == first_html


def test_days_chart_draws_no_bar_for_a_withheld_day(world, browser, now):
    round_id = world.open_round(now)
    people = world.residents(18)
    codes_of = issue(world, round_id)
    choice = [world.candidates[0].id]
    vote_by_code(codes_of, people[:15], now, choice)  # 12 May
    vote_by_code(codes_of, people[15:], now + timedelta(days=1), choice)  # 13 May: three
    rounds.close_round(world.official, round_id, reason="测试", now=now + timedelta(days=1))
    html = text_of(browser().get(f"/rounds/{round_id}/results"))
    chart = svg(html, "days")
    # Three on 13 May is withheld, and 12 May with it (18 - 0 - 0 would give it back).
    assert re.findall(r'class="chart-value[^"]*">([^<]+)</text>', chart) == [
        "0 人",
        "不公布",
        "不公布",
    ]
    assert len(bars(chart)) == 1
    assert "15 人" not in chart
    assert "3 人" not in chart
    assert table_rows(html, "每日参与人数及占名册的比例") == [
        ["5月11日", "0", "0.0%"],
        ["5月12日", "不公布", "不公布"],
        ["5月13日", "不公布", "不公布"],
    ]
