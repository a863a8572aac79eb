"""``flask tally verify ROUND``: recount a closed round and compare with its sealed tally."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from werkzeug.exceptions import NotFound

from .domain.errors import Conflict
from .services import tally_check
from .services.tally_check import TallyCheck

tally_cli = AppGroup("tally", help="The tally sealed at close.")


def _echo_report(check: TallyCheck) -> None:
    rnd, counted = check.round, check.counted
    titles = {e.candidate_id: e.candidate.title for e in rnd.entries}
    click.echo(
        f"Round {rnd.id} «{rnd.title}» ({rnd.status}, closed {rnd.closed_at:%Y-%m-%d %H:%M} UTC)"
    )
    click.echo(f"  ballots            stored {counted.stored_ballots}, counted {counted.ballots}")
    click.echo(f"  digest stored      {counted.stored_digest or '(none)'}")
    click.echo(f"  digest recomputed  {counted.digest}")
    if check.event is None:
        click.echo("  digest in audit    (no round.closed event for this round)")
    else:
        sealed = check.event.digest or "(none)"
        click.echo(f"  digest in audit    {sealed} ({check.event.action}, event {check.event.seq})")
    if check.broken_batches is not None:
        state = f"broken: {list(check.broken_batches)}" if check.broken_batches else "all match"
        click.echo(f"  sealed batches     {state}")
    for cid, stored, count in counted.count_mismatches:
        click.echo(f"  candidate {cid} {titles.get(cid, '')}: stored {stored}, counted {count}")
    if not counted.groups_agree:
        click.echo("  the counts recomputed from the grouped ballots differ from the SQL counts")


def _problems(check: TallyCheck) -> list[str]:
    counted = check.counted
    problems = []
    if counted.stored_digest != counted.digest:
        problems.append("the stored digest differs from the recomputed one")
    if counted.stored_ballots != counted.ballots:
        problems.append("the stored ballot count differs")
    if counted.count_mismatches:
        problems.append(f"the stored votes of {len(counted.count_mismatches)} candidate(s) differ")
    if not counted.groups_agree:
        problems.append("the grouped ballots do not add up to the counts")
    if not check.event_agrees:
        problems.append("the audit chain's digest differs or is missing")
    if check.broken_batches:
        problems.append(f"{len(check.broken_batches)} sealed batch(es) no longer match")
    return problems


@tally_cli.command("verify")
@click.argument("round_id", type=int)
@click.option(
    "--skip-batches",
    is_flag=True,
    help="Do not recompute the sealed batches' Merkle roots (one query per 50 ballots).",
)
def verify_tally(round_id: int, skip_batches: bool) -> None:
    """Recount ROUND from its ballot rows; compare with the stored tally and the audit chain."""
    try:
        check = tally_check.check_tally(round_id, batches=not skip_batches)
    except NotFound:
        raise click.ClickException(f"No round {round_id}.") from None
    except Conflict as err:
        raise click.ClickException(
            f"Round {round_id} is {err.params.get('status')}: its tally is counted and sealed"
            " when it closes, so there is nothing to verify yet."
        ) from None
    _echo_report(check)
    problems = _problems(check)
    if problems:
        raise click.ClickException(
            f"Tally of round {round_id} does NOT match: " + "; ".join(problems) + "."
        )
    click.echo(
        "Tally verified: the stored counts and digest match the ballot rows and the audit chain."
    )
