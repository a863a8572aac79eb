"""An official sets the street's quorum and objection days: checks, storage and the audit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.closed_rounds import closed_round
from tests.council_records import council_input, request_and_approve
from tests.factories import World, make_staff
from voting.domain.errors import InvalidInput, NotPermitted
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import AuditEvent, CouncilNotice, Street
from voting.services import council
from voting.services.street_settings import StreetSettings, settings_of, update_settings


@pytest.fixture
def world(app):
    return World()


def _events() -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == "street.settings_changed")
    return list(db.session.scalars(query.order_by(AuditEvent.seq)))


def test_update_settings_stores_reduced_and_audits_old_to_new(world, now):
    assert settings_of(world.street.id) == StreetSettings(2, 3, 5)

    changed = update_settings(world.official, world.street.id, StreetSettings(6, 8, 7), now=now)

    assert changed
    assert settings_of(world.street.id) == StreetSettings(3, 4, 7)
    [event] = _events()
    assert json.loads(event.payload) == {"quorum": ["2/3", "3/4"], "objection_days": [5, 7]}
    assert (event.object_type, event.object_id) == ("street", str(world.street.id))
    assert event.actor_id == world.official.id


def test_update_settings_only_days_audits_only_days(world, now):
    update_settings(world.official, world.street.id, StreetSettings(4, 6, 10), now=now)
    assert [json.loads(e.payload) for e in _events()] == [{"objection_days": [5, 10]}]


def test_update_settings_same_values_writes_nothing(world, now):
    assert not update_settings(world.official, world.street.id, StreetSettings(2, 3, 5), now=now)
    assert _events() == []


@pytest.mark.parametrize(
    ("wanted", "code"),
    [
        (StreetSettings(1, 3, 5), "quorum_bounds"),
        (StreetSettings(3, 3, 5), "quorum_bounds"),
        (StreetSettings(1, 0, 5), "quorum_denominator"),
        (StreetSettings(2, 3, 31), "objection_days_range"),
        (StreetSettings(2, 3, 0), "objection_days_range"),
    ],
)
def test_update_settings_out_of_range_refused_nothing_written(world, now, wanted, code):
    with pytest.raises(InvalidInput) as exc:
        update_settings(world.official, world.street.id, wanted, now=now)
    assert exc.value.code == code
    assert settings_of(world.street.id) == StreetSettings(2, 3, 5)
    assert _events() == []


def test_update_settings_clerk_or_other_street_refused(world, now):
    other = make_staff(World(candidates=0, street="闸弄口街道").street, Role.OFFICIAL)
    with pytest.raises(NotPermitted):
        update_settings(world.clerk, world.street.id, StreetSettings(3, 4, 7), now=now)
    with pytest.raises(NotPermitted):
        update_settings(other, world.street.id, StreetSettings(3, 4, 7), now=now)
    assert db.session.get(Street, world.street.id).quorum_den == 3


def test_new_quorum_and_days_apply_to_the_next_decision_not_a_published_one(world, now):
    rnd = closed_round(world, now)
    ids = [e.candidate_id for e in rnd.entries]
    picked = {e.candidate_id for e in rnd.entries if e.rule_selected}
    at = now + timedelta(days=15)
    update_settings(world.official, world.street.id, StreetSettings(5, 6, 10), now=at)

    # 25 of 30 present is exactly 5/6: not strictly more, so no quorum any more.
    problems = council.save_record(world.clerk, rnd.id, council_input(ids, selected=picked), now=at)
    assert ("no_quorum", None) in problems
    data = council_input(ids, selected=picked, present=26)
    assert council.save_record(world.clerk, rnd.id, data, now=at) == []
    request_and_approve(world.clerk, world.official, rnd.id, now=at)
    assert db.session.get(CouncilNotice, rnd.id).objection_days == 10

    update_settings(world.official, world.street.id, StreetSettings(2, 3, 3), now=at)
    assert db.session.get(CouncilNotice, rnd.id).objection_days == 10
