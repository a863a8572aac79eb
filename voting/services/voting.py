"""The resident's vote: credentials, ballot, cast. Exactly one ballot per resident per round.

A resident proves eligibility through a channel and gets a ``Credential``: a voting code
(``code``) or a verified phone challenge (``sms``). The cast is one unit of work: re-check
the round inside a lock shared with close, claim the credential (a voting code is consumed
with a conditional UPDATE), insert the participation row — UNIQUE per round and resident,
whatever the channel — and the ballot with its choices, commit. Attempts racing on one
code or one resident end with one ballot; the losers get AlreadyVoted, which names when
and through which channel the resident voted, never what they chose.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Collection, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..domain import codes, lifecycle
from ..domain.ballots import BallotRule, CandidateRef, validate_ballot
from ..domain.errors import AlreadyVoted, BallotRuleViolation, InvalidCode, VotingError
from ..domain.lifecycle import RoundStatus
from ..extensions import db
from ..models import (
    Ballot,
    BallotChoice,
    Candidate,
    OtpChallenge,
    Participation,
    Resident,
    RoundCandidate,
    VotingCode,
    VotingRound,
)
from ..models.types import UTCDateTime, random_id
from . import sealing
from ._tx import begin_write, utcnow

# How long a verified phone challenge may be used to cast (the ballot page has no timer).
SMS_CREDENTIAL_LIFETIME = timedelta(hours=2)
SEAL_CHECK_EVERY = 10
_seal_sampler = secrets.SystemRandom()


@dataclass(frozen=True)
class Credential:
    """What a voter session holds: which proof of eligibility, for which round."""

    round_id: int
    kind: str  # "code" | "sms"
    id: int


def previous_participation(round_id: int, resident_id: int | None) -> AlreadyVoted:
    """AlreadyVoted carrying when and through which channel (never what was chosen)."""
    row = db.session.execute(
        select(Participation.voted_at, Participation.channel).where(
            Participation.round_id == round_id, Participation.resident_id == resident_id
        )
    ).first()
    if row is None:
        return AlreadyVoted()
    return AlreadyVoted(voted_at=row.voted_at, channel=row.channel)


def ensure_not_voted(round_id: int, resident_id: int) -> None:
    """Raise AlreadyVoted if the resident took part through any channel (friendly check;
    the UNIQUE constraint is the guard)."""
    error = previous_participation(round_id, resident_id)
    if error.params:
        raise error


def login_with_code(raw_code: str, *, pepper: bytes, now: datetime | None = None) -> Credential:
    """Check a typed or scanned voting code; raise InvalidCode, AlreadyVoted or RoundNotOpen."""
    now = now or utcnow()
    problem = codes.code_problem(raw_code)
    if problem:
        raise InvalidCode(problem)
    row = db.session.execute(
        select(VotingCode, VotingRound, Resident.status)
        .join(VotingRound, VotingRound.id == VotingCode.round_id)
        .join(Resident, Resident.id == VotingCode.resident_id)
        .where(VotingCode.code_hash == codes.code_hash(pepper, raw_code))
    ).first()
    if row is None:
        raise InvalidCode("code_unknown")
    code, rnd, resident_status = row
    if code.used_at is not None:
        raise previous_participation(code.round_id, code.resident_id)
    ensure_not_voted(code.round_id, code.resident_id)
    if resident_status != "active":
        raise InvalidCode("code_revoked")
    lifecycle.ensure_can_vote(rnd.status_enum, rnd.opens_at, rnd.closes_at, now)
    return Credential(rnd.id, "code", code.id)


Choices = Collection[int] | Mapping[int, int]


def round_definition(round_id: int) -> FrozenDefinition:
    """The round's ballot rule and candidates, read now in one statement as plain rows."""
    return _definition(round_id)[1]


def check_choices(round_id: int, choices: Choices) -> dict[int, int]:
    """Validate a ballot against the round's frozen rule (raises BallotRuleViolation);
    return it as candidate id → points."""
    return round_definition(round_id).check(choices)


