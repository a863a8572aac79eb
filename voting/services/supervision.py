"""Supervision rounds (督办) and their suggestions, and the counts the dashboard shows.

Supervisors of the round's street record rounds and close answered suggestions; officials
enter the responsible unit's answers. A suggestion moves by one conditional UPDATE
(``WHERE status = <the status read>``), so two people acting on it at once cannot both
move it: the second gets a Conflict, whatever the database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from werkzeug.exceptions import NotFound

from ..domain import supervision as rules
from ..domain.errors import Conflict
from ..domain.staff import Role
from ..domain.supervision import (
    SuggestionAction,
    SuggestionCounts,
    SuggestionStatus,
    VisitInput,
)
from ..extensions import db
from ..models import (
    Implementation,
    RoundCandidate,
    SpotCheck,
    StaffUser,
    Suggestion,
    SupervisionVisit,
    VisitParticipant,
    VotingRound,
)
from . import audit
from ._tx import begin_write, commit, utcnow
from .implementation import authorize, ensure_implementable, load, local_today, street_of


def record_visit(
    actor: StaffUser, implementation_id: int, data: VisitInput, *, now: datetime | None = None
) -> int:
    """A supervisor records one supervision round with its people, checks and suggestions."""
    now = now or utcnow()
    rules.check_visit(data, local_today(now))
    begin_write()
    record = load(implementation_id, lock=True)
    ensure_implementable(record.entry.round, now)
    authorize(actor, street_of(record), Role.SUPERVISOR)
    visit = SupervisionVisit(
        implementation_id=record.id,
        held_on=data.held_on,
        site=data.site.strip(),
        findings=data.findings.strip(),
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    db.session.add(visit)
    db.session.flush()
    db.session.add_all(
        VisitParticipant(visit_id=visit.id, name=name.strip(), kind=kind.value)
        for name, kind in data.participants
    )
    db.session.add_all(
        SpotCheck(visit_id=visit.id, item=c.item.strip(), passed=c.passed, note=c.note.strip())
        for c in data.spot_checks
    )
    db.session.add_all(
        Suggestion(visit_id=visit.id, text=s.text.strip(), deadline=s.deadline, created_at=now)
        for s in data.suggestions
    )
    db.session.flush()
    audit.record(
        actor,
        "supervision.recorded",
        ("supervision_visit", visit.id),
        _visit_payload(record, data),
        now=now,
    )
    commit()
    return visit.id


def _visit_payload(record: Implementation, data: VisitInput) -> dict[str, object]:
    # Names stay out of the append-only chain: it keeps the kinds and counts only.
    kinds = Counter(kind.value for _, kind in data.participants)
    return {
        "implementation_id": record.id,
        "held_on": data.held_on.isoformat(),
        "participants": dict(sorted(kinds.items())),
        "spot_checks": [[c.item, c.passed] for c in data.spot_checks],
        "suggestions": [[s.text, s.deadline.isoformat()] for s in data.suggestions],
    }


def _suggestion(suggestion_id: int) -> tuple[Suggestion, Implementation]:
    suggestion = db.session.get(Suggestion, suggestion_id)
    if suggestion is None:
        raise NotFound()
    record = load(suggestion.visit.implementation_id)
    ensure_implementable(record.entry.round)
    return suggestion, record


def _move(suggestion: Suggestion, action: SuggestionAction, values: dict[str, object]) -> None:
    current = suggestion.status_enum
    target = rules.next_suggestion_status(current, action)
    moved = db.session.execute(
        update(Suggestion)
        .where(Suggestion.id == suggestion.id, Suggestion.status == current.value)
        .values(status=target.value, **values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("concurrent_change")


def answer_suggestion(
    actor: StaffUser, suggestion_id: int, answer: str, *, now: datetime | None = None
) -> None:
    """An official enters the responsible unit's response: open → answered."""
    now = now or utcnow()
    text = rules.check_answer(answer)
    begin_write()
    suggestion, record = _suggestion(suggestion_id)
    authorize(actor, street_of(record), Role.OFFICIAL)
    _move(
        suggestion,
        SuggestionAction.ANSWER,
        {"answer": text, "answered_at": now, "answered_by_id": actor.id},
    )
    audit.record(
        actor, "suggestion.answered", ("suggestion", suggestion_id), {"answer": text}, now=now
    )
    commit()


def close_suggestion(actor: StaffUser, suggestion_id: int, *, now: datetime | None = None) -> None:
    """A supervisor accepts the response: answered → closed."""
    now = now or utcnow()
    begin_write()
    suggestion, record = _suggestion(suggestion_id)
    authorize(actor, street_of(record), Role.SUPERVISOR)
    _move(suggestion, SuggestionAction.CLOSE, {"closed_at": now, "closed_by_id": actor.id})
    audit.record(actor, "suggestion.closed", ("suggestion", suggestion_id), {}, now=now)
    commit()


def load_visit(visit_id: int) -> SupervisionVisit:
    visit = db.session.get(SupervisionVisit, visit_id)
    if visit is None:
        raise NotFound()
    return visit


@dataclass(frozen=True)
class Dashboard:
    """The street's totals and each project's, as the public dashboard shows them."""

    total: SuggestionCounts
    per_project: dict[int, SuggestionCounts]


def counts(implementation_ids: list[int], today: date) -> Dashboard:
    """Rounds, suggestions, answered, closed and overdue, per record and in total."""
    rounds: dict[int, int] = {
        implementation_id: n
        for implementation_id, n in db.session.execute(
            select(SupervisionVisit.implementation_id, func.count())
            .where(SupervisionVisit.implementation_id.in_(implementation_ids))
            .group_by(SupervisionVisit.implementation_id)
        )
    }
    items: dict[int, list[tuple[SuggestionStatus, date]]] = {i: [] for i in implementation_ids}
    rows = db.session.execute(
        select(SupervisionVisit.implementation_id, Suggestion.status, Suggestion.deadline)
        .join(Suggestion, Suggestion.visit_id == SupervisionVisit.id)
        .where(SupervisionVisit.implementation_id.in_(implementation_ids))
    )
    for implementation_id, status, deadline in rows:
        items[implementation_id].append((SuggestionStatus(status), deadline))
    per = {
        i: rules.count_suggestions(rounds.get(i, 0), items[i], today) for i in implementation_ids
    }
    total = sum(per.values(), SuggestionCounts())
    return Dashboard(total, per)


def street_records(street_id: int) -> list[Implementation]:
    """The street's implementation records of finalized rounds, newest round first."""
    return list(
        db.session.scalars(
            select(Implementation)
            .join(
                RoundCandidate,
                (RoundCandidate.round_id == Implementation.round_id)
                & (RoundCandidate.candidate_id == Implementation.candidate_id),
            )
            .join(VotingRound, VotingRound.id == Implementation.round_id)
            .where(VotingRound.street_id == street_id, VotingRound.status == "finalized")
            .order_by(VotingRound.id.desc(), RoundCandidate.position)
        )
    )


def implementation_of(suggestion_id: int) -> int:
    """The record a suggestion belongs to (404 if missing)."""
    found = db.session.scalar(
        select(SupervisionVisit.implementation_id)
        .join(Suggestion, Suggestion.visit_id == SupervisionVisit.id)
        .where(Suggestion.id == suggestion_id)
    )
    if found is None:
        raise NotFound()
    return int(found)
