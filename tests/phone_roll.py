"""Residents on the roll with an ID number and a phone, for the phone-channel tests."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.conftest import TEST_PEPPER
from tests.factories import World, make_id_number
from voting.domain import identity
from voting.extensions import db
from voting.models import Resident

PEPPER = TEST_PEPPER.encode()


@dataclass(frozen=True)
class Person:
    """What a resident types on the phone page, and their row id (None: not on the roll)."""

    name: str
    id_number: str
    phone: str
    resident_id: int | None = None


def enrol(world: World, *, seed: int, name: str = "王小明", community: int = 0) -> Person:
    """Put a resident with an ID number and a phone on the roll."""
    rng = random.Random(seed)
    number = make_id_number(rng)
    phone = f"139{rng.randrange(10**8):08d}"
    resident = Resident(
        community_id=world.communities[community].id,
        name=name,
        id_hmac=identity.id_hmac(PEPPER, number),
        id_tail=number[-4:],
        phone_hmac=identity.phone_hmac(PEPPER, phone),
        phone_last4=phone[-4:],
    )
    db.session.add(resident)
    db.session.commit()
    return Person(name, number, phone, resident.id)


def stranger(seed: int) -> Person:
    """Well-formed details of someone not on the roll."""
    rng = random.Random(seed)
    return Person("李四", make_id_number(rng), f"137{rng.randrange(10**8):08d}")
