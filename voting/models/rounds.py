"""Voting rounds (投票活动), their scope, their candidates and the council's meeting."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.ballots import BallotKind, BallotRule, CandidateRef
from ..domain.lifecycle import RoundStatus
from ..domain.tally import OutcomeRule
from ..extensions import db
from .places import Community, Street
from .projects import Candidate
from .staff import StaffUser
from .types import UTCDateTime, enum_check, enum_column, utcnow


class VotingRound(db.Model):
    __tablename__ = "voting_round"
    __table_args__ = (
        enum_check("status", RoundStatus, "status"),
        enum_check("outcome_rule", OutcomeRule, "outcome_rule"),
        enum_check("ballot_kind", BallotKind, "ballot_kind"),
        CheckConstraint("closes_at > opens_at", name="window_order"),
        CheckConstraint("min_choices >= 1 AND min_choices <= max_choices", name="choices_range"),
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint("budget_yuan IS NULL OR budget_yuan > 0", name="budget_positive"),
        CheckConstraint(
            "outcome_rule = 'top_n' OR budget_yuan IS NOT NULL", name="greedy_needs_budget"
        ),
        CheckConstraint(
            "ballot_kind <> 'knapsack' OR budget_yuan IS NOT NULL", name="knapsack_needs_budget"
        ),
        CheckConstraint(
            "(ballot_kind = 'cumulative') = (points_total IS NOT NULL)"
            " AND (points_total IS NULL OR points_total >= min_choices)",
            name="points_iff_cumulative",
        ),
        CheckConstraint(
            "min_spend_percent IS NULL OR (ballot_kind = 'knapsack'"
            " AND min_spend_percent >= 1 AND min_spend_percent <= 100)",
            name="min_spend_knapsack",
        ),
        CheckConstraint(
            "(tally_digest IS NULL) OR (status IN ('closed', 'finalized'))",
            name="digest_after_close",
        ),
        # The lifecycle timestamps follow the status, one way.
        CheckConstraint("(status = 'draft') = (opened_at IS NULL)", name="opened_iff_not_draft"),
        CheckConstraint(
            "(status = 'draft') = (definition_key IS NULL)", name="definition_key_iff_not_draft"
        ),
        CheckConstraint(
            "(status IN ('closed', 'finalized')) = (closed_at IS NOT NULL)", name="closed_stamp"
        ),
        CheckConstraint("(status = 'finalized') = (finalized_at IS NOT NULL)", name="final_stamp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(enum_column(RoundStatus), default=RoundStatus.DRAFT.value)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    min_choices: Mapped[int] = mapped_column(default=1)
    max_choices: Mapped[int]
    budget_yuan: Mapped[int | None] = mapped_column(BigInteger)
    ballot_kind: Mapped[str] = mapped_column(
        enum_column(BallotKind), default=BallotKind.APPROVAL.value, server_default="approval"
    )
    points_total: Mapped[int | None]
    min_spend_percent: Mapped[int | None]
    seats: Mapped[int]
    outcome_rule: Mapped[str] = mapped_column(enum_column(OutcomeRule))
    running_results_public: Mapped[bool] = mapped_column(default=False)
    ballot_count: Mapped[int | None]
    # SHA-256 over the canonical ballots and counts, sealed at close (services.tally_digest).
    tally_digest: Mapped[str | None] = mapped_column(String(64))
    # A round replayed from a Pabulib file keeps the file's META section (JSON), else "".
    pb_meta: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Random, drawn when the round opens and its definition freezes: an app process's copy of
    # the definition names it, and the cast's write checks it (services.voting._frozen).
    definition_key: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str] = mapped_column(Text, default="")
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    street: Mapped[Street] = relationship()
    communities: Mapped[list[Community]] = relationship(
        secondary="round_community", order_by="Community.id"
    )
    entries: Mapped[list[RoundCandidate]] = relationship(
        back_populates="round", order_by="RoundCandidate.position"
    )
    council: Mapped[CouncilMeeting | None] = relationship(back_populates="round")

    @property
    def status_enum(self) -> RoundStatus:
        return RoundStatus(self.status)

    @property
    def ballot_rule(self) -> BallotRule:
        return BallotRule.of(
            self.min_choices,
            self.max_choices,
            self.budget_yuan,
            self.ballot_kind,
            self.points_total,
            self.min_spend_percent,
        )


class RoundCommunity(db.Model):
    """The round's scope: residents of these communities may vote."""

    __tablename__ = "round_community"

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), primary_key=True)


