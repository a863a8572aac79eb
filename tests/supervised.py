"""A finalized round with its two selected projects, for the supervision tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from io import BytesIO

from PIL import Image

from tests.closed_rounds import closed_round, finalize
from tests.factories import World
from voting.domain.supervision import (
    ImplementationStatus,
    MemberKind,
    ProgressInput,
    SpotCheckInput,
    SuggestionInput,
    VisitInput,
)
from voting.services import implementation


@dataclass
class Supervised:
    world: World
    round_id: int
    selected: list[int]  # candidate ids, the council's picks
    now: datetime  # after finalization


def supervised_round(now: datetime) -> Supervised:
    world = World(candidates=4)
    rnd = closed_round(world, now)
    a, b = world.candidates[0].id, world.candidates[1].id
    finalize(world, rnd.id, now, selected={a, b}, reasons={})
    return Supervised(world, rnd.id, [a, b], now + timedelta(days=40))


def setup_input(unit: str = "凯旋街道城建科") -> implementation.SetupInput:
    return implementation.SetupInput(unit, "科长 李明", date(2026, 6, 1), date(2026, 9, 30))


def open_record(s: Supervised, index: int = 0) -> int:
    return implementation.save_setup(
        s.world.official, s.round_id, s.selected[index], setup_input(), now=s.now
    )


def visit_input(held_on: date, *, suggestions: int = 2) -> VisitInput:
    return VisitInput(
        held_on=held_on,
        site="3幢北侧停车场工地",
        findings="地面硬化完成，划线未开始。",
        participants=(("张代表", MemberKind.DEPUTY), ("王居民", MemberKind.RESIDENT)),
        spot_checks=(
            SpotCheckInput("混凝土厚度", True, "抽查 3 处均达标"),
            SpotCheckInput("排水坡度", False, "东侧积水"),
        ),
        suggestions=tuple(
            SuggestionInput(f"建议{i + 1}：东侧增设排水沟", held_on + timedelta(days=7))
            for i in range(suggestions)
        ),
    )


def completed(spent: int = 265_000) -> ProgressInput:
    return ProgressInput(ImplementationStatus.COMPLETED, 100, spent, date(2026, 6, 10), "已完工")


def jpeg(size: tuple[int, int] = (800, 600)) -> BytesIO:
    out = BytesIO()
    Image.new("RGB", size, (90, 140, 60)).save(out, "JPEG")
    out.seek(0)
    return out
