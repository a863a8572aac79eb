"""The tally digest: one SHA-256 over a canonical text of a closed round's ballots and counts.

Anyone holding the open data (candidates with cost and votes, ballots grouped by content) can
rebuild the text and the digest with a few lines of code (``docs/verify.md``). The text is
UTF-8, one record per line, each line ending in ``\\n``:

    voting-tally v1
    round <round id>
    ballots <number of ballots>
    candidate <candidate id> <cost in yuan> <votes>      one per candidate, ids ascending
    ballot <choices> <how many ballots>                  one per distinct ballot

``<choices>`` lists a ballot's candidate ids ascending, comma-separated, an id written
``id*points`` when a cumulative ballot gives it more than one point, ``-`` for an empty
ballot. Ballot lines are sorted by ``<choices>`` as bytes. Identical ballots are one line:
the digest fixes the multiset of ballots, not an order (there is none to fix: the box is
shuffled at close).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping

HEADER = "voting-tally v1"


def ballot_key(points: Mapping[int, int]) -> str:
    """A ballot's ``<choices>`` field."""
    if not points:
        return "-"
    return ",".join(
        str(cid) if points[cid] == 1 else f"{cid}*{points[cid]}" for cid in sorted(points)
    )


def parse_ballot_key(key: str) -> dict[int, int]:
    """The inverse of ``ballot_key``; also accepts ids in any order (``"5,3*2"``)."""
    if key in ("", "-"):
        return {}
    ballot: dict[int, int] = {}
    for item in key.split(","):
        cid, _, points = item.partition("*")
        ballot[int(cid)] = ballot.get(int(cid), 0) + (int(points) if points else 1)
    return ballot


def normalize_groups(groups: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Merge ballot groups whose keys name the same ballot in a different order."""
    merged: Counter[str] = Counter()
    for key, count in groups:
        merged[ballot_key(parse_ballot_key(key))] += count
    return dict(merged)


def canonical_text(
    round_id: int,
    candidates: Mapping[int, tuple[int, int]],
    groups: Mapping[str, int],
) -> str:
    """The canonical text; ``candidates`` maps id → (cost, votes), ``groups`` key → count."""
    ballots = sum(groups.values())
    lines = [HEADER, f"round {round_id}", f"ballots {ballots}"]
    lines += [
        f"candidate {cid} {cost} {votes}" for cid, (cost, votes) in sorted(candidates.items())
    ]
    lines += [
        f"ballot {key} {groups[key]}"
        for key in sorted(groups, key=lambda k: k.encode())
        if groups[key]
    ]
    return "\n".join(lines) + "\n"


def tally_digest(
    round_id: int, candidates: Mapping[int, tuple[int, int]], groups: Mapping[str, int]
) -> str:
    """SHA-256 (hex) of the canonical text."""
    text = canonical_text(round_id, candidates, groups)
    return hashlib.sha256(text.encode()).hexdigest()


def counts_from_groups(candidate_ids: Iterable[int], groups: Mapping[str, int]) -> dict[int, int]:
    """Votes per candidate (points summed) recomputed from the ballot groups."""
    counts = dict.fromkeys(candidate_ids, 0)
    for key, n in groups.items():
        for cid, points in parse_ballot_key(key).items():
            counts[cid] = counts.get(cid, 0) + points * n
    return counts


def approval_groups(groups: Mapping[str, int]) -> list[tuple[frozenset[int], int]]:
    """The groups as approval sets (a cumulative ballot approves what it gives points to)."""
    merged: Counter[frozenset[int]] = Counter()
    for key, n in groups.items():
        merged[frozenset(parse_ballot_key(key))] += n
    return list(merged.items())
