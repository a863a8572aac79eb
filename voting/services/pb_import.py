"""Importing a Pabulib ``.pb`` file as a closed round, with its projects and ballots.

The file is read and checked first (``pb_files.read_pb_data``); only a file without a single
problem is written, in one transaction: the places to hang the round on (a street named after
the file unless one is given, one community, one station and a non-login system account),
one accepted candidate per project, the round (``open``), the ballots with their choices
(COPY on PostgreSQL, one executemany on SQLite, 5,000 ballots at a time), then the tally
exactly as ``close_round`` writes it (counts, ranks, the advisory selection, the digest) and
the status ``closed``. The database refuses ballot rows once a round is closed, which is why
the round is closed last. The ballots are sealed as batch 1, and the audit chain gets
``ballots.sealed`` and ``round.imported``.

What is not imported: the voters' ids and every voter column (age, sex, neighbourhood, …),
and the projects' proposers. See ``docs/decisions.md``, "Pabulib import and export".
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select, text
from sqlalchemy.exc import IntegrityError

from ..domain.audit import ballot_leaf, merkle_root
from ..domain.codes import RECEIPT_ALPHABET
from ..domain.errors import Conflict, InvalidInput, VotingError
from ..domain.lifecycle import RoundStatus
from ..domain.staff import CandidateStatus, IdeaSource, Role
from ..extensions import db
from ..models import (
    Ballot,
    BallotChoice,
    Candidate,
    Community,
    RoundCandidate,
    RoundCommunity,
    StaffUser,
    Station,
    Street,
    VotingRound,
)
from ..models.types import random_id
from . import audit, counting
from ._tx import begin_write, commit, utcnow
from .pb_files import (
    BATCH,
    PbData,
    Progress,
    choices_range,
    clip,
    outcome_rule_of,
    points_total,
    read_pb_data,
    round_title_of,
    street_name_of,
    window,
)
from .rounds import count_round, load_round

ACTOR = "cli"
STATION_NAME = "Pabulib 导入"
# PostgreSQL serialises imports on this advisory lock, so two imports of one file cannot
# both pass the "already imported" check (SQLite's BEGIN IMMEDIATE already serialises).
_IMPORT_LOCK = 727_004
_STANDARD_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_RECEIPT_ALPHABET = str.maketrans(_STANDARD_B32, RECEIPT_ALPHABET)


@dataclass(frozen=True)
class ImportReport:
    """What an import made, for the command's summary."""

    round_id: int
    title: str
    street: str
    projects: int
    ballots: int
    choices: int
    kind: str
    outcome_rule: str
    budget: int
    selected: int
    rounded: int
    duplicates: int
    tally_digest: str


