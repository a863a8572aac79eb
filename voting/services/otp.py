"""Phone verification (手机验证码): request, resend and verify a 6-digit code.

Requesting a code matches the roll (ID HMAC, phone HMAC, name, active, community in the
round's scope) and always writes a challenge row. Off the roll, the row has no resident and
a random code nobody receives; the caller sees exactly the same thing either way, and both
kinds count against the same cool-down and caps, which are read from the database so every
app server agrees. A resident who has already voted still gets a code: they learn it at
verification, once they have shown they hold the phone.

Verifying decrements the attempt counter with one conditional UPDATE before comparing, so
parallel guesses share the 5 attempts; a matching code is then consumed with a second
conditional UPDATE and becomes an ``sms`` Credential for ``voting.cast_ballot``.

Each challenge has a purpose: ``vote`` (the above) or ``objection`` (filing an objection to
the round's 公示 during its period; ``services.objections`` redeems those with
``redeem_code`` inside its own unit of work). A code never unlocks the other purpose.
"""

from __future__ import annotations

import hmac
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Row, func, select, text, update

from ..domain import identity, lifecycle
from ..domain import otp as rules
from ..domain.errors import InvalidCode, InvalidInput, VotingError
from ..domain.lifecycle import RoundStatus
from ..extensions import db
from ..models import AuditEvent, OtpChallenge, Resident, RoundCommunity, VotingRound
from . import audit
from ._tx import begin_write, commit, utcnow
from .notice_period import ensure_objections_open
from .sms import SmsSender, deliver
from .voting import Credential, previous_participation

log = logging.getLogger(__name__)

GLOBAL_CAP_ACTION = "otp.global_cap_reached"
VOTE = "vote"
OBJECTION = "objection"
PURPOSES = (VOTE, OBJECTION)


@dataclass(frozen=True)
class Redeemed:
    """A code that matched: the round and the resident on the roll it was sent to."""

    round_id: int
    resident_id: int


@dataclass(frozen=True)
class Issued:
    """A challenge row written in this unit of work, and the code to send (or not)."""

    challenge_id: int
    code: str
    send: bool


def open_rounds() -> list[VotingRound]:
    """Rounds whose status is open, oldest first (the phone page offers these)."""
    query = select(VotingRound).where(VotingRound.status == RoundStatus.OPEN.value)
    return list(db.session.scalars(query.order_by(VotingRound.id)))


def input_problems(name: str, id_number: str, phone: str) -> list[tuple[str, str]]:
    """(error code, field) for every field of the wrong shape."""
    problems = []
    if not name.strip():
        problems.append(("name_missing", "name"))
    if problem := identity.id_number_problem(id_number):
        problems.append((problem, "id_number"))
    if problem := identity.phone_problem(phone):
        problems.append((problem, "phone"))
    return problems


def request_code(
    round_id: int,
    name: str,
    id_number: str,
    phone: str,
    *,
    pepper: bytes,
    sender: SmsSender,
    now: datetime | None = None,
    rng: random.Random | None = None,
    purpose: str = VOTE,
) -> int:
    """Write a challenge and text the code if the person is on the roll; return its id.

    The answer is the same on and off the roll; only shape errors, a closed round (or, for
    objections, a closed objection period) and the send caps are reported (InvalidInput,
    RoundNotOpen, Conflict, SendRefused).
    """
    now = now or utcnow()
    if problems := input_problems(name, id_number, phone):
        raise InvalidInput(problems[0][0], problems=problems)
    phone_key = identity.phone_hmac(pepper, phone)
    begin_write()
    try:
        _ensure_open(round_id, purpose, now)
        resident_id = _match(round_id, name, identity.id_hmac(pepper, id_number), phone_key)
        issued = _issue(
            round_id, resident_id, phone_key, pepper=pepper, now=now, rng=rng, purpose=purpose
        )
    except VotingError:
        db.session.rollback()
        raise
    commit()
    _send(issued, phone, sender)
    return issued.challenge_id


