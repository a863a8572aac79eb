"""What a printed notice (公示) of a closed round shows: results, council decision, hashes."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.lifecycle import RoundStatus
from ..models import CouncilMeeting, RoundCandidate, VotingRound
from . import audit
from .open_data import published_round
from .results import ResultLine, RoundResults, round_results


@dataclass(frozen=True)
class Notice:
    results: RoundResults
    head_hash: str  # the audit chain's head when the notice was made

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


def public_notice(round_id: int) -> Notice:
    """The notice of a closed or finalized round; 404 before close."""
    published_round(round_id)
    return Notice(round_results(round_id), audit.head_hash())
