"""Issuing single-use voting codes (投票码) and the slips stations print."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..domain import codes
from ..domain.errors import Conflict
from ..domain.lifecycle import RoundStatus
from ..extensions import db
from ..models import Community, Resident, RoundCommunity, VotingCode
from . import audit
from ._tx import begin_write, commit, utcnow
from .rounds import load_round


@dataclass(frozen=True)
class Slip:
    """One printed slip: everything on it, the code in clear only here, once."""

    code: str
    community: str
    building: str
    unit: str
    room: str
    name_hint: str


def _name_hint(name: str) -> str:
    """Surname and a mask: enough for the household, not the whole name."""
    return name[:1] + "*" * max(len(name) - 1, 1)


def issue_codes(
    round_id: int,
    *,
    pepper: bytes,
    actor: str = "cli",
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> list[Slip]:
    """Create a code for every eligible resident who has none yet; return their slips."""
    now = now or utcnow()
    rnd = load_round(round_id)
    if rnd.status_enum not in (RoundStatus.DRAFT, RoundStatus.OPEN):
        raise Conflict("round_not_issuable", status=rnd.status)
    begin_write()
    have_code = select(VotingCode.resident_id).where(VotingCode.round_id == round_id)
    residents = db.session.execute(
        select(Resident, Community.name)
        .join(Community, Community.id == Resident.community_id)
        .join(RoundCommunity, RoundCommunity.community_id == Resident.community_id)
        .where(
            RoundCommunity.round_id == round_id,
            Resident.status == "active",
            Resident.id.not_in(have_code),
        )
        .order_by(Community.id, Resident.building, Resident.unit, Resident.room, Resident.id)
    ).all()
    slips, hashes = [], set()
    for resident, community in residents:
        code = codes.generate_code(rng)
        digest = codes.code_hash(pepper, code)
        while digest in hashes:  # a 1-in-10¹¹ collision: draw again
            code = codes.generate_code(rng)
            digest = codes.code_hash(pepper, code)
        hashes.add(digest)
        db.session.add(
            VotingCode(round_id=round_id, resident_id=resident.id, code_hash=digest, issued_at=now)
        )
        slips.append(
            Slip(
                code,
                community,
                resident.building,
                resident.unit,
                resident.room,
                _name_hint(resident.name),
            )
        )
    db.session.flush()
    audit.record(actor, "codes.issued", ("round", round_id), {"count": len(slips)}, now=now)
    commit()
    return slips
