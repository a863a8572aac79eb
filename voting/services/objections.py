"""Objections (异议) to a round's 公示 and the street's public answers.

A resident proves they are on the round's roll exactly as for phone voting: name, ID number
and phone → a 6-digit code (``services.otp`` with purpose ``objection``). The code and the
objection's text are sent together; the objection is stored under the roll's keyed ID hash,
and UNIQUE (round, hash) makes it one per resident per notice under any concurrency.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..domain import staff as staff_rules
from ..domain.errors import Conflict, InvalidInput, NotPermitted, VotingError
from ..extensions import db
from ..models import CouncilNotice, Objection, Resident, StaffUser
from ..models.notices import ANSWER_MAX_CHARS, OBJECTION_MAX_CHARS
from . import audit, otp
from ._tx import begin_write, commit, utcnow
from .notice_period import ensure_objections_open
from .sms import SmsSender

OBJECTION_MIN_CHARS = 5
ANSWER_ROLES = staff_rules.Role.OFFICIAL, staff_rules.Role.CLERK


def body_problem(body: str) -> str | None:
    """Why the objection's text cannot be filed, or None."""
    text = body.strip()
    if len(text) < OBJECTION_MIN_CHARS:
        return "objection_too_short"
    if len(text) > OBJECTION_MAX_CHARS:
        return "objection_too_long"
    return None


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
) -> int:
    """Send a code for filing an objection; the same answer on and off the roll."""
    return otp.request_code(
        round_id,
        name,
        id_number,
        phone,
        pepper=pepper,
        sender=sender,
        now=now,
        rng=rng,
        purpose=otp.OBJECTION,
    )


def file_objection(
    challenge_id: int, code: str, body: str, *, pepper: bytes, now: datetime | None = None
) -> int:
    """Redeem the code and file the objection; return its public number.

    Raises InvalidInput (text), InvalidCode (code), Conflict (period over, or
    ``objection_already_filed`` for a second objection by the same resident).
    """
    now = now or utcnow()
    if problem := body_problem(body):
        raise InvalidInput(problem, maximum=OBJECTION_MAX_CHARS, minimum=OBJECTION_MIN_CHARS)
    begin_write()
    try:
        redeemed = otp.redeem_code(
            challenge_id, code, purpose=otp.OBJECTION, pepper=pepper, now=now
        )
        ensure_objections_open(redeemed.round_id, now)
        number = _insert(redeemed.round_id, redeemed.resident_id, body.strip(), now)
    except VotingError:
        db.session.rollback()
        raise
    commit()
    return number


def _insert(round_id: int, resident_id: int, body: str, now: datetime) -> int:
    """Write the objection and its audit event; a second one by the same resident fails.

    The notice row is locked first, so numbers are handed out one at a time; the UNIQUE
    constraint on (round, filer) stays the guard against a duplicate.
    """
    db.session.execute(
        select(CouncilNotice.round_id).where(CouncilNotice.round_id == round_id).with_for_update()
    )
    filer = db.session.scalar(select(Resident.id_hmac).where(Resident.id == resident_id))
    taken = db.session.scalar(
        select(Objection.id).where(Objection.round_id == round_id, Objection.filer_hmac == filer)
    )
    if taken is not None:
        raise Conflict("objection_already_filed")
    last = db.session.scalar(
        select(func.max(Objection.number)).where(Objection.round_id == round_id)
    )
    number = (last or 0) + 1
    db.session.add(
        Objection(round_id=round_id, number=number, filer_hmac=filer, body=body, filed_at=now)
    )
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict("objection_already_filed") from None
    # Counts only: who filed never enters the audit chain.
    payload = {"number": number, "chars": len(body)}
    audit.record("resident", "objection.filed", ("round", round_id), payload, now=now)
    return number


def answer(
    actor: StaffUser, round_id: int, number: int, text: str, *, now: datetime | None = None
) -> None:
    """An official (or the clerk) of the street answers an objection publicly, once."""
    now = now or utcnow()
    text = text.strip()
    if not text:
        raise InvalidInput("answer_missing")
    if len(text) > ANSWER_MAX_CHARS:
        raise InvalidInput("answer_too_long", maximum=ANSWER_MAX_CHARS)
    staff_rules.ensure_role(actor.role_enum, *ANSWER_ROLES)
    begin_write()
    notice = db.session.get(CouncilNotice, round_id)
    if notice is None:
        raise Conflict("notice_missing")
    if notice.round.street_id != actor.street_id:
        raise NotPermitted("other_street")
    objection = db.session.scalar(
        select(Objection)
        .where(Objection.round_id == round_id, Objection.number == number)
        .with_for_update()
    )
    if objection is None:
        raise InvalidInput("objection_unknown")
    if objection.answered_at is not None:
        raise Conflict("objection_answered")
    objection.answer, objection.answered_by_id, objection.answered_at = text, actor.id, now
    payload = {"number": number, "answer": text}
    audit.record(actor, "objection.answered", ("round", round_id), payload, now=now)
    commit()
