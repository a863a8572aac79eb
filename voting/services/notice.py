"""What a printed notice (公示) of a closed round shows: results, council decision, hashes,
and once the decision is approved its objection period and the objections with answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.lifecycle import RoundStatus
from ..models import CouncilMeeting, CouncilNotice, Objection, RoundCandidate, VotingRound
from . import audit, notice_period
from ._tx import utcnow
from .open_data import published_round
from .results import ResultLine, RoundResults, round_results


@dataclass(frozen=True)
class Notice:
    results: RoundResults
    # The head stored when the decision was approved; before that (or for a round finalized
    # before the 公示 existed) the chain's head when the notice was made.
    head_hash: str
    gongshi: CouncilNotice | None = None  # the 公示, once the decision is approved
    objections_open: bool = False  # whether the objection period was running at ``now``

    @property
    def round(self) -> VotingRound:
        return self.results.round

    @property
    def finalized(self) -> bool:
        return self.round.status_enum is RoundStatus.FINALIZED

    @property
    def council(self) -> CouncilMeeting | None:
        return self.round.council if self.finalized else None

    @property
    def winners(self) -> list[ResultLine]:
        """The council's selection, in the order of the public ranking (empty before)."""
        return [
            line for line in self.results.lines if self.finalized and line.entry.council_selected
        ]

    @property
    def reasons(self) -> list[RoundCandidate]:
        """Candidates the council explained, where it departed from the public ranking."""
        if not self.finalized:
            return []
        return [line.entry for line in self.results.lines if line.entry.council_reason]

    @property
    def objections(self) -> list[Objection]:
        """The objections in filing order, each with its answer if any (no filer)."""
        return list(self.gongshi.objections) if self.gongshi else []


def public_notice(round_id: int, now: datetime | None = None) -> Notice:
    """The notice of a closed or finalized round; 404 before close."""
    published_round(round_id)
    results = round_results(round_id)
    gongshi = None
    if results.round.status_enum is RoundStatus.FINALIZED:
        gongshi = notice_period.notice_of(round_id)
    if gongshi is None:
        return Notice(results, audit.head_hash())
    running = notice_period.objections_open(gongshi, now or utcnow())
    return Notice(results, gongshi.head_hash, gongshi, running)
