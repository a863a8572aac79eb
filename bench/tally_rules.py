"""Time our outcome rules against pabutools 1.2.3 on the Pabulib files, parsing included.

    python bench/tally_rules.py                       # every file and rule
    python bench/tally_rules.py --live-max 30         # rerun pabutools where it takes < 30 s
    python bench/tally_rules.py Poland_Lodz_2022.pb --rules greedy,mes
    python bench/tally_rules.py --repeat 5 Poland_Katowice_2023.pb   # best of 5 runs

For each file and rule it prints our time (parse + rule), pabutools' time (parse + rule) and
the ratio, and whether our selection equals pabutools' (set and order), from the outcomes
cached by ``bench/pabutools_reference.py`` in ``tests/domain/pabutools_outcomes.json``.
pabutools is rerun here only where its cached time is under ``--live-max`` seconds (and it is
installed); otherwise the cached time, measured on this machine, is printed with a ``*``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voting.domain.pabulib import read_pb  # noqa: E402
from voting.domain.replay import replay  # noqa: E402

DATA = ROOT.parent / "shared" / "pabulib"
CACHE = ROOT / "tests" / "domain" / "pabutools_outcomes.json"
RULES = ["greedy", "greedy-threshold", "mes", "mes-greedy", "mes-add1", "mes-add1-greedy"]


def ours(name: str, rules: list[str], repeat: int = 1) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Our seconds (parse + rule, the parse timed once and added to every rule) and outcome;
    with ``repeat``, the best of that many runs, each from a fresh parse."""
    runs = [_ours_once(name, rules) for _ in range(repeat)]
    return {
        rule: (min(run[rule][0] for run in runs), outcome) for rule, (_, outcome) in runs[0].items()
    }


def _ours_once(name: str, rules: list[str]) -> dict[str, tuple[float, tuple[str, ...]]]:
    start = time.perf_counter()
    election = read_pb(DATA / name, voter_data=False)
    parse = time.perf_counter() - start
    results = {}
    for rule in rules:
        if rule.endswith("-threshold") and election.threshold is None:
            continue
        threshold = rule.endswith("-threshold")
        start = time.perf_counter()
        outcome = replay(election, rule.removesuffix("-threshold"), threshold=threshold)
        results[rule] = (parse + time.perf_counter() - start, outcome.selected)
    return results


def pabutools_live(name: str, rule: str) -> float:
    """pabutools' seconds for parse + rule, with the calls of bench/pabutools_reference.py."""
    from pabutools_reference import run_job

    group = "add1" if "add1" in rule else "base"
    rules = [rule, "mes-add1"] if rule == "mes-add1-greedy" else [rule]
    if rule == "mes-greedy":
        rules = ["mes", "mes-greedy"]
    result = run_job((name, group, rules))
    seconds: dict[str, float] = result["seconds"]
    return seconds["parse"] + seconds[rule]


def pabutools_seconds(
    name: str, rule: str, cache: dict[str, Any], live_max: float
) -> tuple[float | None, str]:
    cached = cache.get("seconds", {}).get(name, {})
    if rule in cached:
        total = cached["parse"] + cached[rule]
        if total >= live_max:
            return total, "*"
    try:
        return pabutools_live(name, rule), ""
    except ImportError:
        return (cached["parse"] + cached[rule], "*") if rule in cached else (None, "")


def verdict(got: tuple[str, ...], expected: list[str] | None) -> str:
    if expected is None:
        return "not compared"
    if list(got) == expected:
        return "match"
    return "same set" if set(got) == set(expected) else "MISMATCH"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--rules", default=",".join(RULES))
    parser.add_argument("--live-max", type=float, default=10.0, help="seconds (cached time)")
    parser.add_argument("--repeat", type=int, default=1, help="our time: the best of so many runs")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    cache = json.loads(CACHE.read_text(encoding="utf-8")) if CACHE.exists() else {}
    names = args.files or sorted(
        (p.name for p in DATA.glob("*.pb")), key=lambda n: (DATA / n).stat().st_size
    )
    print(f"{'file':42} {'rule':16} {'ours s':>8} {'pabutools s':>12} {'ratio':>8}  outcome")
    for name in names:
        for rule, (mine, got) in ours(name, args.rules.split(","), args.repeat).items():
            theirs, mark = pabutools_seconds(name, rule, cache, args.live_max)
            expected = cache.get("outcomes", {}).get(name, {}).get(rule)
            ratio = f"{theirs / mine:8.0f}" if theirs else f"{'-':>8}"
            shown = f"{theirs:11.2f}{mark or ' '}" if theirs else f"{'-':>12}"
            print(
                f"{name[:42]:42} {rule:16} {mine:8.3f} {shown} {ratio}  {verdict(got, expected)}",
                flush=True,
            )
    print("* pabutools' time cached by bench/pabutools_reference.py on this machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
