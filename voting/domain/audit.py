"""A hash-chained, append-only record of every staff action and lifecycle event.

Each event's hash covers the previous event's hash, its sequence number, time, actor,
action, object and a canonical JSON payload, so changing or removing any event breaks
every later hash. The head hash is printed on public notices, which anchors it outside
the database. Payloads never carry personal data or ballot choices.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the same bytes on every machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class AuditRecord:
    """The hashed fields of one event."""

    seq: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: str
    prev_hash: str
    hash: str


def event_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: str,
) -> str:
    """SHA-256 over the event's fields and the previous hash."""
    body = canonical_json([prev_hash, seq, at, actor, action, object_type, object_id, payload])
    return hashlib.sha256(body.encode()).hexdigest()


def first_break(records: Iterable[AuditRecord]) -> int | None:
    """The sequence number of the first event that does not verify, or None."""
    expected_prev, expected_seq = GENESIS_HASH, 1
    for rec in records:
        recomputed = event_hash(
            rec.prev_hash,
            rec.seq,
            rec.at,
            rec.actor,
            rec.action,
            rec.object_type,
            rec.object_id,
            rec.payload,
        )
        if rec.seq != expected_seq or rec.prev_hash != expected_prev or rec.hash != recomputed:
            return rec.seq
        expected_prev, expected_seq = rec.hash, rec.seq + 1
    return None


def ballot_leaf(receipt_hash: str, choices: Iterable[int] | Mapping[int, int]) -> str:
    """The hashed form of one ballot in a sealed batch: its receipt hash and sorted choices.

    A choice is written ``id``, or ``id*points`` when a cumulative ballot gives it more than
    one point.
    """
    points = choices if isinstance(choices, Mapping) else dict.fromkeys(choices, 1)
    body = (
        receipt_hash
        + ":"
        + ",".join(str(c) if points[c] == 1 else f"{c}*{points[c]}" for c in sorted(points))
    )
    return hashlib.sha256(body.encode()).hexdigest()


def merkle_root(leaves: Iterable[str]) -> str:
    """Merkle root (SHA-256) over the leaves in sorted order; the last node of an odd level
    is carried up unchanged. Sorting hides the order ballots were cast in."""
    level = sorted(leaves)
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        paired = [
            hashlib.sha256((level[i] + level[i + 1]).encode()).hexdigest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]
