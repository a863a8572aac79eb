"""Demo data: 凯旋街道's 2025 round, finished — from the public vote to the satisfaction vote.

Everything goes through the services a street uses, with the date each step happened, so
the demo shows on the public pages what a finished year looks like: results, the 公示 with
an objection and its answer, each project's progress and supervision rounds, the street's
supervision dashboard and the 满意度测评. The data is ``seeds/kaixuan_2025.json``.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from .domain.council import Ballots, WinnerDetails
from .domain.satisfaction import Rating
from .domain.supervision import (
    ImplementationStatus,
    MemberKind,
    ProgressInput,
    SpotCheckInput,
    SuggestionInput,
    VisitInput,
)
from .domain.tally import OutcomeRule
from .extensions import db
from .models import Candidate, Community, StaffUser, Suggestion
from .seeding import candidate_from_spec
from .services import codes as codes_service
from .services import council, implementation, objections, rounds, satisfaction, supervision
from .services import voting as voting_service
from .services.sms import MemorySender

SHANGHAI = ZoneInfo("Asia/Shanghai")
CODE = re.compile(r"\b(\d{6})\b")


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _on(value: str, hour: int = 10) -> datetime:
    """Office hours on that local day (the time a step taken that day is stamped with)."""
    return datetime.combine(date.fromisoformat(value), time(hour), tzinfo=SHANGHAI)


def load_history(
    seeds_dir: Path,
    users: Mapping[str, StaffUser],
    communities: Mapping[str, Community],
    *,
    rng: random.Random,
) -> int:
    """Drive the 2025 round through its whole year; return its id."""
    data = json.loads((seeds_dir / "kaixuan_2025.json").read_text(encoding="utf-8"))
    spec = data["round"]
    opens_at, closes_at = _at(spec["opens_at"]), _at(spec["closes_at"])
    candidates = [
        candidate_from_spec(users, communities, c, now=_on("2025-02-20"))
        for c in data["candidates"]
    ]
    round_input = rounds.RoundInput(
        title=spec["title"],
        description=spec["description"],
        community_ids=tuple(c.id for c in communities.values()),
        candidate_ids=tuple(c.id for c in candidates),
        opens_at=opens_at,
        closes_at=closes_at,
        min_choices=spec["min_choices"],
        max_choices=spec["max_choices"],
        budget_yuan=None,
        seats=spec["seats"],
        outcome_rule=OutcomeRule(spec["outcome_rule"]),
        running_results_public=False,
    )
    official, clerk = users["official"], users["clerk"]
    round_id = rounds.create_round(official, round_input, now=_on("2025-03-01"))
    rounds.open_round(official, round_id, now=opens_at)
    _vote(round_id, candidates, spec, opens_at, rng)
    rounds.close_round(official, round_id, now=closes_at)
    _council(round_id, candidates, data["council"], clerk, official)
    _objection(seeds_dir, round_id, data["objection"], official)
    records = _implement(round_id, candidates, data, official)
    _supervise(records, data["visits"], users["supervisor"], official)
    _rate(round_id, records, data["satisfaction"], clerk)
    return round_id


def _vote(
    round_id: int,
    candidates: list[Candidate],
    spec: dict[str, Any],
    opens_at: datetime,
    rng: random.Random,
) -> None:
    """About ``turnout`` of the roll votes by code over the first days, by weighted taste."""
    pepper = current_app.config["ROLL_PEPPER"].encode()
    slips = codes_service.issue_codes(round_id, pepper=pepper, rng=rng, now=opens_at)
    ids = [c.id for c in candidates]
    voters = rng.sample(slips, round(len(slips) * spec["turnout"]))
    for i, slip in enumerate(voters):
        now = opens_at + timedelta(days=i % 11, hours=(i * 7) % 9, minutes=i % 60)
        credential = voting_service.login_with_code(slip.code, pepper=pepper, now=now)
        size = rng.randint(spec["min_choices"], spec["max_choices"])
        chosen: set[int] = set()
        while len(chosen) < size:
            chosen.add(rng.choices(ids, weights=spec["weights"])[0])
        voting_service.cast_ballot(credential, chosen, now=now, rng=rng)


def _council(
    round_id: int,
    candidates: list[Candidate],
    spec: dict[str, Any],
    clerk: StaffUser,
    official: StaffUser,
) -> None:
    """The meeting as the clerk records it; the clerk asks, the official approves."""
    rnd = rounds.load_round(round_id)
    public = {e.candidate_id for e in rnd.entries if e.rule_selected}
    ids = [c.id for c in candidates]
    selected = frozenset(ids[i] for i in spec["selected"])
    departures = selected ^ public
    details = {
        ids[int(i)]: WinnerDetails(
            target=candidates[int(i)].target,
            responsible_unit=d["responsible_unit"],
            planned_completion=date.fromisoformat(d["planned_completion"]),
        )
        for i, d in spec["details"].items()
    }
    data = council.CouncilInput(
        held_on=date.fromisoformat(spec["held_on"]),
        place=spec["place"],
        members_expected=spec["members_expected"],
        members_present=spec["members_present"],
        resolution=spec["resolution"],
        votes=dict(zip(ids, spec["votes"], strict=True)),
        selected=selected,
        reasons={ids[int(i)]: r for i, r in spec["reasons"].items() if ids[int(i)] in departures},
        tellers=spec["tellers"],
        ballots=Ballots(**spec["ballots"]),
        procedure=spec["procedure"],
        details=details,
    )
    problems = council.save_record(clerk, round_id, data, now=_on(spec["held_on"], 16))
    if problems:
        raise ValueError(f"the 2025 council record does not hold: {problems}")
    council.request_finalization(clerk, round_id, now=_at(spec["requested_at"]))
    council.approve(official, round_id, now=_at(spec["approved_at"]))


def _objection(seeds_dir: Path, round_id: int, spec: dict[str, Any], official: StaffUser) -> None:
    """A resident on the roll files one objection with a phone code; the street answers."""
    with (seeds_dir / "roll.csv").open(encoding="utf-8-sig", newline="") as f:
        row = list(csv.DictReader(f))[spec["resident_row"]]
    pepper = current_app.config["ROLL_PEPPER"].encode()
    sender = MemorySender()
    filed_at = _at(spec["filed_at"])
    challenge = objections.request_code(
        round_id,
        row["姓名"],
        row["身份证号"],
        row["手机号"],
        pepper=pepper,
        sender=sender,
        now=filed_at,
    )
    [(_, text)] = sender.messages
    code = CODE.search(text)
    if code is None:
        raise ValueError("no code in the text message")
    number = objections.file_objection(
        challenge, code.group(1), spec["text"], pepper=pepper, now=filed_at
    )
    objections.answer(official, round_id, number, spec["answer"], now=_at(spec["answered_at"]))


def _implement(
    round_id: int, candidates: list[Candidate], data: dict[str, Any], official: StaffUser
) -> dict[str, int]:
    """Each winner's record, milestones and progress to completion; index → record id."""
    ids = [c.id for c in candidates]
    council_spec = data["council"]
    records: dict[str, int] = {}
    for index, spec in data["projects"].items():
        details = council_spec["details"][index]
        start = date.fromisoformat(spec["planned_start"])
        setup = implementation.SetupInput(
            responsible_unit=details["responsible_unit"],
            unit_leader=spec["leader"],
            planned_start=start,
            planned_completion=date.fromisoformat(details["planned_completion"]),
        )
        record_id = implementation.save_setup(
            official, round_id, ids[int(index)], setup, now=_on("2025-04-20")
        )
        for title, planned, _done in spec["milestones"]:
            implementation.add_milestone(
                official, record_id, title, date.fromisoformat(planned), now=_on("2025-04-20")
            )
        done = date.fromisoformat(spec["actual_completion"])
        _progress(
            official,
            record_id,
            ImplementationStatus.IN_PROGRESS,
            50,
            spec["spent_yuan"] // 2,
            None,
            "过半",
            _on(spec["milestones"][0][2]),
        )
        for milestone, (_title, _planned, reached) in zip(
            _milestones(record_id), spec["milestones"], strict=True
        ):
            implementation.milestone_reached(
                official,
                record_id,
                milestone,
                date.fromisoformat(reached),
                now=_on(reached, 17),
            )
        _progress(
            official,
            record_id,
            ImplementationStatus.COMPLETED,
            100,
            spec["spent_yuan"],
            done,
            "已竣工验收",
            _on(spec["actual_completion"], 17),
        )
        records[index] = record_id
    return records