def cast_ballot(
    credential: Credential,
    choices: Choices,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
    receipt: str | None = None,
) -> str:
    """Cast the ballot for the resident behind ``credential``; return the receipt code
    (``receipt`` when the caller drew it beforehand, else a new one).

    Times are kept to the minute: enough to tell a resident when they voted, too coarse to
    line participations up with anything else. This is the hot path of voting day, so it
    speaks SQL expressions rather than loading ORM objects.

    The ballot is checked against the round's frozen definition before the write (from this
    process's copy when it has one, see ``_frozen``). The write itself re-checks, under the
    round lock close must wait for, that the round is open now and is the one that copy was
    read from; when it writes nothing, the round is read again to say why.
    """
    now = now or utcnow()
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    round_id = credential.round_id
    try:
        definition, chosen = _checked(round_id, choices, now)
    except VotingError:
        db.session.rollback()
        raise
    receipt = receipt or codes.generate_receipt(rng)
    try:
        begin_write()
        while not _store(credential, chosen, receipt, now, minute, definition.key):
            # Nothing written: the round is not open now, this process's copy of its
            # definition is not the round's (another database), or the credential is spent.
            db.session.rollback()
            fresh = _open_definition(round_id, now)  # RoundNotOpen
            if fresh.key == definition.key:
                raise previous_participation(round_id, _resident_of(credential))
            definition, chosen = fresh, fresh.check(choices)
            begin_write()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _ensure_still_open(round_id, now)
        raise previous_participation(round_id, _resident_of(credential)) from None
    except VotingError:
        db.session.rollback()
        raise
    # Sealing is checked on a random tenth of casts (its own unit of work, after the ballot
    # is safe): batches still close at SEAL_BATCH_SIZE or a little above, at a tenth the cost.
    if _seal_sampler.randrange(SEAL_CHECK_EVERY) == 0:
        sealing.seal_if_due(round_id)
    return receipt


@dataclass(frozen=True)
class FrozenDefinition:
    """A round's ballot rule and candidates as they were when it opened."""

    key: str | None  # the round's definition_key (None while a draft)
    rule: BallotRule
    candidates: dict[int, CandidateRef]

    def check(self, choices: Choices) -> dict[int, int]:
        """The ballot as candidate id → points; BallotRuleViolation if it breaks the rule."""
        return validate_ballot(self.rule, self.candidates, choices)


# This process's copy of each open round's definition, by round id. A round's rule and
# candidates cannot change once it opens (rounds.update_round edits drafts only, accepted
# candidates are frozen), so the copy is read on the ballot page and reused by the cast,
# whose write checks the round's definition_key (random, drawn at open) against the copy's:
# a copy of another round with the same id (another database) is caught there and read
# again.
_frozen: dict[int, FrozenDefinition] = {}
_FROZEN_MAX = 256


def _remember(round_id: int, definition: FrozenDefinition) -> None:
    if definition.key is None:  # a draft can still change
        return
    if len(_frozen) >= _FROZEN_MAX:
        _frozen.clear()
    _frozen[round_id] = definition


# The cast path's statements, built once: constructing a statement costs more than running
# it on this path (measured), and the parameters are bound at execution.
_ROUNDS = VotingRound.__table__
_ROUND_CANDIDATES = RoundCandidate.__table__
_CANDIDATES = Candidate.__table__
# The round's status, window and rule with its candidates, one row per candidate (the
# round's columns repeated): one round trip instead of two.
_DEFINITION = (
    select(
        _ROUNDS.c.status,
        _ROUNDS.c.opens_at,
        _ROUNDS.c.closes_at,
        _ROUNDS.c.definition_key,
        _ROUNDS.c.min_choices,
        _ROUNDS.c.max_choices,
        _ROUNDS.c.budget_yuan,
        _ROUNDS.c.ballot_kind,
        _ROUNDS.c.points_total,
        _ROUNDS.c.min_spend_percent,
        _ROUND_CANDIDATES.c.candidate_id,
        _ROUND_CANDIDATES.c.position,
        _CANDIDATES.c.cost_yuan,
    )
    .select_from(
        _ROUNDS.outerjoin(
            _ROUND_CANDIDATES, _ROUND_CANDIDATES.c.round_id == _ROUNDS.c.id
        ).outerjoin(_CANDIDATES, _CANDIDATES.c.id == _ROUND_CANDIDATES.c.candidate_id)
    )
    .where(_ROUNDS.c.id == bindparam("round_id"))
)
# The round is open now and is the one the ballot was checked against: the condition every
# claim below carries (the write re-checks what the ballot check read before it).
_ROUND_OPEN = """
  SELECT 1 FROM voting_round
  WHERE id = :round_id AND status = 'open' AND definition_key = :definition_key
    AND opens_at <= :now AND closes_at > :now"""
