"""``flask pb``: import a Pabulib file as a closed round, export a round, replay a rule."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from werkzeug.exceptions import NotFound

from .cli import _ProgressBars
from .domain import outcomes, replay
from .domain.errors import VotingError
from .domain.pabulib import PbElection, format_number
from .services import pb_files, pb_import, pb_io
from .views.messages import describe

pb_cli = AppGroup("pb", help="Pabulib .pb files: import, export, replay a rule.")

# What is wrong, for each reason a .pb file is refused (the line is said before it).
REASONS = {
    "not_utf8": "the file is not UTF-8 text",
    "csv": "unreadable CSV ({detail})",
    "expected_section": "expected the {section} section title here",
    "missing_section": "the {section} section is missing",
    "meta_without_value": "a META line needs a key and a value",
    "missing_column": "the {section} header has no {column} column",
    "wrong_cell_count": "this row does not have as many cells as its header",
    "project_without_id_or_cost": "a project needs a project_id and a cost",
    "bad_selected": "selected must be a number",
    "not_a_number": "{value!r} is not a number",
    "unknown_vote_type": "unknown vote_type {vote_type!r}",
    "unknown_project": "the vote names projects that PROJECTS does not list: {ids}",
    "points_do_not_match_vote": "points must give one number per project in vote",
    "points_not_whole": "points must be whole numbers of at least 1, not {value}",
    "ordinal_refused": "vote_type is ordinal, and a round holds approval or cumulative"
    " ballots only; --ordinal-as-approval imports them as approval ballots (order dropped)",
    "scoring_refused": "vote_type is scoring (points below 1 or a default score),"
    " which a round cannot hold",
    "no_projects": "the PROJECTS section lists no project",
    "duplicate_project": "project {project} is listed twice",
    "project_id_too_long": "project id {project} is longer than 64 characters",
    "negative_cost": "project {project} has a negative cost",
    "budget_missing": "META has no budget",
    "budget_not_positive": "the budget {value} is not positive",
}


class _Bars(_ProgressBars):
    LABELS = {"read": "Reading votes  ", "write": "Writing ballots"}


def explain(error: VotingError, file_name: str = "") -> str:
    """A sentence for a refused import or export."""
    params = error.params
    if isinstance(error, pb_files.PbImportError):
        reason = str(params.get("reason", ""))
        template = REASONS.get(reason, reason)
        values = {k: v for k, v in params.items() if k not in ("line", "reason")}
        values["section"] = str(values.get("section", "")).upper()
        try:
            sentence = template.format(**values)
        except (KeyError, IndexError):
            sentence = template
        where = f"{file_name} line {params['line']}" if params.get("line") else file_name
        return f"{where}: {sentence}."
    if error.code == "pb_already_imported":
        return f"This election is already round {params['round_id']} ({params['title']})."
    if error.code == "pb_street_unknown":
        return f"No street named {params['street']!r}."
    if error.code == "round_not_closed":
        return f"The round is {params['status']}: only closed or finalized rounds are exported."
    if error.code == "pb_ids_unwritable":
        return "The round's project ids repeat or contain a comma: they cannot be written."
    return describe(error)


@pb_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--street",
    default=None,
    help="An existing street to hang the round on (default: a street named"
    " 'Pabulib: <country> <unit> <instance>', created if missing).",
)
@click.option(
    "--ordinal-as-approval",
    is_flag=True,
    help="Import an ordinal file's ballots as approval ballots (the order is dropped).",
)
def import_pb(file: Path, street: str | None, ordinal_as_approval: bool) -> None:
    """Import a Pabulib .pb file as a closed round with its projects and ballots."""
    bars = _Bars()
    started = time.perf_counter()
    try:
        report = pb_import.import_pb(
            file.read_bytes(),
            file_name=file.name,
            street_name=street,
            ordinal_as_approval=ordinal_as_approval,
            progress=bars,
        )
    except VotingError as err:
        bars.close()
        raise click.ClickException(f"{explain(err, file.name)} Nothing was imported.") from None
    bars.close()
    seconds = time.perf_counter() - started
    click.echo(
        f"Imported {file.name} as round {report.round_id} ({report.title}) in {report.street}:"
        f" {report.projects} projects, {report.ballots} ballots, {report.choices} choices."
    )
    click.echo(
        f"Ballots {report.kind}, rule {report.outcome_rule}, budget {report.budget:,}:"
        f" {report.selected} projects selected. Tally digest {report.tally_digest}."
    )
    if report.rounded:
        click.echo(f"{report.rounded} fractional amounts rounded to whole units.")
    if report.duplicates:
        click.echo(f"{report.duplicates} repeated project ids inside ballots collapsed.")
    rate = report.ballots / seconds if seconds > 0 else 0.0
    click.echo(f"{seconds:.1f} s ({rate:,.0f} ballots/s).")


@pb_cli.command("export")
@click.argument("round_id", type=int)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The .pb file to write (default: standard output).",
)
def export_pb(round_id: int, output: Path | None) -> None:
    """Write a closed or finalized round as a Pabulib .pb file (no personal data)."""
    started = time.perf_counter()
    try:
        export = pb_io.pb_export(round_id, tz=current_app.config["DISPLAY_TIMEZONE"])
    except NotFound:
        raise click.ClickException(f"No round {round_id}.") from None
    except VotingError as err:
        raise click.ClickException(explain(err)) from None
    if output is None:
        for chunk in _chunks(export.lines):
            click.echo(chunk, nl=False)
    else:
        with output.open("w", encoding="utf-8", newline="") as handle:
            handle.writelines(export.lines)
    seconds = time.perf_counter() - started
    click.echo(
        f"Round {round_id}: {export.projects} projects, {export.ballots} ballots written to"
        f" {output or 'standard output'} in {seconds:.1f} s.",
        err=output is None,
    )


def _chunks(lines: Iterable[str], size: int = 1 << 16) -> Iterable[str]:
    """Lines joined into chunks of about ``size`` characters."""
    buffer: list[str] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)


@pb_cli.command("outcome")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rule", type=click.Choice(replay.RULES), required=True)
@click.option(
    "--threshold",
    is_flag=True,
    help="Drop projects below the file's min_project_score_threshold (greedy rules).",
)
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"rule", "selected", "total_cost"} as JSON.'
)
def outcome(file: Path, rule: str, threshold: bool, as_json: bool) -> None:
    """Replay a rule on a .pb file, ties broken as pabutools 1.2.3 breaks them (no database)."""
    if threshold and not rule.startswith("greedy"):
        raise click.UsageError("--threshold applies to the greedy rules only.")
    try:
        election = pb_files.read_election(file.read_bytes())
    except VotingError as err:
        raise click.ClickException(explain(err, file.name)) from None
    result = replay.replay(election, rule, threshold=threshold)
    if as_json:
        click.echo(outcome_json(rule, result))
    else:
        _echo_table(file.name, rule, threshold, election, result)


def outcome_json(rule: str, result: outcomes.Outcome[str]) -> str:
    """``{"rule", "selected", "total_cost"}``; the cost as an exact decimal JSON number."""
    selected = json.dumps(list(result.selected), ensure_ascii=False)
    total = format_number(result.total_cost)
    return f'{{"rule": {json.dumps(rule)}, "selected": {selected}, "total_cost": {total}}}'


def _echo_table(
    name: str, rule: str, threshold: bool, election: PbElection, result: outcomes.Outcome[str]
) -> None:
    projects = {p.project_id: p for p in election.projects}
    supporters = replay.profile_of(election).approvals()
    limit = f" (threshold {election.threshold})" if threshold and election.threshold else ""
    click.echo(
        f"{name}, rule {rule}{limit}: {len(result.selected)} of {len(projects)} projects,"
        f" cost {format_number(result.total_cost)} of budget {format_number(election.budget)}."
    )
    width = max([7, *(len(pid) for pid in result.selected)])
    click.echo(f"{'#':>4}  {'project':<{width}}  {'cost':>14}  {'voters':>8}  name")
    for number, pid in enumerate(result.selected, start=1):
        project = projects[pid]
        click.echo(
            f"{number:>4}  {pid:<{width}}  {format_number(project.cost):>14}"
            f"  {supporters.get(pid, 0):>8}  {project.extra.get('name', '')[:60]}"
        )
