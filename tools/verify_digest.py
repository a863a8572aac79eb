"""Recompute a round's tally digest from its open-data zip (Python 3, standard library only).

Usage: python3 verify_digest.py round-7-open-data.zip — prints the digest, checks the votes.
"""
# ruff: noqa: T201  (a command-line script: what it prints is its result)

import csv
import hashlib
import io
import sys
import zipfile
from collections import Counter


def table(archive, name):
    with archive.open(name) as raw:
        return list(csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")))[1:]


with zipfile.ZipFile(sys.argv[1]) as archive:
    facts = dict(table(archive, "round.csv"))
    candidates = table(archive, "candidates.csv")  # candidate_id, position, title, cost, votes…
    ballots = table(archive, "ballots.csv")  # choices, count

lines = ["voting-tally v1", f"round {facts['round_id']}"]
lines.append(f"ballots {sum(int(count) for _, count in ballots)}")
lines += [f"candidate {c[0]} {c[3]} {c[4]}" for c in sorted(candidates, key=lambda c: int(c[0]))]
lines += [f"ballot {choices} {count}" for choices, count in sorted(ballots)]
digest = hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()

counted = Counter({c[0]: 0 for c in candidates})
for choices, count in ballots:
    for item in [] if choices == "-" else choices.split(","):
        cid, _, points = item.partition("*")
        counted[cid] += int(points or 1) * int(count)
wrong = [c[0] for c in candidates if counted[c[0]] != int(c[4])]

print(digest)
print("votes recounted from ballots.csv:", "agree" if not wrong else f"DIFFER for {wrong}")
print("digest in round.csv:", "same" if digest == facts["tally_digest"] else "DIFFERENT")
sys.exit(0 if digest == facts["tally_digest"] and not wrong else 1)