def resend_code(
    challenge_id: int,
    phone: str,
    *,
    pepper: bytes,
    sender: SmsSender,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> int:
    """A fresh code for the person and phone of an earlier challenge; return its id."""
    now = now or utcnow()
    phone_key = identity.phone_hmac(pepper, phone)
    begin_write()
    try:
        earlier = db.session.execute(
            select(
                OtpChallenge.round_id,
                OtpChallenge.resident_id,
                OtpChallenge.phone_hmac,
                OtpChallenge.purpose,
            ).where(OtpChallenge.id == challenge_id)
        ).first()
        if earlier is None or not hmac.compare_digest(earlier.phone_hmac, phone_key):
            raise InvalidCode("otp_expired")
        _ensure_open(earlier.round_id, earlier.purpose, now)
        issued = _issue(
            earlier.round_id,
            earlier.resident_id,
            phone_key,
            pepper=pepper,
            now=now,
            rng=rng,
            purpose=earlier.purpose,
        )
    except VotingError:
        db.session.rollback()
        raise
    commit()
    _send(issued, phone, sender)
    return issued.challenge_id


def verify_code(
    challenge_id: int, code: str, *, pepper: bytes, now: datetime | None = None
) -> Credential:
    """Spend one attempt on the challenge; on a match consume it and return a Credential.

    Raises InvalidCode (otp_format, otp_wrong with attempts_left, otp_expired,
    otp_exhausted, otp_used), AlreadyVoted (with when and which channel) or RoundNotOpen.
    """
    now = now or utcnow()
    if problem := rules.code_problem(code):
        raise InvalidCode(problem)
    begin_write()
    try:
        redeemed = redeem_code(challenge_id, code, purpose=VOTE, pepper=pepper, now=now)
        already = previous_participation(redeemed.round_id, redeemed.resident_id)
    except VotingError:
        db.session.rollback()
        raise
    commit()
    if already.params:
        raise already
    log.info("otp challenge %s verified", challenge_id)
    return Credential(redeemed.round_id, "sms", challenge_id)


def redeem_code(
    challenge_id: int, code: str, *, purpose: str, pepper: bytes, now: datetime
) -> Redeemed:
    """Spend an attempt and, on a match, consume the challenge — in the caller's write
    transaction (begun with ``begin_write``), which the caller commits.

    A wrong code commits the spent attempt before raising, so it stays spent. Raises
    InvalidCode, RoundNotOpen (votes), Conflict (objection period over) or AlreadyVoted.
    """
    if problem := rules.code_problem(code):
        raise InvalidCode(problem)
    row = _spend_attempt(challenge_id, purpose, now)
    if row is None:
        raise _dead_challenge(challenge_id, purpose, now)
    if not _matches(row, code, pepper):
        commit()  # the spent attempt stays spent
        raise InvalidCode(
            rules.attempt_error_code(row.attempts_left), attempts_left=row.attempts_left
        )
    _ensure_open(row.round_id, purpose, now)
    _consume(challenge_id, now)
    return Redeemed(row.round_id, row.resident_id)


# --- requesting ---------------------------------------------------------------------------


def _ensure_open(round_id: int, purpose: str, now: datetime) -> None:
    """Votes need the round open; objections need its 公示's objection period open."""
    if purpose == OBJECTION:
        ensure_objections_open(round_id, now)
        return
    rnd = db.session.get(VotingRound, round_id)
    if rnd is None:
        raise InvalidCode("otp_expired")
    lifecycle.ensure_can_vote(rnd.status_enum, rnd.opens_at, rnd.closes_at, now)


def _match(round_id: int, name: str, id_key: str, phone_key: str) -> int | None:
    """The active resident in the round's scope with this ID, phone and name, or None."""
    row = db.session.execute(
        select(Resident.id, Resident.name)
        .join(RoundCommunity, RoundCommunity.community_id == Resident.community_id)
        .where(
            RoundCommunity.round_id == round_id,
            Resident.id_hmac == id_key,
            Resident.phone_hmac == phone_key,
            Resident.status == "active",
        )
    ).first()
    if row is None or not rules.names_match(name, row.name):
        return None
    return int(row.id)


def _issue(
    round_id: int,
    resident_id: int | None,
    phone_key: str,
    *,
    pepper: bytes,
    now: datetime,
    rng: random.Random | None,
    purpose: str,
) -> Issued:
    """Check the caps, kill the phone's live code for the round, write the new challenge."""
    _lock_phone(phone_key)
    _refuse_if_throttled(round_id, phone_key, now)
    _expire_previous(round_id, purpose, phone_key, now)
    code = rules.generate_code(rng)  # drawn and hashed on and off the roll alike
    challenge = OtpChallenge(
        round_id=round_id,
        purpose=purpose,
        resident_id=resident_id,
        phone_hmac=phone_key,
        code_hash=rules.code_hash(pepper, code, round_id=round_id, phone_hmac=phone_key),
        created_at=now,
        expires_at=rules.expiry(now),
        attempts_left=rules.MAX_ATTEMPTS,
    )
    db.session.add(challenge)
    db.session.flush()
    log.info("otp challenge %s issued for round %s", challenge.id, round_id)
    return Issued(challenge.id, code, send=resident_id is not None)


def _lock_phone(phone_key: str) -> None:
    """Serialise requests for one phone (PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = int(phone_key[:15], 16)  # 60 bits: fits a signed bigint
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _refuse_if_throttled(round_id: int, phone_key: str, now: datetime) -> None:
    """Raise SendRefused on the cool-down or a cap (recording a reached global cap)."""
    by_phone = select(OtpChallenge.created_at).where(OtpChallenge.phone_hmac == phone_key)
    last_sent = db.session.scalar(
        select(func.max(OtpChallenge.created_at)).where(OtpChallenge.phone_hmac == phone_key)
    )
    sends_today = _count(
        by_phone.where(
            OtpChallenge.round_id == round_id,
            OtpChallenge.created_at > now - rules.SEND_WINDOW,
        )
    )
    sent_last_hour = _count(
        select(OtpChallenge.id).where(OtpChallenge.created_at > now - timedelta(hours=1))
    )
    cap = int(current_app.config["PHONE_CODE_GLOBAL_PER_HOUR"])
    refusal = rules.send_refusal(last_sent, sends_today, sent_last_hour, cap, now)
    if refusal is None:
        return
    if refusal.code == "otp_busy":
        _record_global_cap(sent_last_hour, cap, now)
    raise refusal


def _count(query) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _record_global_cap(sent_last_hour: int, cap: int, now: datetime) -> None:
    """Audit the global cap once an hour: counts only, never who asked (own commit)."""
    recent = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == GLOBAL_CAP_ACTION, AuditEvent.at > now - timedelta(hours=1))
    )
    if recent:
        return
    payload = {"sent_last_hour": sent_last_hour, "cap": cap}
    audit.record("system", GLOBAL_CAP_ACTION, ("otp", "global"), payload, now=now)
    commit()
    log.warning("phone codes: global cap of %s per hour reached", cap)


def _expire_previous(round_id: int, purpose: str, phone_key: str, now: datetime) -> None:
    """A new code replaces the phone's live one for the round: the old one dies now."""
    db.session.execute(
        update(OtpChallenge)
        .where(
            OtpChallenge.round_id == round_id,
            OtpChallenge.purpose == purpose,
            OtpChallenge.phone_hmac == phone_key,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.expires_at > now,
            OtpChallenge.created_at < now,
        )
        .values(expires_at=now, attempts_left=0)
        .execution_options(synchronize_session=False)
    )


def _send(issued: Issued, phone: str, sender: SmsSender) -> None:
    """Text the code to the phone typed (which matched the roll), after the commit."""
    if issued.send:
        deliver(sender, identity.normalize_phone(phone), rules.sms_text(issued.code))


# --- verifying ----------------------------------------------------------------------------


def _spend_attempt(challenge_id: int, purpose: str, now: datetime) -> Row | None:  # type: ignore[type-arg]
    """Take one attempt from a live challenge atomically; None if none was left to take."""
    return db.session.execute(
        update(OtpChallenge)
        .where(
            OtpChallenge.id == challenge_id,
            OtpChallenge.purpose == purpose,
            OtpChallenge.attempts_left > 0,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.expires_at > now,
        )
        .values(attempts_left=OtpChallenge.attempts_left - 1)
        .returning(
            OtpChallenge.code_hash,
            OtpChallenge.resident_id,
            OtpChallenge.round_id,
            OtpChallenge.phone_hmac,
            OtpChallenge.attempts_left,
        )
        .execution_options(synchronize_session=False)
    ).first()


def _matches(row: Row, code: str, pepper: bytes) -> bool:  # type: ignore[type-arg]
    """Constant-time comparison; a challenge off the roll never matches."""
    expected = rules.code_hash(pepper, code, round_id=row.round_id, phone_hmac=row.phone_hmac)
    same = hmac.compare_digest(row.code_hash, expected)
    return same and row.resident_id is not None


def _consume(challenge_id: int, now: datetime) -> None:
    """Mark the challenge used; exactly one verification can do so."""
    result = db.session.execute(
        update(OtpChallenge)
        .where(OtpChallenge.id == challenge_id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidCode("otp_used")


def _dead_challenge(challenge_id: int, purpose: str, now: datetime) -> VotingError:
    """Why a challenge took no attempt: used, expired (or replaced) or out of attempts."""
    row = db.session.execute(
        select(
            OtpChallenge.round_id,
            OtpChallenge.resident_id,
            OtpChallenge.expires_at,
            OtpChallenge.consumed_at,
        ).where(OtpChallenge.id == challenge_id, OtpChallenge.purpose == purpose)
    ).first()
    if row is None:
        return InvalidCode("otp_expired")
    if row.consumed_at is not None:
        if purpose == VOTE:
            already = previous_participation(row.round_id, row.resident_id)
            if already.params:
                return already
        return InvalidCode("otp_used")
    if not rules.is_live(row.expires_at, now):
        return InvalidCode("otp_expired")
    return InvalidCode("otp_exhausted")
