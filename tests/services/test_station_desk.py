"""The station channel (联络站现场): check-in, blind double entry of paper ballots,
reconciliation and the participation invariant, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import TEST_PEPPER
from tests.factories import World, make_id_number, make_staff, make_station, make_street
from voting.domain import identity
from voting.domain.errors import (
    AlreadyVoted,
    BallotRuleViolation,
    Conflict,
    InvalidInput,
    NotPermitted,
    RoundNotOpen,
)
from voting.domain.staff import Role
from voting.extensions import db
from voting.models import (
    AuditEvent,
    Ballot,
    BallotChoice,
    Community,
    PaperBallot,
    PaperEntry,
    Participation,
    Resident,
    StaffUser,
    VotingRound,
)
from voting.services import paper_ballots, rounds, station_desk, voting

PEPPER = TEST_PEPPER.encode()


def add_resident(
    community: Community, rng: random.Random, *, name: str = "李阿婆", status: str = "active"
) -> tuple[Resident, str]:
    """A resident whose ID number the test knows (the roll stores only its HMAC)."""
    number = make_id_number(rng)
    resident = Resident(
        community_id=community.id,
        name=name,
        id_hmac=identity.id_hmac(PEPPER, number),
        id_tail=number[-4:],
        building="5幢",
        unit="2单元",
        room="301",
        status=status,
    )
    db.session.add(resident)
    db.session.commit()
    return resident, number


class Desk:
    """A world with an open round, three station staff of one street and some residents."""

    def __init__(self, now, **round_overrides: object) -> None:  # type: ignore[no-untyped-def]
        self.world = World()
        self.now = now
        self.round_id = self.world.open_round(now, **round_overrides)
        self.staff_a = self.world.station_staff
        self.staff_b = make_staff(self.world.street, Role.STATION, station=self.world.station)
        self.staff_c = make_staff(self.world.street, Role.STATION, station=self.world.station)
        self.official = self.world.official
        self.ids = [c.id for c in self.world.candidates]
        self.rng = random.Random(5)

    def resident(self, **kw: object) -> tuple[Resident, str]:
        return add_resident(self.world.communities[0], self.rng, **kw)  # type: ignore[arg-type]

    def enter(self, staff: StaffUser, serial: str, choices=(), *, invalid=False) -> str:  # type: ignore[no-untyped-def]
        return paper_ballots.enter_paper(
            staff, self.round_id, serial, list(choices), invalid=invalid, now=self.now
        )


@pytest.fixture
def desk(app, now) -> Desk:  # type: ignore[no-untyped-def]
    return Desk(now)


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def ballot_choices() -> list[list[int]]:
    rows = db.session.execute(select(BallotChoice.ballot_id, BallotChoice.candidate_id)).all()
    by_ballot: dict[str, list[int]] = {}
    for ballot_id, cid in rows:
        by_ballot.setdefault(ballot_id, []).append(cid)
    return sorted(sorted(v) for v in by_ballot.values())


# --- check-in --------------------------------------------------------------------------------


def test_find_resident_shows_card_with_tail_and_may_vote(desk):
    resident, number = desk.resident()

    card = station_desk.find_resident(
        desk.staff_a, desk.round_id, number, pepper=PEPPER, now=desk.now
    )

    assert card.resident_id == resident.id
    assert (card.name, card.id_tail, card.community) == ("李阿婆", number[-4:], "南肖埠社区")
    assert (card.building, card.unit, card.room) == ("5幢", "2单元", "301")
    assert card.may_vote
    assert number not in repr(card)


def test_find_resident_full_width_and_lower_x_normalized(desk):
    _, number = desk.resident()
    typed = number[:6] + " " + number[6:14] + " " + number[14:]
    typed = typed.translate(str.maketrans("0123456789X", "０１２３４５６７８９x"))

    card = station_desk.find_resident(
        desk.staff_a, desk.round_id, typed, pepper=PEPPER, now=desk.now
    )

    assert card.may_vote


def test_check_in_records_station_participation_with_assistance(desk):
    resident, _ = desk.resident()

    voted_at = station_desk.check_in(
        desk.staff_a,
        desk.round_id,
        resident.id,
        assisted_by=" 张志愿 ",
        assist_reason="视力不便",
        now=desk.now + timedelta(seconds=42),
    )

    row = db.session.scalars(select(Participation)).one()
    assert (row.round_id, row.resident_id, row.channel) == (desk.round_id, resident.id, "station")
    assert row.checked_in_by_id == desk.staff_a.id
    assert (row.assisted_by, row.assist_reason) == ("张志愿", "视力不便")
    assert row.voted_at == voted_at == desk.now.replace(second=0)
    assert count(Ballot) == 0  # the paper is entered later, apart from the check-in


def test_check_in_and_lookup_are_on_the_audit_chain_without_the_resident(desk):
    resident, number = desk.resident()
    station_desk.find_resident(
        desk.staff_a, desk.round_id, number, pepper=TEST_PEPPER.encode(), now=desk.now
    )
    station_desk.check_in(
        desk.staff_a,
        desk.round_id,
        resident.id,
        assisted_by="王芳",
        assist_reason="视力不便",
        now=desk.now,
    )
    events = db.session.execute(
        select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.payload)
        .where(AuditEvent.action.like("desk.%"))
        .order_by(AuditEvent.seq)
    ).all()
    assert [(a, who) for a, who, _ in events] == [
        ("desk.roll_lookup", desk.staff_a.id),
        ("desk.checked_in", desk.staff_a.id),
    ]
    assert [p for _, _, p in events] == ['{"found":true}', '{"assisted":true}']


def test_check_in_without_assistance_stores_empty_helper(desk):
    resident, _ = desk.resident()

    station_desk.check_in(desk.staff_a, desk.round_id, resident.id, now=desk.now)

    row = db.session.scalars(select(Participation)).one()
    assert (row.assisted_by, row.assist_reason) == ("", "")


@pytest.mark.parametrize(
    ("helper", "reason"), [("张志愿", ""), ("", "视力不便"), ("  ", "视力不便")]
)
def test_check_in_assistance_half_filled_refused(desk, helper, reason):
    resident, _ = desk.resident()

    with pytest.raises(InvalidInput) as exc:
        station_desk.check_in(
            desk.staff_a, desk.round_id, resident.id, assisted_by=helper, assist_reason=reason
        )

    assert exc.value.code == "desk_assist_incomplete"
    assert count(Participation) == 0


def test_check_in_resident_who_voted_by_code_refused_with_when_and_channel(desk):
    resident, number = desk.resident()
    code = desk.world.issue_codes(desk.round_id)[0]
    login = voting.login_with_code(code, pepper=PEPPER, now=desk.now)
    voting.cast_ballot(login, [desk.ids[0]], now=desk.now)

    card = station_desk.find_resident(
        desk.staff_a, desk.round_id, number, pepper=PEPPER, now=desk.now
    )
    assert card.problem == "desk_already_voted"
    assert (card.channel, card.voted_at) == ("code", desk.now.replace(second=0))

    with pytest.raises(AlreadyVoted) as exc:
        station_desk.check_in(desk.staff_a, desk.round_id, resident.id, now=desk.now)
    assert exc.value.params == {"voted_at": desk.now.replace(second=0), "channel": "code"}
    assert count(Participation) == 1


def test_voting_code_after_station_check_in_refused_as_already_voted_at_station(desk):
    resident, _ = desk.resident()
    code = desk.world.issue_codes(desk.round_id)[0]
    station_desk.check_in(desk.staff_a, desk.round_id, resident.id, now=desk.now)

    with pytest.raises(AlreadyVoted) as exc:
        voting.login_with_code(code, pepper=PEPPER, now=desk.now + timedelta(hours=1))

    assert exc.value.params["channel"] == "station"
    assert exc.value.params["voted_at"] == desk.now.replace(second=0)


def test_voting_code_session_opened_before_check_in_cannot_cast(desk):
    resident, _ = desk.resident()
    code = desk.world.issue_codes(desk.round_id)[0]
    login = voting.login_with_code(code, pepper=PEPPER, now=desk.now)
    station_desk.check_in(desk.staff_a, desk.round_id, resident.id, now=desk.now)

    with pytest.raises(AlreadyVoted) as exc:
        voting.cast_ballot(login, [desk.ids[0]], now=desk.now)

    assert exc.value.params["channel"] == "station"
    assert (count(Participation), count(Ballot)) == (1, 0)


def test_check_in_twice_second_refused_already_voted_station(desk):
    resident, _ = desk.resident()
    station_desk.check_in(desk.staff_a, desk.round_id, resident.id, now=desk.now)

    with pytest.raises(AlreadyVoted) as exc:
        station_desk.check_in(desk.staff_b, desk.round_id, resident.id, now=desk.now)

    assert exc.value.params["channel"] == "station"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("330102195003071234", "id_checksum"),
        ("33010219500307123", "id_length"),
        ("33010219501307123X", "id_birth_date"),
    ],
)
def test_find_resident_bad_id_number_refused_before_any_lookup(desk, monkeypatch, raw, problem):
    if problem == "id_checksum":  # make sure the last digit really is wrong
        assert identity.id_check_char(raw[:17]) != raw[17]
    calls: list[str] = []
    monkeypatch.setattr(identity, "id_hmac", lambda *a: calls.append("hmac") or "0" * 64)

    with pytest.raises(InvalidInput) as exc:
        station_desk.find_resident(desk.staff_a, desk.round_id, raw, pepper=PEPPER, now=desk.now)

    assert exc.value.code == problem
    assert calls == []


def test_find_resident_unknown_number_not_on_roll(desk):
    number = make_id_number(random.Random(99))

    with pytest.raises(InvalidInput) as exc:
        station_desk.find_resident(desk.staff_a, desk.round_id, number, pepper=PEPPER)

    assert exc.value.code == "desk_not_on_roll"


def test_find_resident_moved_out_or_out_of_scope_may_not_vote(app, now):
    world = World()
    scope = (world.communities[0].id,)
    round_id = world.open_round(now, community_ids=scope)
    rng = random.Random(3)
    _, moved = add_resident(world.communities[0], rng, status="moved_out")
    outside, outside_number = add_resident(world.communities[1], rng)

    moved_card = station_desk.find_resident(
        world.station_staff, round_id, moved, pepper=PEPPER, now=now
    )
    outside_card = station_desk.find_resident(
        world.station_staff, round_id, outside_number, pepper=PEPPER, now=now
    )

    assert moved_card.problem == "desk_moved_out"
    assert outside_card.problem == "desk_out_of_scope"
    with pytest.raises(InvalidInput) as exc:
        station_desk.check_in(world.station_staff, round_id, outside.id, now=now)
    assert exc.value.code == "desk_out_of_scope"
    assert count(Participation) == 0


def other_street_staff() -> StaffUser:
    street = make_street(name="闸弄口街道", communities=("东站社区",))
    station = make_station(street, name="闸弄口人大代表联络站")
    return make_staff(street, Role.STATION, station=station)


def test_station_staff_of_another_street_cannot_look_up_or_check_in(desk):
    resident, number = desk.resident()
    stranger = other_street_staff()

    with pytest.raises(NotPermitted):
        station_desk.find_resident(stranger, desk.round_id, number, pepper=PEPPER, now=desk.now)
    with pytest.raises(NotPermitted):
        station_desk.check_in(stranger, desk.round_id, resident.id, now=desk.now)
    with pytest.raises(NotPermitted):
        desk.enter(stranger, "A0001", [desk.ids[0]])
    assert (count(Participation), count(PaperEntry)) == (0, 0)


def test_resident_of_another_street_not_found_by_this_street(desk):
    street = make_street(name="闸弄口街道", communities=("东站社区",))
    _, number = add_resident(street.communities[0], random.Random(8))

    with pytest.raises(InvalidInput) as exc:
        station_desk.find_resident(desk.staff_a, desk.round_id, number, pepper=PEPPER)

    assert exc.value.code == "desk_not_on_roll"


def test_official_cannot_check_in(desk):
    resident, _ = desk.resident()

    with pytest.raises(NotPermitted):
        station_desk.check_in(desk.official, desk.round_id, resident.id, now=desk.now)


def test_check_in_outside_window_refused(desk):
    resident, _ = desk.resident()

    with pytest.raises(RoundNotOpen):
        station_desk.check_in(
            desk.staff_a, desk.round_id, resident.id, now=desk.now + timedelta(days=30)
        )
    assert count(Participation) == 0


# --- paper ballots ----------------------------------------------------------------------------


def test_matching_double_entry_counts_exactly_one_ballot_with_choices(desk):
    picked = [desk.ids[2], desk.ids[0]]

    first = desk.enter(desk.staff_a, "a-0007", picked)
    second = desk.enter(desk.staff_b, "A-0007", list(reversed(picked)))

    assert (first, second) == ("pending", "counted")
    assert ballot_choices() == [sorted(picked)]
    paper = db.session.scalars(select(PaperBallot)).one()
    assert (paper.serial, paper.state) == ("A-0007", "counted")
    entries = db.session.scalars(select(PaperEntry).order_by(PaperEntry.entry_no)).all()
    assert [(e.entry_no, e.entered_by_id) for e in entries] == [
        (1, desk.staff_a.id),
        (2, desk.staff_b.id),
    ]


def test_mismatching_entries_count_nothing_and_await_reconciliation(desk):
    desk.enter(desk.staff_a, "A0001", [desk.ids[0]])

    outcome = desk.enter(desk.staff_b, "A0001", [desk.ids[1]])

    assert outcome == "mismatch"
    assert count(Ballot) == 0
    assert paper_ballots.mismatched_papers(desk.official, desk.round_id) == ["A0001"]
    readings = paper_ballots.paper_readings(desk.official, desk.round_id, "A0001")
    assert [(r.entry_no, r.choices) for r in readings] == [(1, (desk.ids[0],)), (2, (desk.ids[1],))]
    with pytest.raises(Conflict) as exc:
        desk.enter(desk.staff_c, "A0001", [desk.ids[0]])
    assert exc.value.code == "paper_in_reconciliation"


def test_same_staff_cannot_make_both_entries(desk):
    desk.enter(desk.staff_a, "A0002", [desk.ids[0]])

    with pytest.raises(NotPermitted) as exc:
        desk.enter(desk.staff_a, "A0002", [desk.ids[0]])

    assert exc.value.code == "paper_same_staff"
    assert exc.value.params == {"serial": "A0002"}
    assert count(Ballot) == 0
    assert db.session.scalars(select(PaperBallot.state)).one() == "pending"


def test_official_entry_3_resolves_mismatch_and_audits_without_choices(desk):
    resident, _ = desk.resident()
    station_desk.check_in(desk.staff_a, desk.round_id, resident.id, now=desk.now)
    events_before = count(AuditEvent)  # paper entries write no event; the decision does
    desk.enter(desk.staff_a, "A0003", [desk.ids[0], desk.ids[1]])
    desk.enter(desk.staff_b, "A0003", [desk.ids[0]])

    outcome = paper_ballots.resolve_paper(
        desk.official,
        desk.round_id,
        "A0003",
        [desk.ids[1], desk.ids[0]],
        note="核对原件：第 2 次录入漏选一项",
        now=desk.now,
    )

    assert outcome == "counted"
    assert ballot_choices() == [sorted([desk.ids[0], desk.ids[1]])]
    paper = db.session.scalars(select(PaperBallot)).one()
    assert (paper.state, paper.resolved_by_id) == ("counted", desk.official.id)
    assert paper_ballots.mismatched_papers(desk.official, desk.round_id) == []
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "paper.reconciled")
    ).one()
    payload = json.loads(event.payload)
    assert payload == {
        "note": "核对原件：第 2 次录入漏选一项",
        "outcome": "counted",
        "round": desk.round_id,
        "serial": "A0003",
    }
    # Only the reconciliation decision reaches the chain: no check-in or entry events.
    assert count(AuditEvent) == events_before + 1


def test_official_entry_3_as_invalid_counts_no_ballot(desk):
    desk.enter(desk.staff_a, "A0004", [desk.ids[0]])
    desk.enter(desk.staff_b, "A0004", invalid=True)

    outcome = paper_ballots.resolve_paper(
        desk.official,
        desk.round_id,
        "A0004",
        [],
        invalid=True,
        note="原件涂改无法辨认",
        now=desk.now,
    )

    assert outcome == "invalid"
    assert count(Ballot) == 0


def test_resolve_needs_a_note_and_a_mismatched_paper(desk):
    desk.enter(desk.staff_a, "A0005", [desk.ids[0]])
    with pytest.raises(InvalidInput) as exc:
        paper_ballots.resolve_paper(desk.official, desk.round_id, "A0005", [desk.ids[0]], note=" ")
    assert exc.value.code == "paper_note_required"
    with pytest.raises(Conflict) as exc2:
        paper_ballots.resolve_paper(
            desk.official, desk.round_id, "A0005", [desk.ids[0]], note="核对", now=desk.now
        )
    assert exc2.value.code == "paper_not_in_reconciliation"
    with pytest.raises(NotPermitted):
        paper_ballots.resolve_paper(
            desk.staff_c, desk.round_id, "A0005", [desk.ids[0]], note="核对", now=desk.now
        )


def test_matching_invalid_entries_mark_paper_invalid_without_ballot(desk):
    desk.enter(desk.staff_a, "B0001", invalid=True)

    outcome = desk.enter(desk.staff_b, "B0001", invalid=True)

    assert outcome == "invalid"
    assert count(Ballot) == 0
    assert db.session.scalars(select(PaperBallot.state)).one() == "invalid"


def test_over_selection_must_be_entered_as_invalid(desk):
    too_many = desk.ids[:4]  # the round allows at most 3

    with pytest.raises(BallotRuleViolation) as exc:
        desk.enter(desk.staff_a, "C0001", too_many)

    assert exc.value.code == "paper_too_many"
    assert exc.value.params == {"maximum": 3, "chosen": 4}
    assert (count(PaperBallot), count(PaperEntry)) == (0, 0)
    assert desk.enter(desk.staff_a, "C0001", invalid=True) == "pending"


def test_blank_paper_must_be_entered_as_invalid(desk):
    with pytest.raises(BallotRuleViolation) as exc:
        desk.enter(desk.staff_a, "C0002", [])

    assert exc.value.code == "paper_too_few"


def test_invalid_with_choices_refused(desk):
    with pytest.raises(InvalidInput) as exc:
        desk.enter(desk.staff_a, "C0003", [desk.ids[0]], invalid=True)

    assert exc.value.code == "paper_invalid_with_choices"


@pytest.mark.parametrize("serial", ["", "  ", "A/1", "编号1", "X" * 31])
def test_bad_serial_refused(desk, serial):
    with pytest.raises(InvalidInput) as exc:
        desk.enter(desk.staff_a, serial, [desk.ids[0]])

    assert exc.value.code == "paper_serial_format"


def test_counted_serial_cannot_be_entered_again(desk):
    desk.enter(desk.staff_a, "D0001", [desk.ids[0]])
    desk.enter(desk.staff_b, "D0001", [desk.ids[0]])

    with pytest.raises(Conflict) as exc:
        desk.enter(desk.staff_c, "D0001", [desk.ids[1]])

    assert exc.value.code == "paper_already_counted"
    assert count(Ballot) == 1
    assert count(PaperEntry) == 2


def test_entering_after_round_closed_refused(desk):
    rounds.close_round(desk.official, desk.round_id, reason="提前结束：测试", now=desk.now)

    with pytest.raises(RoundNotOpen) as exc:
        desk.enter(desk.staff_a, "E0001", [desk.ids[0]])

    assert exc.value.code == "paper_round_closed"
    assert count(PaperEntry) == 0


def test_entering_after_window_before_close_allowed(desk):
    later = desk.now + timedelta(days=20)  # the window has ended; the box is being counted

    outcome = paper_ballots.enter_paper(
        desk.staff_a, desk.round_id, "E0002", [desk.ids[0]], now=later
    )

    assert outcome == "pending"


def test_round_with_counted_station_papers_closes(desk):
    resident, _ = desk.resident()
    station_desk.check_in(desk.staff_a, desk.round_id, resident.id, now=desk.now)
    desk.enter(desk.staff_a, "F0001", [desk.ids[1]])
    desk.enter(desk.staff_b, "F0001", [desk.ids[1]])

    result = rounds.close_round(desk.official, desk.round_id, reason="提前结束：测试", now=desk.now)

    assert result.ballots == 1


def test_round_with_spoiled_paper_and_walkaway_closes_and_records_both(desk):
    for _ in range(3):
        resident, _ = desk.resident()
        station_desk.check_in(desk.staff_a, desk.round_id, resident.id, now=desk.now)
    desk.enter(desk.staff_a, "G0001", [desk.ids[1]])
    desk.enter(desk.staff_b, "G0001", [desk.ids[1]])
    desk.enter(desk.staff_a, "G0002", invalid=True)
    desk.enter(desk.staff_b, "G0002", invalid=True)  # the third resident left without a paper

    result = rounds.close_round(desk.official, desk.round_id, reason="提前结束：测试", now=desk.now)

    assert result.ballots == 1
    closed = db.session.scalar(
        select(AuditEvent.payload).where(AuditEvent.action == "round.closed")
    )
    assert '"paper_invalid":1' in closed
    assert '"checked_in_without_paper":1' in closed


def test_round_with_papers_awaiting_second_entry_cannot_close(desk):
    resident, _ = desk.resident()
    station_desk.check_in(desk.staff_a, desk.round_id, resident.id, now=desk.now)
    desk.enter(desk.staff_a, "H0001", [desk.ids[1]])

    with pytest.raises(Conflict) as exc:
        rounds.close_round(desk.official, desk.round_id, reason="提前结束：测试", now=desk.now)

    assert exc.value.code == "papers_not_counted"
    assert exc.value.params == {"count": 1}
    assert db.session.get(VotingRound, desk.round_id).status == "open"


# --- concurrency --------------------------------------------------------------------------------


def race(app, calls: list[Callable[[], str]]) -> Counter[str]:  # type: ignore[no-untyped-def]
    """Run each call in its own thread and app context, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(call: Callable[[], str]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                result = call()
            except (AlreadyVoted, Conflict, NotPermitted) as err:
                result = err.code
            except Exception as err:  # reported in the outcome counter
                result = f"error: {err!r}"
            finally:
                db.session.remove()
            with lock:
                outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_staff_check_in_same_resident_at_once_exactly_one_participation(app, desk):
    resident, _ = desk.resident()
    round_id, resident_id, now = desk.round_id, resident.id, desk.now
    staff_ids = [desk.staff_a.id, desk.staff_b.id]
    db.session.remove()

    def checker(staff_id: int) -> Callable[[], str]:
        def call() -> str:
            actor = db.session.get(StaffUser, staff_id)
            station_desk.check_in(actor, round_id, resident_id, now=now)
            return "checked_in"

        return call

    outcomes = race(app, [checker(s) for s in staff_ids])

    assert outcomes == Counter({"checked_in": 1, "already_voted": 1})
    assert count(Participation) == 1


def test_two_second_entries_racing_count_one_ballot(app, desk):
    desk.enter(desk.staff_a, "G0001", [desk.ids[3]])
    round_id, now, choice = desk.round_id, desk.now, desk.ids[3]
    staff_ids = [desk.staff_b.id, desk.staff_c.id]
    db.session.remove()

    def enterer(staff_id: int) -> Callable[[], str]:
        def call() -> str:
            actor = db.session.get(StaffUser, staff_id)
            return paper_ballots.enter_paper(actor, round_id, "G0001", [choice], now=now)

        return call

    outcomes = race(app, [enterer(s) for s in staff_ids])

    assert outcomes == Counter({"counted": 1, "paper_already_counted": 1})
    assert ballot_choices() == [[choice]]
    assert count(PaperEntry) == 2


def test_two_first_entries_racing_on_a_new_serial_count_once(app, desk):
    round_id, now, choice = desk.round_id, desk.now, desk.ids[1]
    staff_ids = [desk.staff_a.id, desk.staff_b.id]
    db.session.remove()

    def enterer(staff_id: int) -> Callable[[], str]:
        def call() -> str:
            actor = db.session.get(StaffUser, staff_id)
            return paper_ballots.enter_paper(actor, round_id, "H0001", [choice], now=now)

        return call

    outcomes = race(app, [enterer(s) for s in staff_ids])

    assert outcomes == Counter({"pending": 1, "counted": 1})
    assert ballot_choices() == [[choice]]


# --- statistics -----------------------------------------------------------------------------------


def test_stats_invariant_holds_after_mixed_scenario(desk):
    # Two residents vote by code, four check in at the station (two assisted).
    code_residents = [desk.resident()[0] for _ in range(2)]
    codes = desk.world.issue_codes(desk.round_id)
    assert len(codes) == len(code_residents)
    for code in codes:
        login = voting.login_with_code(code, pepper=PEPPER, now=desk.now)
        voting.cast_ballot(login, [desk.ids[0]], now=desk.now)
    station_residents = [desk.resident()[0] for _ in range(4)]
    helpers = [("张志愿", "视力不便"), ("张志愿", "不会使用手机"), ("", ""), ("", "")]
    for resident, (helper, reason) in zip(station_residents, helpers, strict=True):
        station_desk.check_in(
            desk.staff_a,
            desk.round_id,
            resident.id,
            assisted_by=helper,
            assist_reason=reason,
            now=desk.now,
        )
    # Four papers: counted, invalid, mismatch, and one with a first entry only.
    desk.enter(desk.staff_a, "P1", [desk.ids[1]])
    desk.enter(desk.staff_b, "P1", [desk.ids[1]])
    desk.enter(desk.staff_a, "P2", invalid=True)
    desk.enter(desk.staff_b, "P2", invalid=True)
    desk.enter(desk.staff_a, "P3", [desk.ids[2]])
    desk.enter(desk.staff_b, "P3", [desk.ids[3]])
    desk.enter(desk.staff_c, "P4", [desk.ids[4]])

    stats = paper_ballots.round_stats(desk.round_id)

    assert stats.by_channel == {"code": 2, "sms": 0, "station": 4}
    assert stats.assisted == 2
    assert stats.helpers == [("张志愿", 2)]
    assert stats.papers == {"pending": 1, "mismatch": 1, "counted": 1, "invalid": 1}
    assert stats.ballots == 3
    assert (stats.participations, stats.accounted, stats.gap) == (6, 6, 0)
    assert stats.holds

    # Resolving the mismatch and the second entry keep it; an unentered paper shows as a gap.
    paper_ballots.resolve_paper(
        desk.official, desk.round_id, "P3", [desk.ids[2]], note="核对原件", now=desk.now
    )
    desk.enter(desk.staff_a, "P4", [desk.ids[4]])
    assert paper_ballots.round_stats(desk.round_id).holds
    extra, _ = desk.resident()
    station_desk.check_in(desk.staff_a, desk.round_id, extra.id, now=desk.now)
    after = paper_ballots.round_stats(desk.round_id)
    assert (after.gap, after.holds) == (1, False)
    assert after.papers == {"pending": 0, "mismatch": 0, "counted": 3, "invalid": 1}
    assert sum(n for _, n in after.entries_by_staff) == 9  # 8 by staff, 1 by the official