def import_pb(
    data: bytes,
    *,
    file_name: str,
    street_name: str | None = None,
    ordinal_as_approval: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import a ``.pb`` file as a closed round (one transaction; nothing written on error)."""
    now = now or utcnow()
    parsed = read_pb_data(data, ordinal_as_approval=ordinal_as_approval, progress=progress)
    pb_meta = json.dumps(parsed.meta, ensure_ascii=False)
    begin_write()
    try:
        report = _write(parsed, pb_meta, data, file_name, street_name, progress, now)
    except VotingError:
        db.session.rollback()
        raise
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict("concurrent_change") from exc
    commit()
    return report


def _write(
    parsed: PbData,
    pb_meta: str,
    data: bytes,
    file_name: str,
    street_name: str | None,
    progress: Progress | None,
    now: datetime,
) -> ImportReport:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _IMPORT_LOCK})
    existing = db.session.execute(
        select(VotingRound.id, VotingRound.title).where(VotingRound.pb_meta == pb_meta).limit(1)
    ).first()
    if existing is not None:
        raise Conflict("pb_already_imported", round_id=existing.id, title=existing.title)
    meta = parsed.meta
    street = _street(meta, street_name, file_name, now)
    community = _community(street, meta, now)
    station = _station(street, now)
    user = _system_user(street, now)
    candidate_ids = _candidates(parsed, file_name, station, community, user, now)
    rnd = _open_round(parsed, pb_meta, file_name, street, community, user, candidate_ids, now)
    sealed = _ballots(rnd.id, parsed, candidate_ids, progress)
    if sealed is not None:
        audit.record(ACTOR, "ballots.sealed", ("round", rnd.id), sealed, now=now)
    return _close(rnd.id, parsed, data, file_name, street, now)


def _street(meta: dict[str, str], name: str | None, file_name: str, now: datetime) -> Street:
    if name:
        street = db.session.scalar(select(Street).where(Street.name == name))
        if street is None:
            raise InvalidInput("pb_street_unknown", street=name)
        return street
    name = street_name_of(meta, file_name)
    street = db.session.scalar(select(Street).where(Street.name == name))
    if street is None:
        street = Street(name=name, district="")
        db.session.add(street)
        db.session.flush()
        audit.record(ACTOR, "street.created", ("street", street.id), {"name": name}, now=now)
    return street


def _community(street: Street, meta: dict[str, str], now: datetime) -> Community:
    words = (meta.get(k, "").strip() for k in ("subunit", "district", "unit"))
    name = clip(next((w for w in words if w), "Pabulib"), 60)
    community = db.session.scalar(
        select(Community).where(Community.street_id == street.id, Community.name == name)
    )
    if community is None:
        community = Community(street_id=street.id, name=name)
        db.session.add(community)
        db.session.flush()
        payload = {"name": name}
        audit.record(ACTOR, "community.created", ("community", community.id), payload, now=now)
    return community


def _station(street: Street, now: datetime) -> Station:
    station = db.session.scalar(
        select(Station).where(Station.street_id == street.id, Station.name == STATION_NAME)
    )
    if station is None:
        station = Station(street_id=street.id, name=STATION_NAME, address="", hours="")
        db.session.add(station)
        db.session.flush()
        payload = {"name": STATION_NAME}
        audit.record(ACTOR, "station.saved", ("station", station.id), payload, now=now)
    return station


def _system_user(street: Street, now: datetime) -> StaffUser:
    """The street's import account: an official that cannot log in (inactive, no password)."""
    username = f"pabulib-import-{street.id}"
    user = db.session.scalar(
        select(StaffUser).where(StaffUser.username == username, StaffUser.street_id == street.id)
    )
    if user is None:
        user = StaffUser(
            username=username,
            display_name="Pabulib 导入",
            # Matches no password: werkzeug refuses a stored hash without "$".
            password_hash="!",  # noqa: S106
            role=Role.OFFICIAL.value,
            street_id=street.id,
            active=False,
            session_nonce=secrets.token_hex(8),
            created_at=now,
        )
        db.session.add(user)
        db.session.flush()
        payload = {"username": username, "role": user.role, "active": False}
        audit.record(ACTOR, "staff.created", ("staff", user.id), payload, now=now)
    return user


def _candidates(
    parsed: PbData,
    file_name: str,
    station: Station,
    community: Community,
    user: StaffUser,
    now: datetime,
) -> list[int]:
    """One accepted candidate per project, in file order; their ids."""
    unit = parsed.meta.get("unit", "")
    rows = []
    for project, cost in zip(parsed.projects, parsed.costs, strict=True):
        extra = project.extra
        name = extra.get("name", "") or f"Project {project.project_id}"
        place = extra.get("district") or extra.get("neighborhood") or extra.get("subunit")
        description = "\n\n".join(x for x in (name, extra.get("description", "")) if x)
        rows.append(
            Candidate(
                station_id=station.id,
                community_id=community.id,
                title=clip(name, 60),
                summary="",
                description=description,
                category=clip(extra.get("category", "").split(",")[0], 30),
                location=clip(place or unit, 120),
                target=clip(extra.get("target") or extra.get("beneficiaries") or "", 120),
                cost_yuan=cost,
                source=IdeaSource.ONLINE.value,
                raised_by=0,
                status=CandidateStatus.ACCEPTED.value,
                review_reason=clip(f"Pabulib 导入：{file_name}", 200),
                reviewed_by_id=user.id,
                reviewed_at=now,
                created_by_id=user.id,
                created_at=now,
                updated_at=now,
            )
        )
    db.session.add_all(rows)
    db.session.flush()
    return [c.id for c in rows]


def _open_round(
    parsed: PbData,
    pb_meta: str,
    file_name: str,
    street: Street,
    community: Community,
    user: StaffUser,
    candidate_ids: list[int],
    now: datetime,
) -> VotingRound:
    """The round, still ``open`` so that its ballots may be inserted."""
    meta = parsed.meta
    opens_at, closes_at = window(meta, now)
    low, high = choices_range(meta, parsed)
    rnd = VotingRound(
        street_id=street.id,
        title=round_title_of(meta, file_name),
        description=meta.get("description", ""),
        status=RoundStatus.OPEN.value,
        opens_at=opens_at,
        closes_at=closes_at,
        min_choices=low,
        max_choices=high,
        budget_yuan=parsed.budget,
        ballot_kind=parsed.kind.value,
        points_total=points_total(meta, parsed),
        min_spend_percent=None,
        seats=len(candidate_ids),
        outcome_rule=outcome_rule_of(meta).value,
        running_results_public=False,
        pb_meta=pb_meta,
        created_by_id=user.id,
        created_at=now,
        opened_at=opens_at,
        definition_key=random_id(),
    )
    db.session.add(rnd)
    db.session.flush()
    db.session.add(RoundCommunity(round_id=rnd.id, community_id=community.id))
    db.session.add_all(
        RoundCandidate(round_id=rnd.id, candidate_id=cid, position=pos, external_id=p.project_id)
        for pos, (cid, p) in enumerate(zip(candidate_ids, parsed.projects, strict=True), start=1)
    )
    db.session.flush()
    return rnd


_BALLOT_COLUMNS = ("id", "round_id", "receipt_hash", "receipt_hint", "batch_no")
_CHOICE_COLUMNS = ("ballot_id", "round_id", "candidate_id", "points")


def bulk_insert(table: Table, columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    """Insert many rows in the caller's transaction, the fastest way each database has.

    PostgreSQL: ``COPY … FROM STDIN`` (psycopg's executemany sends one statement per row,
    30 s for Warszawa 2026's 350,000 rows); SQLite: one DB-API executemany, skipping the
    per-row parameter processing of a Core insert. The row triggers fire either way.
    """
    if not rows:
        return
    connection = db.session.connection()
    names = ", ".join(columns)
    dialect = connection.dialect.name
    if dialect == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        # Table and column names are the constants above, never input.
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    elif dialect == "sqlite":
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
        connection.exec_driver_sql(sql, rows)
    else:
        connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def _receipts(n: int) -> list[str]:
    """``n`` receipt codes as ``codes.generate_receipt`` makes them (80 random bits each, in
    Crockford base32), from one ``token_bytes`` call: 10 bytes are exactly 16 characters."""
    text_ = base64.b32encode(secrets.token_bytes(10 * n)).decode()
    text_ = text_.translate(_TO_RECEIPT_ALPHABET)
    return [text_[i : i + 16] for i in range(0, 16 * n, 16)]


def _ballots(
    round_id: int,
    parsed: PbData,
    candidate_ids: list[int],
    progress: Progress | None,
) -> dict[str, object] | None:
    """Insert the ballots sealed in batch 1; return the seal event's payload (None if no
    ballot names a candidate, as ``sealing.seal_batch`` would)."""
    batch_no = 1 if any(ids for ids, _ in parsed.ballots) else None
    leaves: list[str] = []
    total = len(parsed.ballots)
    # Each file ballot gets a random id and they are inserted in id order: the order of the
    # rows says nothing of the file's order, and the primary-key B-trees grow at one end
    # (a few per cent faster on SQLite than inserting at random places).
    ballot_ids = sorted((secrets.token_hex(16), n) for n in range(total))
    for start in range(0, total, BATCH):
        ballot_rows, choice_rows = [], []
        chunk = ballot_ids[start : start + BATCH]
        for (ballot_id, n), receipt in zip(chunk, _receipts(len(chunk)), strict=True):
            ids, points = parsed.ballots[n]
            # The receipt is already normal form, so this is codes.receipt_hash(receipt).
            receipt_hash = hashlib.sha256(receipt.encode()).hexdigest()
            ballot_rows.append((ballot_id, round_id, receipt_hash, receipt[:8], batch_no))
            chosen = {candidate_ids[i]: (points[k] if points else 1) for k, i in enumerate(ids)}
            choice_rows += [(ballot_id, round_id, c, v) for c, v in sorted(chosen.items())]
            if chosen:
                leaves.append(ballot_leaf(receipt_hash, chosen))
        bulk_insert(Ballot.__table__, _BALLOT_COLUMNS, ballot_rows)
        bulk_insert(BallotChoice.__table__, _CHOICE_COLUMNS, choice_rows)
        if progress:
            progress("write", min(start + BATCH, total), total)
    if batch_no is None:
        return None
    return {"batch": batch_no, "ballots": len(leaves), "merkle_root": merkle_root(leaves)}


def _close(
    round_id: int,
    parsed: PbData,
    data: bytes,
    file_name: str,
    street: Street,
    now: datetime,
) -> ImportReport:
    """Count the ballot rows as ``close_round`` does, store the tally, close the round."""
    db.session.expire_all()
    rnd = load_round(round_id)
    groups = counting.ballot_groups(round_id)
    result = count_round(rnd, groups)
    rows = {r.candidate_id: r for r in result.rows}
    for entry in rnd.entries:
        row = rows[entry.candidate_id]
        entry.public_votes, entry.public_rank, entry.rule_selected = (
            row.votes,
            row.rank,
            row.selected,
        )
    rnd.status = RoundStatus.CLOSED.value
    rnd.closed_at = min(rnd.closes_at, now)
    rnd.ballot_count = result.ballots
    rnd.tally_digest = counting.round_digest(
        rnd, {r.candidate_id: r.votes for r in result.rows}, groups
    )
    external = {e.candidate_id: e.external_id for e in rnd.entries}
    payload = {
        "file": file_name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "projects": len(parsed.projects),
        "ballots": result.ballots,
        "choices": parsed.choices,
        "ballot_kind": rnd.ballot_kind,
        "outcome_rule": rnd.outcome_rule,
        "budget": rnd.budget_yuan,
        "amounts_rounded": parsed.rounded,
        "duplicates_collapsed": parsed.duplicates,
        "tally_digest": rnd.tally_digest,
        "counts": {str(r.candidate_id): r.votes for r in result.rows},
        "selected": sorted(result.selected_ids),
        "file_selected": sorted(p.project_id for p in parsed.projects if p.selected == 1),
        "selected_external": sorted(external[c] or "" for c in result.selected_ids),
    }
    audit.record(ACTOR, "round.imported", ("round", round_id), payload, now=now)
    return ImportReport(
        round_id=round_id,
        title=rnd.title,
        street=street.name,
        projects=len(parsed.projects),
        ballots=result.ballots,
        choices=parsed.choices,
        kind=rnd.ballot_kind,
        outcome_rule=rnd.outcome_rule,
        budget=parsed.budget,
        selected=len(result.selected_ids),
        rounded=parsed.rounded,
        duplicates=parsed.duplicates,
        tally_digest=rnd.tally_digest,
    )
