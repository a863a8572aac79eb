"""Implementation, supervision rounds and suggestions through the services, with the audit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.supervised import completed, jpeg, open_record, supervised_round, visit_input
from voting.domain.errors import Conflict, InvalidInput, NotPermitted
from voting.domain.supervision import ImplementationStatus, ProgressInput
from voting.extensions import db
from voting.models import AuditEvent, Implementation, ProgressUpdate, Suggestion
from voting.services import audit, implementation, supervision
from voting.services.photos import photo_access


@pytest.fixture
def s(app, now):  # type: ignore[no-untyped-def]
    return supervised_round(now)


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_save_setup_opens_one_record_per_selected_project(s):
    first = open_record(s)
    again = open_record(s)
    assert first == again
    record = db.session.get(Implementation, first)
    assert record.responsible_unit == "凯旋街道城建科"
    assert record.status == "planned"
    assert record.progress_percent == 0
    assert _actions().count("implementation.saved") == 2


def test_save_setup_unselected_candidate_is_404(s):
    from werkzeug.exceptions import NotFound

    unselected = s.world.candidates[3].id
    with pytest.raises(NotFound):
        implementation.save_setup(
            s.world.official, s.round_id, unselected, implementation.SetupInput("x", "", None, None)
        )


@pytest.mark.parametrize("who", ["supervisor", "clerk", "station_staff"])
def test_save_setup_by_non_official_refused(s, who):
    with pytest.raises(NotPermitted):
        implementation.save_setup(
            getattr(s.world, who),
            s.round_id,
            s.selected[0],
            implementation.SetupInput("x", "", None, None),
            now=s.now,
        )


def test_official_of_another_street_refused(s):
    from tests.factories import make_staff, make_street
    from voting.domain.staff import Role

    other = make_staff(make_street(name="闸弄口街道", communities=("天杭社区",)), Role.OFFICIAL)
    with pytest.raises(NotPermitted) as err:
        implementation.save_setup(
            other, s.round_id, s.selected[0], implementation.SetupInput("x", "", None, None)
        )
    assert err.value.code == "other_street"


def test_progress_report_updates_record_and_keeps_history(s):
    record_id = open_record(s)
    data = ProgressInput(ImplementationStatus.IN_PROGRESS, 40, 120_000, None, "路面施工")
    implementation.report_progress(s.world.official, record_id, data, now=s.now)
    implementation.report_progress(s.world.official, record_id, completed(), now=s.now)
    record = db.session.get(Implementation, record_id)
    assert (record.status, record.progress_percent, record.budget_spent_yuan) == (
        "completed",
        100,
        265_000,
    )
    assert record.actual_completion == date(2026, 6, 10)
    history = db.session.scalars(select(ProgressUpdate.progress_percent)).all()
    assert sorted(history) == [40, 100]


def test_progress_report_contradiction_refused_nothing_changed(s):
    record_id = open_record(s)
    bad = ProgressInput(ImplementationStatus.COMPLETED, 80, 10, date(2026, 6, 10), "")
    with pytest.raises(InvalidInput):
        implementation.report_progress(s.world.official, record_id, bad, now=s.now)
    db.session.rollback()
    assert db.session.get(Implementation, record_id).status == "planned"
    assert db.session.scalars(select(ProgressUpdate)).all() == []


def test_milestones_in_order_and_reached(s):
    record_id = open_record(s)
    official = s.world.official
    implementation.add_milestone(official, record_id, "方案公示", date(2026, 6, 5), now=s.now)
    implementation.add_milestone(official, record_id, "进场施工", date(2026, 6, 12), now=s.now)
    record = implementation.load(record_id)
    assert [(m.position, m.title) for m in record.milestones] == [(1, "方案公示"), (2, "进场施工")]
    first = record.milestones[0].id
    implementation.milestone_reached(official, record_id, first, date(2026, 6, 6), now=s.now)
    db.session.expire_all()
    assert implementation.load(record_id).milestones[0].done_on == date(2026, 6, 6)
    with pytest.raises(InvalidInput):
        implementation.milestone_reached(official, record_id, first, date(2027, 1, 1), now=s.now)


def test_two_supervision_rounds_suggestions_answered_closed_and_counted(s):
    record_id = open_record(s)
    sup, official = s.world.supervisor, s.world.official
    v1 = supervision.record_visit(sup, record_id, visit_input(date(2026, 6, 3)), now=s.now)
    v2 = supervision.record_visit(
        sup, record_id, visit_input(date(2026, 6, 18), suggestions=1), now=s.now
    )
    assert v1 != v2
    ids = db.session.scalars(select(Suggestion.id).order_by(Suggestion.id)).all()
    assert len(ids) == 3
    supervision.answer_suggestion(official, ids[0], "已增设排水沟", now=s.now)
    supervision.close_suggestion(sup, ids[0], now=s.now)
    supervision.answer_suggestion(official, ids[1], "已安排", now=s.now)
    db.session.expire_all()
    first = db.session.get(Suggestion, ids[0])
    assert first.status == "closed"
    assert first.answer == "已增设排水沟"
    assert first.answered_by_id == official.id
    assert first.closed_by_id == sup.id
    # Today 2026-06-21: the first round's deadline (06-10) has passed, the second's (06-25) not.
    figures = supervision.counts([record_id], date(2026, 6, 21))
    t = figures.total
    assert (t.rounds, t.suggestions, t.answered, t.closed, t.overdue) == (2, 3, 2, 1, 0)
    figures = supervision.counts([record_id], date(2026, 6, 26))
    assert figures.total.overdue == 1  # the second round's open one
    actions = _actions()
    assert actions.count("supervision.recorded") == 2
    assert actions.count("suggestion.answered") == 2
    assert "suggestion.closed" in actions
    assert audit.verify_chain()[1] is None


def test_visit_audit_keeps_no_participant_names(s):
    record_id = open_record(s)
    supervision.record_visit(
        s.world.supervisor, record_id, visit_input(date(2026, 6, 3)), now=s.now
    )
    payload = db.session.scalar(
        select(AuditEvent.payload).where(AuditEvent.action == "supervision.recorded")
    )
    assert "张代表" not in payload
    assert '"deputy":1' in payload.replace(" ", "")


def test_suggestion_transitions_only_forward_and_by_right_role(s):
    record_id = open_record(s)
    supervision.record_visit(
        s.world.supervisor, record_id, visit_input(date(2026, 6, 3)), now=s.now
    )
    sid = db.session.scalars(select(Suggestion.id)).first()
    with pytest.raises(Conflict) as err:
        supervision.close_suggestion(s.world.supervisor, sid, now=s.now)
    assert err.value.code == "suggestion_open"
    with pytest.raises(NotPermitted):
        supervision.answer_suggestion(s.world.supervisor, sid, "答复", now=s.now)
    supervision.answer_suggestion(s.world.official, sid, "答复", now=s.now)
    with pytest.raises(Conflict):
        supervision.answer_suggestion(s.world.official, sid, "再答复", now=s.now)
    with pytest.raises(NotPermitted):
        supervision.close_suggestion(s.world.official, sid, now=s.now)


def test_visit_by_official_refused(s):
    record_id = open_record(s)
    with pytest.raises(NotPermitted):
        supervision.record_visit(
            s.world.official, record_id, visit_input(date(2026, 6, 3)), now=s.now
        )


def test_visit_photo_public_and_progress_photo_by_official(s, tmp_path, monkeypatch, app):
    monkeypatch.setitem(app.config, "PHOTO_FOLDER", str(tmp_path / "photos"))
    record_id = open_record(s)
    visit_id = supervision.record_visit(
        s.world.supervisor, record_id, visit_input(date(2026, 6, 3)), now=s.now
    )
    photo = implementation.add_photo(
        s.world.supervisor, record_id, jpeg(), "东侧积水处", visit_id=visit_id, now=s.now
    )
    access = photo_access(photo.sha256)
    assert access is not None
    assert access.public
    assert access.path.is_file()
    with pytest.raises(NotPermitted):
        implementation.add_photo(s.world.supervisor, record_id, jpeg((900, 600)), "进度")
    with pytest.raises(InvalidInput) as err:
        implementation.add_photo(
            s.world.supervisor, record_id, jpeg(), "同一张", visit_id=visit_id, now=s.now
        )
    assert err.value.code == "photo_duplicate"
    implementation.add_photo(s.world.official, record_id, jpeg((900, 600)), "进度", now=s.now)
    assert len(implementation.load(record_id).photos) == 2


def test_implementation_before_finalization_refused(app, now):
    from tests.closed_rounds import closed_round
    from tests.factories import World

    world = World(candidates=4)
    rnd = closed_round(world, now)
    db.session.get(type(rnd.entries[0]), (rnd.id, world.candidates[0].id)).council_selected = True
    db.session.commit()
    with pytest.raises(Conflict) as err:
        implementation.save_setup(
            world.official,
            rnd.id,
            world.candidates[0].id,
            implementation.SetupInput("x", "", None, None),
            now=now + timedelta(days=20),
        )
    assert err.value.code == "round_not_implementable"
