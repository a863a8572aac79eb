"""The satisfaction meeting: only completed projects, the street's rule, its snapshot, the CLI."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from tests.supervised import completed, open_record, supervised_round
from voting.domain.errors import InvalidInput, NotPermitted
from voting.domain.satisfaction import Rating
from voting.extensions import db
from voting.models import SatisfactionRating, StaffUser
from voting.services import implementation, satisfaction

TWO_THIRDS = (
    '{"steps": [{"grade": "satisfied", "options": ["satisfied"], "more_than": "2/3"},'
    ' {"grade": "basic", "options": ["satisfied", "basic"], "more_than": "1/2"}],'
    ' "otherwise": "dissatisfied"}'
)


@pytest.fixture
def s(app, now):  # type: ignore[no-untyped-def]
    return supervised_round(now)


def _meeting(record_id: int, sat: int, basic: int, dis: int, present: int = 9):  # type: ignore[no-untyped-def]
    counts = {Rating.SATISFIED: sat, Rating.BASIC: basic, Rating.DISSATISFIED: dis}
    return satisfaction.MeetingInput(date(2026, 6, 20), "会议室", present, {record_id: counts})


def _done(s) -> int:  # type: ignore[no-untyped-def]
    record_id = open_record(s)
    implementation.report_progress(s.world.official, record_id, completed(), now=s.now)
    return record_id


def test_record_meeting_grades_by_default_rule(s):
    record_id = _done(s)
    satisfaction.record_meeting(s.world.clerk, s.round_id, _meeting(record_id, 5, 2, 2), now=s.now)
    rating = db.session.get(SatisfactionRating, (s.round_id, record_id))
    assert rating.grade == "satisfied"  # 5 of 9 > 1/2


def test_street_rule_applies_and_is_snapshotted(s, app):
    record_id = _done(s)
    satisfaction.set_street_rule(s.world.street.name, TWO_THIRDS)
    satisfaction.record_meeting(s.world.clerk, s.round_id, _meeting(record_id, 6, 2, 1), now=s.now)
    assert db.session.get(SatisfactionRating, (s.round_id, record_id)).grade == "basic"
    # A later change of the street's rule does not regrade this meeting when re-saved.
    runner = app.test_cli_runner()
    result = runner.invoke(args=["satisfaction", "show-rule", "--street", s.world.street.name])
    assert '"more_than": "2/3"' in result.output
    satisfaction.set_street_rule(s.world.street.name, satisfaction.rules.rule_to_json(
        satisfaction.rules.DEFAULT_RULE
    ))  # fmt: skip
    satisfaction.record_meeting(s.world.clerk, s.round_id, _meeting(record_id, 6, 2, 1), now=s.now)
    assert db.session.get(SatisfactionRating, (s.round_id, record_id)).grade == "basic"


def test_uncompleted_project_cannot_be_rated(s):
    record_id = open_record(s)
    with pytest.raises(InvalidInput) as err:
        satisfaction.record_meeting(s.world.clerk, s.round_id, _meeting(record_id, 5, 2, 2))
    assert err.value.code == "satisfaction_not_completed"


def test_counts_over_present_refused_and_supervisor_not_permitted(s):
    record_id = _done(s)
    with pytest.raises(InvalidInput) as err:
        satisfaction.record_meeting(
            s.world.clerk, s.round_id, _meeting(record_id, 5, 3, 2), now=s.now
        )
    assert err.value.code == "satisfaction_over_present"
    with pytest.raises(NotPermitted):
        satisfaction.record_meeting(
            s.world.supervisor, s.round_id, _meeting(record_id, 5, 2, 2), now=s.now
        )


def test_database_refuses_counts_over_present(s):
    record_id = _done(s)
    satisfaction.record_meeting(s.world.clerk, s.round_id, _meeting(record_id, 5, 2, 2), now=s.now)
    too_many = sa.update(SatisfactionRating).values(dissatisfied=5)  # 5 + 2 + 5 > 9 present
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(too_many)
    db.session.rollback()


def test_cli_set_rule_refuses_malformed_json(s, app, tmp_path):
    bad = tmp_path / "rule.json"
    bad.write_text('{"steps": "x"}', encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=["satisfaction", "set-rule", "--street", s.world.street.name, str(bad)]
    )
    assert result.exit_code != 0
    assert "satisfaction_rule" in result.output


def test_cli_creates_supervisor_bound_to_street(app, s):
    result = app.test_cli_runner().invoke(
        args=[
            "staff", "create", "zhangdb", "--role", "supervisor", "--name", "张代表",
            "--street", s.world.street.name, "--password", "correct-horse-battery",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = db.session.scalars(sa.select(StaffUser).where(StaffUser.username == "zhangdb")).one()
    assert user.role == "supervisor"
    assert user.street_id == s.world.street.id
    assert user.station_id is None
