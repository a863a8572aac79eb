"""The hash-chained audit log: building, verifying and detecting tampering."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from voting.domain.audit import (
    GENESIS_HASH,
    AuditRecord,
    canonical_json,
    event_hash,
    first_break,
)

EVENTS = [
    ("2025-03-01T08:00:00+00:00", "official:3", "round.open", "round", "7", {"seats": 3}),
    ("2025-03-01T09:12:00+00:00", "station:5", "codes.issue", "round", "7", {"count": 200}),
    ("2025-03-08T20:00:00+00:00", "official:3", "round.close", "round", "7", {"reason": ""}),
    ("2025-03-09T10:00:00+00:00", "official:3", "tally.export", "round", "7", {"rows": 5}),
    (
        "2025-03-15T15:30:00+00:00",
        "clerk:2",
        "round.finalize",
        "round",
        "7",
        {"备注": "居民议事会表决通过"},
    ),
]


def build_chain(events=EVENTS, seqs=None) -> list[AuditRecord]:
    records = []
    prev = GENESIS_HASH
    for index, (at, actor, action, object_type, object_id, payload) in enumerate(events):
        seq = index + 1 if seqs is None else seqs[index]
        body = canonical_json(payload)
        digest = event_hash(prev, seq, at, actor, action, object_type, object_id, body)
        records.append(
            AuditRecord(seq, at, actor, action, object_type, object_id, body, prev, digest)
        )
        prev = digest
    return records


def reference_hash(rec: AuditRecord) -> str:
    fields = [
        rec.prev_hash,
        rec.seq,
        rec.at,
        rec.actor,
        rec.action,
        rec.object_type,
        rec.object_id,
        rec.payload,
    ]
    body = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# --- canonical JSON --------------------------------------------------------------------


def test_canonical_json_key_order_independent():
    a = {"b": 1, "a": [1, 2], "c": {"y": None, "x": True}}
    b = {"c": {"x": True, "y": None}, "a": [1, 2], "b": 1}
    assert canonical_json(a) == canonical_json(b)
    assert canonical_json(a) == '{"a":[1,2],"b":1,"c":{"x":true,"y":null}}'


def test_canonical_json_chinese_unescaped():
    text = canonical_json({"项目": "加装电梯", "街道": "新华街道"})
    # keys sorted by code point: 街 (U+8857) before 项 (U+9879)
    assert text == '{"街道":"新华街道","项目":"加装电梯"}'
    assert "\\u" not in text


def test_canonical_json_list_order_kept():
    assert canonical_json([3, 1, 2]) == "[3,1,2]"


# --- event hash ------------------------------------------------------------------------


def test_event_hash_sha256_over_canonical_fields():
    chain = build_chain()
    for rec in chain:
        assert rec.hash == reference_hash(rec)
        assert len(rec.hash) == 64


@pytest.mark.parametrize(
    "field", ["prev_hash", "at", "actor", "action", "object_type", "object_id", "payload"]
)
def test_event_hash_any_field_changed_differs(field):
    rec = build_chain()[0]
    args = dataclasses.asdict(rec)
    del args["hash"]
    changed = {**args, field: args[field] + "x"}
    assert event_hash(**changed) != event_hash(**args)


def test_event_hash_seq_changed_differs():
    rec = build_chain()[0]
    args = dataclasses.asdict(rec)
    del args["hash"]
    assert event_hash(**{**args, "seq": 2}) != event_hash(**args)


def test_genesis_hash_sixty_four_zeros():
    assert GENESIS_HASH == "0" * 64


# --- verification ----------------------------------------------------------------------


def test_event_hash_chain_links_from_genesis():
    chain = build_chain()
    assert [rec.seq for rec in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == GENESIS_HASH
    for earlier, later in zip(chain, chain[1:], strict=False):
        assert later.prev_hash == earlier.hash


def test_first_break_intact_chain_none():
    assert first_break(build_chain()) is None


def test_first_break_empty_none():
    assert first_break([]) is None


def test_first_break_generator_input_none():
    assert first_break(rec for rec in build_chain()) is None


def tamper(chain, index, **changes):
    chain = list(chain)
    chain[index] = dataclasses.replace(chain[index], **changes)
    return chain


def rehash(rec: AuditRecord) -> AuditRecord:
    return dataclasses.replace(rec, hash=reference_hash(rec))


@pytest.mark.parametrize("index", range(5))
def test_first_break_payload_changed_reports_that_seq(index):
    chain = build_chain()
    broken = tamper(chain, index, payload=canonical_json({"seats": 99}))
    assert first_break(broken) == index + 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", "official:4"),
        ("action", "round.cancel"),
        ("at", "2025-03-02T08:00:00+00:00"),
        ("object_id", "8"),
    ],
)
def test_first_break_field_changed_reports_that_seq(field, value):
    assert first_break(tamper(build_chain(), 2, **{field: value})) == 3


def test_first_break_payload_changed_and_rehashed_reports_next_seq():
    chain = build_chain()
    chain[2] = rehash(dataclasses.replace(chain[2], payload=canonical_json({"reason": "改"})))
    assert first_break(chain) == 4


def test_first_break_last_payload_changed_and_rehashed_undetected():
    # Documented limit: the last event can only be checked against the published head hash.
    chain = build_chain()
    head = chain[-1].hash
    chain[-1] = rehash(dataclasses.replace(chain[-1], payload="{}"))
    assert first_break(chain) is None
    assert chain[-1].hash != head


@pytest.mark.parametrize("index", range(5))
def test_first_break_prev_hash_changed_reports_that_seq(index):
    chain = build_chain()
    broken = tamper(chain, index, prev_hash="f" * 64)
    assert first_break(broken) == index + 1


def test_first_break_prev_hash_changed_and_rehashed_reports_that_seq():
    chain = build_chain()
    chain[1] = rehash(dataclasses.replace(chain[1], prev_hash="f" * 64))
    assert first_break(chain) == 2


def test_first_break_seq_gap_reports_first_seq_after_gap():
    chain = build_chain(seqs=[1, 2, 4, 5, 6])  # consistently hashed, but seq 3 missing
    assert all(rec.hash == reference_hash(rec) for rec in chain)
    assert first_break(chain) == 4


def test_first_break_chain_not_starting_at_one_reports_first_seq():
    chain = build_chain(seqs=[2, 3, 4, 5, 6])
    assert first_break(chain) == 2


def test_first_break_seq_renumbered_reports_new_seq():
    chain = tamper(build_chain(), 3, seq=9)
    assert first_break(chain) == 9


@pytest.mark.parametrize(("index", "expected"), [(0, 2), (1, 3), (2, 4), (3, 5)])
def test_first_break_record_deleted_reports_next_seq(index, expected):
    chain = build_chain()
    del chain[index]
    assert first_break(chain) == expected


def test_first_break_records_swapped_reports_first_out_of_place():
    chain = build_chain()
    chain[1], chain[2] = chain[2], chain[1]
    assert first_break(chain) == 3


def test_first_break_break_after_break_reports_earliest():
    chain = build_chain()
    chain = tamper(chain, 1, payload="{}")
    chain = tamper(chain, 3, payload="{}")
    assert first_break(chain) == 2