# The claim of each kind of credential, run alone (SQLite, inside BEGIN IMMEDIATE) or
# inside _STORE (PostgreSQL). A voting code is consumed by a conditional UPDATE; the roll is
# checked with a correlated EXISTS, not IN (SELECT …): SQLite builds the whole IN list,
# every active resident of the roll, for each cast (measured: a cast got slower with the
# size of the roll); the EXISTS is one primary-key lookup on both databases. A verified
# phone challenge is read, not spent.
_CLAIM_SQL = {
    "code": """
  UPDATE voting_code SET used_at = :minute
  WHERE id = :credential_id AND round_id = :round_id AND used_at IS NULL
    AND EXISTS (SELECT 1 FROM resident
                WHERE resident.id = voting_code.resident_id AND resident.status = 'active')
    AND EXISTS ({round_open})
  RETURNING resident_id""",
    "sms": """
  SELECT resident_id FROM otp_challenge
  WHERE id = :credential_id AND round_id = :round_id AND consumed_at > :cutoff
    AND EXISTS ({round_open})""",
}
# The rows a cast writes (the same rows as add_participation and add_ballot): from VALUES
# on SQLite, from the step before on PostgreSQL (in _STORE, where a step that gave no row
# makes the next write nothing).
_PARTICIPATION = """
  INSERT INTO participation (round_id, resident_id, channel, voted_at, assisted_by, assist_reason)
  {rows}"""
_PARTICIPATION_ROWS = {
    "sqlite": "VALUES (:round_id, :resident_id, :channel, :minute, '', '')",
    "postgresql": "SELECT :round_id, resident_id, :channel, :minute, '', '' FROM claim",
}
_BALLOT = """
  INSERT INTO ballot (id, round_id, receipt_hash, receipt_hint)
  {rows}"""
_BALLOT_ROWS = {
    "sqlite": "VALUES (:ballot_id, :round_id, :receipt_hash, :receipt_hint)",
    "postgresql": "SELECT :ballot_id, :round_id, :receipt_hash, :receipt_hint FROM part",
}
_CHOICE = """
  INSERT INTO ballot_choice (ballot_id, round_id, candidate_id, points)
  VALUES (:ballot_id, :round_id, :candidate_id, :points)"""
# PostgreSQL: the claim, the participation, the ballot and its choices in one statement, one
# round trip instead of four. ``open_round`` takes a share lock on the round row that close's
# FOR UPDATE must wait for (a close committed first makes it return no row). Each step feeds
# the next through RETURNING, so a closed round or a spent credential writes nothing and the
# statement returns no row; a second participation still fails on the UNIQUE constraint.
_STORE = """
WITH open_round AS ({round_open} FOR SHARE),
claim AS ({claim}),
part AS ({participation}
  RETURNING resident_id),
box AS ({ballot}
  RETURNING id),
marks AS (
  INSERT INTO ballot_choice (ballot_id, round_id, candidate_id, points)
  SELECT box.id, :round_id, c.candidate_id, c.points
  FROM box, unnest(CAST(:candidates AS integer[]), CAST(:points AS integer[]))
    AS c(candidate_id, points)
  RETURNING 1)
SELECT resident_id, (SELECT count(*) FROM marks) AS marks FROM part
"""


