"""Staff roles, station ownership, frozen candidates and reviews."""

from __future__ import annotations

import itertools

import pytest

from voting.domain.errors import Conflict, InvalidInput, NotPermitted
from voting.domain.staff import (
    CandidateStatus,
    IdeaSource,
    Role,
    ensure_editable,
    ensure_role,
    ensure_station_owns,
    review_outcome,
)


def test_enums_values_stable():
    assert [r.value for r in Role] == ["station", "official", "clerk", "supervisor"]
    assert [s.value for s in CandidateStatus] == ["submitted", "accepted", "rejected"]
    assert [s.value for s in IdeaSource] == ["seminar", "door_to_door", "online"]


ALLOWED_SETS = [
    (Role.STATION,),
    (Role.OFFICIAL,),
    (Role.CLERK,),
    (Role.OFFICIAL, Role.CLERK),
    (Role.STATION, Role.OFFICIAL),
]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(role, allowed) for role, allowed in itertools.product(Role, ALLOWED_SETS) if role in allowed],
)
def test_ensure_role_allowed_role_passes(role, allowed):
    assert ensure_role(role, *allowed) is None


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (role, allowed)
        for role, allowed in itertools.product(Role, [*ALLOWED_SETS, ()])
        if role not in allowed
    ],
)
def test_ensure_role_other_role_raises_not_permitted(role, allowed):
    with pytest.raises(NotPermitted) as exc:
        ensure_role(role, *allowed)
    assert exc.value.code == "role"
    assert exc.value.params == {"role": role.value}


@pytest.mark.parametrize("station_id", [1, 42])
def test_ensure_station_owns_own_station_passes(station_id):
    assert ensure_station_owns(Role.STATION, station_id, station_id) is None


@pytest.mark.parametrize(("staff_station", "candidate_station"), [(1, 2), (2, 1), (None, 1)])
def test_ensure_station_owns_other_station_raises_other_station(staff_station, candidate_station):
    with pytest.raises(NotPermitted) as exc:
        ensure_station_owns(Role.STATION, staff_station, candidate_station)
    assert exc.value.code == "other_station"
    assert exc.value.params == {}


@pytest.mark.parametrize("role", [Role.OFFICIAL, Role.CLERK])
@pytest.mark.parametrize("staff_station", [None, 7])
def test_ensure_station_owns_non_station_role_raises_not_permitted(role, staff_station):
    with pytest.raises(NotPermitted) as exc:
        ensure_station_owns(role, staff_station, 7)
    assert exc.value.code == "role"
    assert exc.value.params == {"role": role.value}


@pytest.mark.parametrize("status", [CandidateStatus.SUBMITTED, CandidateStatus.REJECTED])
def test_ensure_editable_submitted_or_rejected_passes(status):
    assert ensure_editable(status) is None


def test_ensure_editable_accepted_raises_candidate_frozen():
    with pytest.raises(Conflict) as exc:
        ensure_editable(CandidateStatus.ACCEPTED)
    assert exc.value.code == "candidate_frozen"
    assert exc.value.params == {}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [(True, CandidateStatus.ACCEPTED), (False, CandidateStatus.REJECTED)],
)
def test_review_outcome_with_reason_status(accept, expected):
    assert review_outcome(accept, "符合街道年度民生实事范围") is expected


@pytest.mark.parametrize("accept", [True, False])
@pytest.mark.parametrize("reason", ["", " ", "\t\n", "\u3000\u3000"])
def test_review_outcome_blank_reason_raises_review_reason_required(accept, reason):
    with pytest.raises(InvalidInput) as exc:
        review_outcome(accept, reason)
    assert exc.value.code == "review_reason_required"
    assert exc.value.params == {}
