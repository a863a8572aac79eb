"""The adversarial harness shared by ``tests/security`` and ``bench/attacks.py``.

A *case* is a function ``case(ctx) -> None`` registered with ``@attack(ID, category,
description)``. It performs one attack from research §3.2 against a live app (through
HTTP with CSRF on, or through services for the database-level ones) and raises
``AssertionError`` if the expected outcome is not met — that is an attack that succeeded.
After every case the invariant checker runs (``Ctx.violations``).

``Ctx`` gives each case an open round with residents, voting codes and phones, clients
that behave like separate browsers, and ``ctx.legit_vote()``, which votes as a fresh,
legitimate resident and records the receipt it was given.
"""

from __future__ import annotations

import io
import logging
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import func, select, text

from tests.conftest import TEST_PEPPER, Browser, csrf_token
from tests.factories import World, make_id_number
from voting.domain import identity
from voting.domain.codes import receipt_hash
from voting.extensions import db
from voting.models import Ballot, PaperBallot, Participation, Resident
from voting.services import audit, sealing

RECEIPT_RE = re.compile(r'id="receipt-code">([0-9A-Z-]{19})<')

CASES: dict[str, tuple[str, str, Callable[[Ctx], None]]] = {}


def attack(case_id: str, category: str, description: str):  # type: ignore[no-untyped-def]
    """Register an attack case."""

    def register(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        assert case_id not in CASES, f"duplicate case {case_id}"
        CASES[case_id] = (category, description, fn)
        return fn

    return register


@dataclass
class Voter:
    """A resident on the roll whose secrets the harness knows (and the logs must not)."""

    resident_id: int
    name: str
    id_number: str
    phone: str
    code: str


@dataclass
class Ctx:
    app: Flask
    world: World
    round_id: int
    voters: list[Voter]
    candidate_ids: list[int] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)  # acknowledged to legitimate voters
    legit_refused: int = 0
    log: io.StringIO = field(default_factory=io.StringIO)
    _next: int = 0

    # -- voters -----------------------------------------------------------------------------
    def fresh_voter(self) -> Voter:
        """A resident nobody has used yet in this run."""
        voter = self.voters[self._next]
        self._next += 1
        return voter

    def client(self, user=None, *, ip: str = "127.0.0.1") -> Browser:  # type: ignore[no-untyped-def]
        """A separate browser; attackers come from 127.0.0.1 unless a case says otherwise."""
        client = Browser(self.app, self.app.response_class, use_cookies=True, user=user)
        client.environ_base["REMOTE_ADDR"] = ip
        return client

    def vote_by_code(self, code: str, choices: list[int], client: Browser | None = None):  # type: ignore[no-untyped-def]
        """The whole resident path; returns (final response, receipt or None)."""
        client = client or self.client()
        client.get(f"/vote/c/{code}")
        path = f"/vote/{self.round_id}"
        token = csrf_token(client, f"{path}/ballot")
        client.post(f"{path}/ballot", data={"choices": choices, "csrf_token": token})
        token = csrf_token(client, f"{path}/review")
        response = client.post(f"{path}/confirm", data={"csrf_token": token}, follow_redirects=True)
        match = RECEIPT_RE.search(response.get_data(as_text=True))
        return response, match.group(1).replace("-", "") if match else None

    def legit_vote(self) -> str | None:
        """A legitimate resident votes; a refusal counts against the limits' fairness."""
        voter = self.fresh_voter()
        # Residents vote from their own addresses, not from the attacker's.
        client = self.client(ip=f"10.{self._next // 250}.{self._next % 250}.7")
        _response, receipt = self.vote_by_code(voter.code, [self.candidate_ids[0]], client)
        if receipt is None:
            self.legit_refused += 1
        else:
            self.receipts.append(receipt)
        return receipt

    # -- state ------------------------------------------------------------------------------
    def counts(self) -> tuple[int, int, str]:
        """(participations, ballots, audit head): what "no state change" compares."""
        participations = db.session.scalar(select(func.count()).select_from(Participation))
        ballots = db.session.scalar(select(func.count()).select_from(Ballot))
        return participations or 0, ballots or 0, audit.head_hash()

    def secrets(self) -> list[str]:
        """Strings that must never appear in a log."""
        found = []
        for v in self.voters:
            found += [v.id_number, v.phone, v.code]
        found += self.receipts
        return [s for s in found if s]

    def violations(self) -> list[str]:
        """Check every invariant; return what is broken (empty: all good)."""
        db.session.rollback()
        problems = []
        problems += _participation_matches_ballots(self.round_id)
        problems += _no_duplicate_participation()
        problems += _receipts_present(self.receipts)
        count, broken = audit.verify_chain()
        if broken is not None:
            problems.append(f"audit chain broken at event {broken} of {count}")
        bad_batches = sealing.verify_batches(self.round_id)
        if bad_batches:
            problems.append(f"sealed batches {bad_batches} no longer match their roots")
        log_text = self.log.getvalue()
        leaked = [s for s in self.secrets() if s in log_text]
        if leaked:
            problems.append(f"{len(leaked)} secrets (ID, phone, code or receipt) in the logs")
        return problems


