"""Compute pabutools 1.2.3's outcomes for every Pabulib file and rule, and cache them as JSON.

    .venv/bin/pip install pabutools==1.2.3          # test-only dependency
    python bench/pabutools_reference.py              # all of ../shared/pabulib, 2 workers
    python bench/pabutools_reference.py --deadline 1500 --jobs 2 --only-missing

Writes ``tests/domain/pabutools_outcomes.json``::

    {"pabutools_version": "1.2.3",
     "outcomes": {file name: {rule: [project ids in pabutools' selection order]}},
     "seconds":  {file name: {"parse": s, rule: s}},   # wall seconds, one process per job
     "left_out": {file name: [rules not finished before the deadline]},
     "calls":    {rule: the pabutools call}}

The file is rewritten after every finished job, so what finished before ``--deadline`` is kept.
Rules (default lexicographic tie-breaking, resolute):

* ``greedy``: ``greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)``;
* ``greedy-threshold``: the same on the projects whose score reaches the file's
  ``min_project_score_threshold`` (supporters; total points on cumulative files);
* ``mes``: ``method_of_equal_shares(instance, profile, sat_class=Cost_Sat)``;
* ``mes-add1``: the same with ``voter_budget_increment=1``;
* ``mes-greedy`` / ``mes-add1-greedy``: ``completion_by_rule_combination`` of the MES call and
  the greedy. To avoid running the Add1 loop twice (up to 11 minutes each on the big files) the
  script performs the two steps of ``completion_by_rule_combination`` itself, with pabutools'
  own calls: return the MES outcome if ``instance.is_exhaustive(outcome)``, else
  ``greedy_utilitarian_welfare(..., initial_budget_allocation=outcome)``; the recorded time is
  MES time + completion time. The live tests call ``completion_by_rule_combination`` directly.
* ``greedy-points`` (cumulative): greedy with satisfaction points x cost (ranks by total points),
  and ``greedy-points-threshold``; ``greedy-positional`` (ordinal): satisfaction
  (ballot length - rank) x cost, Kraków's 3/2/1 score.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "pabulib"
OUT = ROOT / "tests" / "domain" / "pabutools_outcomes.json"

CALLS = {
    "greedy": "greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)",
    "greedy-threshold": "greedy_utilitarian_welfare(Instance(projects with score >= "
    "min_project_score_threshold, budget_limit=instance.budget_limit), profile, "
    "sat_class=Cost_Sat); score = supporters (total points on cumulative files)",
    "mes": "method_of_equal_shares(instance, profile, sat_class=Cost_Sat)",
    "mes-greedy": "completion_by_rule_combination(instance, profile, [method_of_equal_shares, "
    "greedy_utilitarian_welfare], [{'sat_class': Cost_Sat}, {'sat_class': Cost_Sat}]) "
    "(its two steps run one by one)",
    "mes-add1": "method_of_equal_shares(instance, profile, sat_class=Cost_Sat, "
    "voter_budget_increment=1)",
    "mes-add1-greedy": "completion_by_rule_combination(instance, profile, "
    "[method_of_equal_shares, greedy_utilitarian_welfare], [{'sat_class': Cost_Sat, "
    "'voter_budget_increment': 1}, {'sat_class': Cost_Sat}]) (its two steps run one by one)",
    "greedy-points": "greedy_utilitarian_welfare(instance, profile, "
    "sat_class=PointsTimesCost_Sat) with sat = points x cost",
    "greedy-points-threshold": "greedy-points on projects with total points >= threshold",
    "greedy-positional": "greedy_utilitarian_welfare(instance, profile, "
    "sat_class=PositionalTimesCost_Sat) with sat = (ballot length - rank) x cost",
}


def _sat_classes() -> tuple[type, type]:
    from pabutools.election import AdditiveSatisfaction

    def points_times_cost(instance, profile, ballot, project, precomputed):
        return ballot.get(project, 0) * project.cost

    def positional_times_cost(instance, profile, ballot, project, precomputed):
        order = list(ballot)
        if project not in ballot:
            return 0
        return (len(order) - order.index(project)) * project.cost

    class PointsTimesCostSat(AdditiveSatisfaction):
        def __init__(self, instance, profile, ballot):
            AdditiveSatisfaction.__init__(self, instance, profile, ballot, points_times_cost)

    class PositionalTimesCostSat(AdditiveSatisfaction):
        def __init__(self, instance, profile, ballot):
            AdditiveSatisfaction.__init__(self, instance, profile, ballot, positional_times_cost)

    return PointsTimesCostSat, PositionalTimesCostSat


def _timed(results: dict[str, Any], key: str, func: Callable[[], Any], extra: float = 0.0) -> Any:
    start = time.perf_counter()
    outcome = func()
    results["seconds"][key] = round(time.perf_counter() - start + extra, 3)
    results["outcomes"][key] = [p.name for p in outcome]
    return outcome


def _thresholded(instance: Any, profile: Any, by_points: bool) -> Any:
    from pabutools.election import Instance

    threshold = float(instance.meta["min_project_score_threshold"])

    def score(project: Any) -> Any:
        if by_points:
            return sum(ballot.get(project, 0) for ballot in profile)
        return sum(1 for ballot in profile if project in ballot)

    kept = [p for p in instance if score(p) >= threshold]
    return Instance(kept, budget_limit=instance.budget_limit)


def _complete(
    results: dict[str, Any], key: str, instance: Any, profile: Any, first: Any, first_key: str
) -> None:
    from pabutools.election import Cost_Sat
    from pabutools.rules import greedy_utilitarian_welfare

    def run() -> Any:
        if instance.is_exhaustive(first):
            return first
        return greedy_utilitarian_welfare(
            instance, profile, sat_class=Cost_Sat, initial_budget_allocation=first
        )

    _timed(results, key, run, extra=results["seconds"][first_key])


def _base_rules(results: dict[str, Any], instance: Any, profile: Any, wanted: set[str]) -> None:
    from pabutools.election import Cost_Sat
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    vote_type = instance.meta["vote_type"]
    threshold = "min_project_score_threshold" in instance.meta
    points_sat, positional_sat = _sat_classes()
    plans: list[tuple[str, Callable[[], Any]]] = [
        ("greedy", lambda: greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)),
    ]
    if threshold:
        plans.append(
            (
                "greedy-threshold",
                lambda: greedy_utilitarian_welfare(
                    _thresholded(instance, profile, vote_type == "cumulative"),
                    profile,
                    sat_class=Cost_Sat,
                ),
            )
        )
    if vote_type == "cumulative":
        plans.append(
            (
                "greedy-points",
                lambda: greedy_utilitarian_welfare(instance, profile, sat_class=points_sat),
            )
        )
        if threshold:
            plans.append(
                (
                    "greedy-points-threshold",
                    lambda: greedy_utilitarian_welfare(
                        _thresholded(instance, profile, True), profile, sat_class=points_sat
                    ),
                )
            )
    if vote_type == "ordinal":
        plans.append(
            (
                "greedy-positional",
                lambda: greedy_utilitarian_welfare(instance, profile, sat_class=positional_sat),
            )
        )
    for key, func in plans:
        if key in wanted:
            _timed(results, key, func)
    if wanted & {"mes", "mes-greedy"}:
        mes = _timed(
            results, "mes", lambda: method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
        )
        if "mes-greedy" in wanted:
            _complete(results, "mes-greedy", instance, profile, mes, "mes")


def _add1_rules(results: dict[str, Any], instance: Any, profile: Any, wanted: set[str]) -> None:
    from pabutools.election import Cost_Sat
    from pabutools.rules import method_of_equal_shares

    add1 = _timed(
        results,
        "mes-add1",
        lambda: method_of_equal_shares(
            instance, profile, sat_class=Cost_Sat, voter_budget_increment=1
        ),
    )
    if "mes-add1-greedy" in wanted:
        _complete(results, "mes-add1-greedy", instance, profile, add1, "mes-add1")


def run_job(job: tuple[str, str, list[str]]) -> dict[str, Any]:
    """Parse one file and run one group of rules; return outcomes and seconds."""
    from pabutools.election import parse_pabulib

    name, group, rules = job
    results: dict[str, Any] = {"file": name, "outcomes": {}, "seconds": {}}
    start = time.perf_counter()
    instance, profile = parse_pabulib(str(DATA / name))
    results["seconds"]["parse"] = round(time.perf_counter() - start, 3)
    if group == "base":
        _base_rules(results, instance, profile, set(rules))
    else:
        _add1_rules(results, instance, profile, set(rules))
    return results


def _rules_for(path: Path) -> tuple[list[str], list[str]]:
    head = path.read_text(encoding="utf-8-sig")[:20000]
    base = ["greedy", "mes", "mes-greedy"]
    threshold = "min_project_score_threshold;" in head
    if threshold:
        base.append("greedy-threshold")
    if "vote_type;cumulative" in head:
        base.append("greedy-points")
        if threshold:
            base.append("greedy-points-threshold")
    if "vote_type;ordinal" in head:
        base.append("greedy-positional")
    return base, ["mes-add1", "mes-add1-greedy"]


def _load(path: Path) -> dict[str, Any]:
    if path.exists():
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    return {}


def _save(path: Path, data: dict[str, Any]) -> None:
    import pabutools

    data["pabutools_version"] = getattr(pabutools, "__version__", "1.2.3")
    data["generated_by"] = "bench/pabutools_reference.py"
    data["calls"] = CALLS
    for section in ("outcomes", "seconds", "left_out"):
        data[section] = dict(sorted(data.get(section, {}).items()))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _jobs(names: list[str], done: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    base_jobs, add1_jobs = [], []
    for name in sorted(names, key=lambda n: (DATA / n).stat().st_size):
        base, add1 = _rules_for(DATA / name)
        have = set(done.get(name, {}))
        if missing := [r for r in base if r not in have]:
            base_jobs.append((name, "base", missing))
        if missing := [r for r in add1 if r not in have]:
            add1_jobs.append((name, "add1", missing))
    return base_jobs + add1_jobs


def _merge(data: dict[str, Any], result: dict[str, Any]) -> None:
    name = result["file"]
    data.setdefault("outcomes", {}).setdefault(name, {}).update(result["outcomes"])
    data.setdefault("seconds", {}).setdefault(name, {}).update(result["seconds"])
    left = [r for r in data.get("left_out", {}).get(name, []) if r not in result["outcomes"]]
    data.setdefault("left_out", {})[name] = left
    if not left:
        del data["left_out"][name]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="file names in ../shared/pabulib (default: all)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=1500.0, help="seconds for the run")
    parser.add_argument("--only-missing", action="store_true", help="keep what the JSON has")
    args = parser.parse_args()
    names = args.files or sorted(p.name for p in DATA.glob("*.pb"))
    data = _load(args.out) if args.only_missing else {}
    jobs = _jobs(names, data.get("outcomes", {}) if args.only_missing else {})
    stop_at = time.monotonic() + args.deadline
    with multiprocessing.Pool(args.jobs, maxtasksperchild=1) as pool:
        pending = {index: pool.apply_async(run_job, (job,)) for index, job in enumerate(jobs)}
        while pending and time.monotonic() < stop_at:
            for index, handle in list(pending.items()):
                if handle.ready():
                    del pending[index]
                    _merge(data, handle.get())
                    _save(args.out, data)
                    print(f"done {jobs[index][0]} {jobs[index][1]}", flush=True)
            time.sleep(0.5)
        for index in pending:
            name, _, rules = jobs[index]
            left = data.setdefault("left_out", {}).setdefault(name, [])
            left.extend(r for r in rules if r not in left)
            print(f"left out (deadline) {name} {rules}", flush=True)
        pool.terminate()
    _save(args.out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
