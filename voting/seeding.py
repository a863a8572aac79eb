"""Demo data: the 凯旋街道 round from ``seeds/``, loaded through the same services."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from .domain.errors import InvalidInput
from .domain.staff import IdeaSource, Role
from .domain.tally import OutcomeRule
from .extensions import db
from .models import Candidate, StaffUser, Street
from .services import codes as codes_service
from .services import intake, rounds, staff
from .services import roll as roll_service
from .services._tx import utcnow

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


def load_seed(
    seeds_dir: Path = SEEDS_DIR, *, rng: random.Random | None = None, history: bool = True
) -> dict[str, object]:
    """Load the demo street, staff, candidates, roll and open round; return what was made.

    With ``history``, also the finished 2025 round (``seeding_history``), loaded first so
    the audit chain runs in the order things happened.
    """
    data = json.loads((seeds_dir / "kaixuan.json").read_text(encoding="utf-8"))
    street = staff.ensure_street(data["street"]["name"], data["street"]["district"])
    communities = {
        c["name"]: staff.ensure_community(street, c["name"]) for c in data["communities"]
    }
    stations = {
        s["name"]: staff.ensure_station(
            street,
            s["name"],
            community=communities.get(s["community"]),
            address=s["address"],
            hours=s["hours"],
        )
        for s in data["stations"]
    }
    users = {u["role"]: _staff(street, stations, u) for u in data["staff"]}
    titles = {c["title"]: candidate_from_spec(users, communities, c) for c in data["candidates"]}
    pepper = current_app.config["ROLL_PEPPER"].encode()
    report = roll_service.import_roll(
        (seeds_dir / "roll.csv").read_bytes(), street=street, pepper=pepper
    )
    made = {"street": street.name, "residents": report.created, "rounds": []}
    if history:
        from .seeding_history import load_history  # it builds on this module's helpers

        # Fixed so the demo's 2025 figures are the same on every machine; its codes are
        # spent or void (the round is finalized), so nothing here needs secrecy.
        history_rng = random.Random(2025)  # noqa: S311
        made["finished_round"] = load_history(seeds_dir, users, communities, rng=history_rng)
    for spec in data["rounds"]:
        round_id = _round(users[Role.OFFICIAL.value], communities, titles, spec)
        slips = codes_service.issue_codes(round_id, pepper=pepper, rng=rng)
        made["rounds"].append((round_id, slips))  # type: ignore[attr-defined]
    return made


def _staff(street: Street, stations, spec) -> StaffUser:  # type: ignore[no-untyped-def]
    existing = db.session.scalar(select(StaffUser).where(StaffUser.username == spec["username"]))
    if existing:
        return existing
    return staff.create_staff(
        username=spec["username"],
        display_name=spec["display_name"],
        role=Role(spec["role"]),
        password=spec["password"],
        street=street,
        station=stations[spec["station"]] if spec["station"] else None,
    )


def candidate_from_spec(users, communities, spec, *, now=None) -> Candidate:  # type: ignore[no-untyped-def]
    """Submit a seed candidate as its station would, and review it as the spec says
    (accepted unless it names another status)."""
    data = intake.CandidateInput(
        title=spec["title"],
        summary=spec["summary"],
        description=spec["description"],
        category=spec["category"],
        community_id=communities[spec["community"]].id,
        location=spec["location"],
        target=spec["target"],
        cost_yuan=spec["cost_yuan"],
        source=IdeaSource(spec["source"]),
        raised_by=spec["raised_by"],
    )
    candidate = intake.submit_candidate(users[Role.STATION.value], data, now=now)
    status = spec.get("status", "accepted")
    if status != "submitted":
        intake.review_candidate(
            users[Role.OFFICIAL.value],
            candidate.id,
            accept=status == "accepted",
            reason=spec.get("review_reason", "符合普惠性要求"),
            now=now,
        )
    return candidate


def _round(official: StaffUser, communities, titles, spec) -> int:  # type: ignore[no-untyped-def]
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    opens_at = now + timedelta(days=spec["opens_offset_days"])
    data = rounds.RoundInput(
        title=spec["title"],
        description=spec["description"],
        community_ids=tuple(communities[name].id for name in spec["communities"]),
        candidate_ids=tuple(titles[t].id for t in spec["candidates"]),
        opens_at=opens_at,
        closes_at=opens_at + timedelta(days=spec["duration_days"]),
        min_choices=spec["min_choices"],
        max_choices=spec["max_choices"],
        budget_yuan=spec["budget_yuan"],
        seats=spec["seats"],
        outcome_rule=OutcomeRule(spec["outcome_rule"]),
        running_results_public=spec["running_results_public"],
    )
    round_id = rounds.create_round(official, data)
    rounds.open_round(official, round_id)
    return round_id


def _already_seeded() -> bool:
    return db.session.scalar(select(Street.id).limit(1)) is not None


def _print_summary(made: dict[str, object], slips_dir: Path) -> None:
    from .views.slips import render_slips

    data = json.loads((SEEDS_DIR / "kaixuan.json").read_text(encoding="utf-8"))
    click.echo(f"Seeded {made['street']}: {made['residents']} residents on the roll.")
    click.echo("Staff logins (http://127.0.0.1:5000/staff/login):")
    for user in data["staff"]:
        click.echo(f"  {user['role']:<9} {user['username']:<10} {user['password']}")
    if "finished_round" in made:
        click.echo(
            f"Round {made['finished_round']}: 2025, finished — results, 公示 with an objection"
            " and its answer, four projects built and supervised, satisfaction vote;"
            " see http://127.0.0.1:5000/ and /streets/1/supervision"
        )
    for round_id, slips in made["rounds"]:  # type: ignore[attr-defined]
        path = slips_dir / f"slips-round-{round_id}.html"
        path.write_text(render_slips(round_id, slips), encoding="utf-8")
        click.echo(f"Round {round_id}: {len(slips)} voting codes; all slips in {path}")
        click.echo("  A few codes to try at http://127.0.0.1:5000/vote/ :")
        for slip in slips[:5]:
            click.echo(f"    {slip.code[:4]} {slip.code[4:8]} {slip.code[8:]}  ({slip.community})")


@click.command("seed")
def seed_command() -> None:
    """Load the 凯旋街道 demo (skipped if the database already has a street)."""
    if _already_seeded():
        click.echo("The database already has data; seed skipped.")
        return
    try:
        made = load_seed()
    except InvalidInput as err:
        raise click.ClickException(f"Seed data rejected: {err.code}") from None
    _print_summary(made, Path(current_app.instance_path))


@click.command("demo")
@click.option("--port", default=5000, type=int)
def demo_command(port: int) -> None:
    """Migrate, seed if empty, then serve on 127.0.0.1 (development only)."""
    from flask_migrate import upgrade
    from werkzeug.serving import run_simple

    from .devserver import CloseWhenSent

    upgrade()
    if _already_seeded():
        click.echo("Database already seeded; serving it as it is.")
    else:
        _print_summary(load_seed(), Path(current_app.instance_path))
    click.echo(f"Serving on http://127.0.0.1:{port}/  (Ctrl+C to stop)")
    app = CloseWhenSent(current_app._get_current_object())  # type: ignore[attr-defined]
    run_simple("127.0.0.1", port, app, threaded=True)