class RoundCandidate(db.Model):
    """A candidate standing in a round, with the public count and the council's decision."""

    __tablename__ = "round_candidate"
    __table_args__ = (
        UniqueConstraint("round_id", "position"),
        UniqueConstraint("round_id", "external_id"),
        CheckConstraint("position >= 1", name="position_positive"),
        CheckConstraint("public_votes IS NULL OR public_votes >= 0", name="votes_nonnegative"),
        CheckConstraint("council_votes IS NULL OR council_votes >= 0", name="council_nonnegative"),
    )

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), primary_key=True)
    position: Mapped[int]
    # The project id of a round replayed from a Pabulib file (ids there are strings).
    external_id: Mapped[str | None] = mapped_column(String(64))
    # Written once, at close, from the ballot rows.
    public_votes: Mapped[int | None]
    public_rank: Mapped[int | None]
    rule_selected: Mapped[bool | None]
    # The council's count and decision.
    council_votes: Mapped[int | None]
    council_selected: Mapped[bool] = mapped_column(default=False)
    council_reason: Mapped[str] = mapped_column(Text, default="")
    # What a selected project commits to (公示): "新增停车位30个", who builds it, by when.
    target: Mapped[str] = mapped_column(String(120), default="", server_default="")
    responsible_unit: Mapped[str] = mapped_column(String(120), default="", server_default="")
    planned_completion: Mapped[date | None] = mapped_column(Date)

    round: Mapped[VotingRound] = relationship(back_populates="entries")
    candidate: Mapped[Candidate] = relationship()

    def ref(self) -> CandidateRef:
        return CandidateRef(self.candidate_id, self.candidate.cost_yuan, self.position)


class CouncilMeeting(db.Model):
    """The residents' council meeting (居民议事会议) that 票选 the round's projects."""

    __tablename__ = "council_meeting"
    __table_args__ = (
        CheckConstraint(
            "members_present >= 0 AND members_present <= members_expected", name="present_range"
        ),
        # Ballot figures come all three or none: valid ≤ returned ≤ issued ≤ present.
        CheckConstraint(
            "(ballots_issued IS NULL AND ballots_returned IS NULL AND ballots_valid IS NULL)"
            " OR (ballots_valid >= 0 AND ballots_valid <= ballots_returned"
            " AND ballots_returned <= ballots_issued AND ballots_issued <= members_present)",
            name="ballots_order",
        ),
        CheckConstraint("(requested_by_id IS NULL) = (requested_at IS NULL)", name="request_stamp"),
        # Two people: whoever approves neither requested nor last recorded. Rounds finalized
        # before the two-person rule have finalized_by_id but no approved_at.
        CheckConstraint(
            "approved_at IS NULL OR (requested_by_id IS NOT NULL AND finalized_by_id IS NOT NULL"
            " AND finalized_by_id <> requested_by_id AND finalized_by_id <> recorded_by_id)",
            name="two_person_approval",
        ),
    )

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id"), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(120), default="")
    members_expected: Mapped[int]
    members_present: Mapped[int]
    resolution: Mapped[str] = mapped_column(Text, default="")
    tellers: Mapped[str] = mapped_column(String(200), default="", server_default="")
    ballots_issued: Mapped[int | None]
    ballots_returned: Mapped[int | None]
    ballots_valid: Mapped[int | None]
    # The voting procedure the meeting adopted (票决办法), as read out.
    procedure: Mapped[str] = mapped_column(Text, default="", server_default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[VotingRound] = relationship(back_populates="council")
    recorded_by: Mapped[StaffUser] = relationship(foreign_keys=[recorded_by_id])
    requested_by: Mapped[StaffUser | None] = relationship(foreign_keys=[requested_by_id])
    finalized_by: Mapped[StaffUser | None] = relationship(foreign_keys=[finalized_by_id])