class _DriverStatement:
    """One of the cast's statements in the driver's own SQL and parameter style, compiled
    once per dialect and run on the DBAPI cursor.

    On the busiest request of voting day SQLAlchemy's execution layer (its compiled cache,
    parameter processing, result set-up and events) cost more CPU than the statements
    themselves, and on SQLite it ran while the cast held the database's one write lock
    (docs/performance.md). Parameters must already be the driver's values (``_Cast.stamp``
    for times). A driver error comes back as SQLAlchemy's, so callers catch the same
    IntegrityError, with its parameters hidden: a credential id beside a receipt hash in a
    log would link a resident to a ballot.
    """

    def __init__(self, sql: str, dialect: Dialect) -> None:
        compiled = text(sql).compile(dialect=dialect)
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.error = dialect.loaded_dbapi.Error

    def params(self, values: Mapping[str, Any]) -> Any:
        return values if self.order is None else [values[name] for name in self.order]

    def run(self, cursor: Any, values: Mapping[str, Any]) -> Any:
        params = self.params(values)
        try:
            return cursor.execute(self.sql, params)
        except self.error as err:
            raise DBAPIError.instance(
                self.sql, params, err, self.error, hide_parameters=True
            ) from err

    def run_many(self, cursor: Any, rows: list[Mapping[str, Any]]) -> None:
        params = [self.params(row) for row in rows]
        try:
            cursor.executemany(self.sql, params)
        except self.error as err:
            raise DBAPIError.instance(
                self.sql, params, err, self.error, hide_parameters=True, ismulti=True
            ) from err


@dataclass(frozen=True)
class _Cast:
    """The cast's statements for one dialect, built on its first cast."""

    stamp: Callable[[datetime], Any]  # an aware time as the driver stores a UTCDateTime
    store: dict[str, _DriverStatement]  # PostgreSQL: the claim and every row, one statement
    claim: dict[str, _DriverStatement]  # SQLite: the claim, then a statement per table
    participation: _DriverStatement
    ballot: _DriverStatement
    choice: _DriverStatement

    @classmethod
    def of(cls, dialect: Dialect) -> _Cast:
        def each(sql: str) -> _DriverStatement:
            return _DriverStatement(sql, dialect)

        store = {
            kind: each(
                _STORE.format(
                    round_open=_ROUND_OPEN,
                    claim=claim.format(round_open=_LOCKED),
                    participation=_PARTICIPATION.format(rows=_PARTICIPATION_ROWS["postgresql"]),
                    ballot=_BALLOT.format(rows=_BALLOT_ROWS["postgresql"]),
                )
            )
            for kind, claim in _CLAIM_SQL.items()
        }
        return cls(
            stamp=UTCDateTime().dialect_impl(dialect).bind_processor(dialect),
            store=store,
            claim={
                kind: each(sql.format(round_open=_ROUND_OPEN)) for kind, sql in _CLAIM_SQL.items()
            },
            participation=each(_PARTICIPATION.format(rows=_PARTICIPATION_ROWS["sqlite"])),
            ballot=each(_BALLOT.format(rows=_BALLOT_ROWS["sqlite"])),
            choice=each(_CHOICE),
        )


_LOCKED = "SELECT 1 FROM open_round"  # inside _STORE: the round row, share-locked
_CASTS: dict[tuple[str, str], _Cast] = {}  # by dialect and driver
_INSERT_PARTICIPATION = Participation.__table__.insert()
_INSERT_BALLOT = Ballot.__table__.insert()
_INSERT_CHOICE = BallotChoice.__table__.insert()


def _checked(
    round_id: int, choices: Choices, now: datetime
) -> tuple[FrozenDefinition, dict[int, int]]:
    """The ballot checked against the round's frozen rule, from this process's copy when it
    accepts it; otherwise against the round read now, in its voting window (RoundNotOpen)."""
    copy = _frozen.get(round_id)
    if copy is not None:
        with suppress(BallotRuleViolation):  # perhaps another round's copy: read it
            return copy, copy.check(choices)
    definition = _open_definition(round_id, now)
    return definition, definition.check(choices)


def _ensure_still_open(round_id: int, now: datetime) -> None:
    """After a refused write: RoundNotOpen if the round closed meanwhile (the triggers
    refuse a ballot for a closed round), rather than a misleading AlreadyVoted."""
    try:
        _open_definition(round_id, now)
    finally:
        db.session.rollback()


def _open_definition(round_id: int, now: datetime) -> FrozenDefinition:
    """The round's definition read now; RoundNotOpen outside its voting window."""
    rnd, definition = _definition(round_id)
    lifecycle.ensure_can_vote(RoundStatus(rnd.status), rnd.opens_at, rnd.closes_at, now)
    return definition


