"""Turnout breakdowns of a round: by community, by channel, by day, against the roll.

Four GROUP BY queries whatever the number of participations. They read ``participation``
(and the roll); never ``ballot`` or ``ballot_choice``: who voted and what was voted are not
joined, here or anywhere. Small cells are withheld by ``domain.breakdowns``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from flask import current_app
from sqlalchemy import and_, case, func, select

from ..domain import breakdowns as rules
from ..domain.breakdowns import Cell
from ..extensions import db
from ..models import Community, Participation, Resident, RoundCommunity, VotingRound
from ..models.ballots import CHANNELS

STATION = "station"
ASSISTED, UNASSISTED = "assisted", "unassisted"
# Published breakdowns of closed rounds kept per process (see published_breakdowns).
CACHE_ENTRIES = 64


@dataclass(frozen=True)
class Breakdowns:
    """A round's turnout split three ways; see ``domain.breakdowns`` for what is withheld."""

    eligible: int  # active residents of the round's communities
    participants: int  # participations, every channel (station check-ins included)
    communities: list[Cell[str]]  # key: community name; base: its residents on the roll
    channels: list[Cell[str]]  # key: code / sms / station
    station: list[Cell[str]]  # key: assisted / unassisted, within the station's cell
    days: list[Cell[date]]  # key: calendar day in the display time zone
    exact: bool  # withheld cells keep their counts (staff pages), else they carry none

    @property
    def turnout(self) -> float:
        return self.participants / self.eligible if self.eligible else 0.0

    @property
    def any_withheld(self) -> bool:
        cells = [*self.communities, *self.channels, *self.station, *self.days]
        return any(c.withheld for c in cells)

    @property
    def busiest_day(self) -> int:
        """The largest shown day count (the day chart's scale), at least 1."""
        return max([c.count for c in self.days if c.count is not None] + [1])


def round_breakdowns(
    rnd: VotingRound, *, zone: tzinfo, now: datetime, exact: bool = False
) -> Breakdowns:
    """The round's breakdowns; ``exact`` keeps the counts of withheld cells (staff only)."""
    roll = _eligible_by_community(rnd.id)
    voted = _participants_by_community(rnd.id)
    names = list(roll) + [name for name in voted if name not in roll]
    communities = rules.withhold([(n, voted.get(n, 0)) for n in names], roll)
    by_channel = _by_channel(rnd.id)
    channels = rules.withhold([(c, sum(by_channel[c].values())) for c in CHANNELS])
    station_cell = next(c for c in channels if c.key == STATION)
    station = rules.withhold_nested(
        station_cell,
        [(ASSISTED, by_channel[STATION][True]), (UNASSISTED, by_channel[STATION][False])],
    )
    days = rules.withhold(_days(rnd, zone, now))
    if not exact:
        communities, channels, station, days = (
            rules.redact(cells) for cells in (communities, channels, station, days)
        )
    participants = sum(sum(split.values()) for split in by_channel.values())
    return Breakdowns(sum(roll.values()), participants, communities, channels, station, days, exact)


def published_breakdowns(rnd: VotingRound, *, zone: tzinfo, now: datetime) -> Breakdowns:
    """The public breakdowns of a closed round, kept ``BREAKDOWN_CACHE_SECONDS`` per process.

    After close no participation changes, so the public page need not scan them on every
    visit (four aggregates over a million participations take seconds). Only the roll can
    still change (residents moving out), and that shows within the time-to-live.
    """
    ttl = current_app.config["BREAKDOWN_CACHE_SECONDS"]
    cache = current_app.extensions.setdefault("voting.breakdowns", {})
    key = (rnd.id, rnd.status, rnd.closed_at, str(zone))
    hit = cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    value = round_breakdowns(rnd, zone=zone, now=now)
    if ttl > 0 and rnd.closed_at is not None:  # a running round's counts still change
        if len(cache) >= CACHE_ENTRIES:
            cache.pop(next(iter(cache)))
        cache[key] = (time.monotonic() + ttl, value)
    return value


def _eligible_by_community(round_id: int) -> dict[str, int]:
    """Community name → active residents on the roll, for the round's communities in order."""
    rows = db.session.execute(
        select(Community.name, func.count(Resident.id))
        .join(RoundCommunity, RoundCommunity.community_id == Community.id)
        .outerjoin(
            Resident, and_(Resident.community_id == Community.id, Resident.status == "active")
        )
        .where(RoundCommunity.round_id == round_id)
        .group_by(Community.id, Community.name)
        .order_by(Community.id)
    )
    return {name: n for name, n in rows}


def _participants_by_community(round_id: int) -> dict[str, int]:
    """Community name → participations, by the resident's community on the roll."""
    rows = db.session.execute(
        select(Community.name, func.count())
        .select_from(Participation)
        .join(Resident, Resident.id == Participation.resident_id)
        .join(Community, Community.id == Resident.community_id)
        .where(Participation.round_id == round_id)
        .group_by(Community.id, Community.name)
        .order_by(Community.id)
    )
    return {name: n for name, n in rows}


def _by_channel(round_id: int) -> dict[str, dict[bool, int]]:
    """Channel → {assisted?: participations}."""
    assisted = case((Participation.assisted_by != "", True), else_=False)
    rows = db.session.execute(
        select(Participation.channel, assisted, func.count())
        .where(Participation.round_id == round_id)
        .group_by(Participation.channel, assisted)
    )
    split: dict[str, dict[bool, int]] = {c: {True: 0, False: 0} for c in CHANNELS}
    for channel, helped, n in rows:
        split[channel][bool(helped)] += n
    return split


def _days(rnd: VotingRound, zone: tzinfo, now: datetime) -> list[tuple[date, int]]:
    """Participations per local day over the voting window (days without any included).

    Times are stored to the minute, so grouping by the stored value needs no date function
    (the same SQL on SQLite and PostgreSQL, any time zone, served by the index on
    ``(round_id, voted_at)``) and returns at most one row per minute of the window, however
    many residents voted; the minutes are summed into local days here.
    """
    rows = db.session.execute(
        select(Participation.voted_at, func.count())
        .where(Participation.round_id == rnd.id)
        .group_by(Participation.voted_at)
    )
    per_day = rules.local_days(rows, zone)
    # Votes are taken while now < closes_at: a window ending at midnight adds no empty day.
    end = rnd.closed_at or min(rnd.closes_at - timedelta(minutes=1), now)
    return rules.day_range(
        per_day, rnd.opens_at.astimezone(zone).date(), end.astimezone(zone).date()
    )
