"""An official sets the street's council quorum and the 公示's objection days.

A change applies to what has not happened yet: council records not yet finalized are
checked against the new quorum, and the next approval uses the new number of days. A 公示
already published keeps the period it was published with (``council_notice``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain import staff as staff_rules
from ..domain import street_settings as rules
from ..domain.errors import InvalidInput, NotPermitted
from ..domain.staff import Role
from ..extensions import db
from ..models import StaffUser, Street
from . import audit
from ._tx import begin_write, commit, utcnow


@dataclass(frozen=True)
class StreetSettings:
    quorum_num: int
    quorum_den: int
    objection_days: int

    @property
    def quorum(self) -> str:
        return rules.quorum_text(self.quorum_num, self.quorum_den)


def settings_of(street_id: int) -> StreetSettings:
    """The street's current settings."""
    street = db.session.get(Street, street_id)
    if street is None:
        raise InvalidInput("unknown_street")
    return StreetSettings(street.quorum_num, street.quorum_den, street.objection_days)


def _changes(old: StreetSettings, new: StreetSettings) -> dict[str, list[object]]:
    """What changed, old → new, for the audit chain."""
    changes: dict[str, list[object]] = {}
    if (old.quorum_num, old.quorum_den) != (new.quorum_num, new.quorum_den):
        changes["quorum"] = [old.quorum, new.quorum]
    if old.objection_days != new.objection_days:
        changes["objection_days"] = [old.objection_days, new.objection_days]
    return changes


def update_settings(
    actor: StaffUser,
    street_id: int,
    wanted: StreetSettings,
    *,
    now: datetime | None = None,
) -> bool:
    """Save the street's settings (officials of that street); True if anything changed.

    Every change is one audit event with the old and new values; saving the same values
    again writes nothing.
    """
    now = now or utcnow()
    staff_rules.ensure_role(actor.role_enum, Role.OFFICIAL)
    if actor.street_id != street_id:
        raise NotPermitted("other_street")
    problems = rules.settings_problems(wanted.quorum_num, wanted.quorum_den, wanted.objection_days)
    if problems:
        raise InvalidInput(problems[0][0], problems=problems)
    num, den = rules.reduced(wanted.quorum_num, wanted.quorum_den)
    new = StreetSettings(num, den, wanted.objection_days)
    begin_write()
    street = db.session.get(Street, street_id, with_for_update=True)
    if street is None:
        raise InvalidInput("unknown_street")
    old = StreetSettings(street.quorum_num, street.quorum_den, street.objection_days)
    changes = _changes(old, new)
    if not changes:
        db.session.rollback()
        return False
    street.quorum_num, street.quorum_den = new.quorum_num, new.quorum_den
    street.objection_days = new.objection_days
    audit.record(actor, "street.settings_changed", ("street", street_id), changes, now=now)
    commit()
    return True