def _definition(round_id: int) -> tuple[Any, FrozenDefinition]:
    """The round's first row (status and window) and its definition, kept as this
    process's copy once the round has opened."""
    rows = db.session.connection().execute(_DEFINITION, {"round_id": round_id}).all()
    if not rows:
        raise InvalidCode("code_unknown")
    first = rows[0]
    rule = BallotRule.of(
        first.min_choices,
        first.max_choices,
        first.budget_yuan,
        first.ballot_kind,
        first.points_total,
        first.min_spend_percent,
    )
    candidates = {
        row.candidate_id: CandidateRef(row.candidate_id, row.cost_yuan, row.position)
        for row in rows
        if row.candidate_id is not None
    }
    definition = FrozenDefinition(first.definition_key, rule, candidates)
    _remember(round_id, definition)
    return first, definition


def round_shared_lock(round_id: int) -> VotingRound:
    """Read the round under a lock that close's FOR UPDATE must wait for (PostgreSQL).

    On SQLite the whole cast already holds the write lock (BEGIN IMMEDIATE).
    """
    query = select(VotingRound).where(VotingRound.id == round_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    rnd = db.session.scalar(query)
    if rnd is None:
        raise InvalidCode("code_unknown")
    return rnd


def _resident_of(credential: Credential) -> int | None:
    model = VotingCode if credential.kind == "code" else OtpChallenge
    return db.session.scalar(select(model.resident_id).where(model.id == credential.id))


def _store(
    credential: Credential,
    chosen: Mapping[int, int],
    receipt: str,
    now: datetime,
    minute: datetime,
    definition_key: str | None,
) -> bool:
    """Claim the credential and write the participation and the ballot (in the caller's
    transaction) if the round is open now and its definition is ``definition_key``; False
    if nothing was written (it is not, or the credential was spent)."""
    conn = db.session.connection()
    dialect = conn.dialect
    statements = _CASTS.get((dialect.name, dialect.driver))
    if statements is None:
        statements = _CASTS[dialect.name, dialect.driver] = _Cast.of(dialect)
    stamp = statements.stamp
    values: dict[str, Any] = {
        "credential_id": credential.id,
        "round_id": credential.round_id,
        "minute": stamp(minute),
        "cutoff": stamp(now - SMS_CREDENTIAL_LIFETIME),
        "now": stamp(now),
        "definition_key": definition_key,
        "channel": credential.kind,
        "ballot_id": random_id(),
        "receipt_hash": codes.receipt_hash(receipt),
        "receipt_hint": receipt[:8],
    }
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect.name == "postgresql":
            values["candidates"], values["points"] = list(chosen), list(chosen.values())
            return statements.store[credential.kind].run(cursor, values).fetchone() is not None
        claimed = statements.claim[credential.kind].run(cursor, values).fetchone()
        if claimed is None:
            return False
        values["resident_id"] = claimed[0]
        statements.participation.run(cursor, values)
        statements.ballot.run(cursor, values)
        statements.choice.run_many(
            cursor, [{**values, "candidate_id": c, "points": p} for c, p in chosen.items()]
        )
        return True
    finally:
        cursor.close()


def add_participation(
    round_id: int, resident_id: int, channel: str, now: datetime, **extra: object
) -> None:
    """Record who took part (UNIQUE per round and resident; in the caller's transaction)."""
    row = {
        "round_id": round_id,
        "resident_id": resident_id,
        "channel": channel,
        "voted_at": now,
        "assisted_by": "",
        "assist_reason": "",
        "checked_in_by_id": None,
        **extra,
    }
    db.session.connection().execute(_INSERT_PARTICIPATION, row)


def add_ballot(
    round_id: int,
    chosen: Mapping[int, int],
    rng: random.Random | None,
    *,
    receipt: str | None = None,
) -> str:
    """Store an anonymous ballot with its choices, candidate id → points (in the caller's
    transaction); return its receipt code."""
    receipt = receipt or codes.generate_receipt(rng)
    ballot_id = random_id()
    conn = db.session.connection()
    conn.execute(
        _INSERT_BALLOT,
        {
            "id": ballot_id,
            "round_id": round_id,
            "receipt_hash": codes.receipt_hash(receipt),
            "receipt_hint": receipt[:8],
            "batch_no": None,
        },
    )
    if chosen:
        conn.execute(
            _INSERT_CHOICE,
            [
                {"ballot_id": ballot_id, "round_id": round_id, "candidate_id": c, "points": p}
                for c, p in chosen.items()
            ],
        )
    return receipt