def _participation_matches_ballots(round_id: int) -> list[str]:
    online = db.session.scalar(
        select(func.count())
        .select_from(Participation)
        .where(Participation.round_id == round_id, Participation.channel != "station")
    )
    station = db.session.scalar(
        select(func.count())
        .select_from(Participation)
        .where(Participation.round_id == round_id, Participation.channel == "station")
    )
    ballots = db.session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.round_id == round_id)
    )
    papers = dict(
        db.session.execute(
            select(PaperBallot.state, func.count())
            .where(PaperBallot.round_id == round_id)
            .group_by(PaperBallot.state)
        ).all()
    )
    counted, invalid = papers.get("counted", 0), papers.get("invalid", 0)
    problems = []
    if online != ballots - counted:
        problems.append(f"online participations {online} != online ballots {ballots - counted}")
    if station < counted + invalid:
        problems.append(f"paper ballots {counted + invalid} exceed station check-ins {station}")
    return problems


def _no_duplicate_participation() -> list[str]:
    duplicates = db.session.execute(
        select(Participation.round_id, Participation.resident_id)
        .group_by(Participation.round_id, Participation.resident_id)
        .having(func.count() > 1)
    ).all()
    return [f"duplicate participations: {duplicates}"] if duplicates else []


def _receipts_present(receipts: list[str]) -> list[str]:
    if not receipts:
        return []
    stored = set(db.session.scalars(select(Ballot.receipt_hash)))
    missing = [r for r in receipts if receipt_hash(r) not in stored]
    return [f"{len(missing)} acknowledged receipts missing"] if missing else []


def make_ctx(app: Flask, *, residents: int = 120, seed: int = 5) -> Ctx:
    """An open round (window around the real clock) with residents who have codes and
    phones, and a log capture on the root logger."""
    world = World(candidates=5)
    round_id = world.open_round(datetime.now(UTC), max_choices=3)
    rng = random.Random(seed)
    community = world.communities[0]
    voters = []
    for i in range(residents):
        number = make_id_number(rng)
        phone = f"139{rng.randrange(10**8):08d}"
        resident = Resident(
            community_id=community.id,
            name=f"居民{i}",
            id_hmac=identity.id_hmac(TEST_PEPPER.encode(), number),
            id_tail=number[-4:],
            phone_hmac=identity.phone_hmac(TEST_PEPPER.encode(), phone),
            phone_last4=phone[-4:],
            room=str(100 + i),
        )
        db.session.add(resident)
        db.session.flush()
        voters.append(Voter(resident.id, resident.name, number, phone, ""))
    db.session.commit()
    from voting.services import codes as codes_service

    slips = codes_service.issue_codes(
        round_id, pepper=TEST_PEPPER.encode(), rng=random.Random(seed + 1)
    )
    by_room = {s.room: s.code for s in slips}
    rooms = dict(db.session.execute(select(Resident.id, Resident.room)).all())
    for voter in voters:
        voter.code = by_room[rooms[voter.resident_id]]
    ctx = Ctx(app, world, round_id, voters, [c.id for c in world.candidates])
    _capture_logs(ctx)
    return ctx


def _capture_logs(ctx: Ctx) -> None:
    handler = logging.StreamHandler(ctx.log)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    ctx.release_logs = lambda: root.removeHandler(handler)  # type: ignore[attr-defined]


def race(n: int, fn: Callable[[int], object]) -> list[object]:
    """Run ``fn(i)`` in ``n`` real threads released together by a barrier; return results
    (or the exceptions raised)."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = fn(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def sql(statement: str, **params: object) -> object:
    """Run raw SQL in its own transaction (the DBA's view)."""
    db.session.rollback()
    with db.engine.begin() as conn:
        return conn.execute(text(statement), params)