def _milestones(record_id: int) -> list[int]:
    return [m.id for m in implementation.load(record_id).milestones]


def _progress(
    official: StaffUser,
    record_id: int,
    status: ImplementationStatus,
    percent: int,
    spent: int,
    done: date | None,
    note: str,
    now: datetime,
) -> None:
    report = ProgressInput(
        status=status,
        progress_percent=percent,
        budget_spent_yuan=spent,
        actual_completion=done,
        note=note,
    )
    implementation.report_progress(official, record_id, report, now=now)


def _supervise(
    records: Mapping[str, int],
    visits: list[dict[str, Any]],
    supervisor: StaffUser,
    official: StaffUser,
) -> None:
    """Supervision rounds with their findings; each suggestion answered, then closed."""
    for spec in visits:
        visit = VisitInput(
            held_on=date.fromisoformat(spec["held_on"]),
            site=spec["site"],
            findings=spec["findings"],
            participants=tuple((n, MemberKind(k)) for n, k in spec["participants"]),
            spot_checks=tuple(SpotCheckInput(i, ok, note) for i, ok, note in spec["checks"]),
            suggestions=tuple(
                SuggestionInput(text, date.fromisoformat(deadline))
                for text, deadline, _answer, _answered in spec["suggestions"]
            ),
        )
        visit_id = supervision.record_visit(
            supervisor, records[spec["project"]], visit, now=_on(spec["held_on"], 17)
        )
        raised = db.session.scalars(
            select(Suggestion).where(Suggestion.visit_id == visit_id).order_by(Suggestion.id)
        ).all()
        for suggestion, (_t, _d, answer, answered) in zip(raised, spec["suggestions"], strict=True):
            supervision.answer_suggestion(official, suggestion.id, answer, now=_on(answered))
            supervision.close_suggestion(supervisor, suggestion.id, now=_on(answered, 16))


def _rate(
    round_id: int, records: Mapping[str, int], spec: dict[str, Any], clerk: StaffUser
) -> None:
    """The council's 满意度测评, counts per project (满意, 基本满意, 不满意)."""
    options = (Rating.SATISFIED, Rating.BASIC, Rating.DISSATISFIED)
    meeting = satisfaction.MeetingInput(
        held_on=date.fromisoformat(spec["held_on"]),
        place=spec["place"],
        members_present=spec["members_present"],
        counts={
            records[i]: dict(zip(options, counts, strict=True))
            for i, counts in spec["counts"].items()
        },
    )
    satisfaction.record_meeting(clerk, round_id, meeting, now=_on(spec["held_on"], 16))
