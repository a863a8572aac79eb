"""Click commands: parse arguments, call one service, echo the result."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .domain.errors import InvalidInput, VotingError
from .domain.staff import Role
from .services import audit as audit_service
from .services import codes as codes_service
from .services import roll as roll_service
from .services import staff as staff_service
from .views.messages import describe, message_for

staff_cli = AppGroup("staff", help="Staff accounts.")
roll_cli = AppGroup("roll", help="The resident roll.")
codes_cli = AppGroup("codes", help="Voting codes (投票码).")
audit_cli = AppGroup("audit", help="The audit chain.")


def _pepper() -> bytes:
    return current_app.config["ROLL_PEPPER"].encode()


def _street(name: str | None):  # type: ignore[no-untyped-def]
    street = staff_service.find_street(name)
    if street is None:
        raise click.ClickException("Name the street with --street (none or several exist).")
    return street


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", "display_name", required=True, help="Display name, e.g. 王敏.")
@click.option("--street", default=None, help="Street name (default: the only street).")
@click.option("--station", default=None, help="Liaison station name (station role only).")
@click.password_option(help="At least 10 characters; prompted if omitted.")
def create_staff(username, role, display_name, street, station, password):  # type: ignore[no-untyped-def]
    """Create a staff account."""
    street_row = _street(street)
    station_row = staff_service.find_station(street_row, station) if station else None
    if station and station_row is None:
        raise click.ClickException(f"No station named {station!r} in {street_row.name}.")
    try:
        user = staff_service.create_staff(
            username=username,
            display_name=display_name,
            role=Role(role),
            password=password,
            street=street_row,
            station=station_row,
        )
    except VotingError as err:
        raise click.ClickException(describe(err)) from None
    click.echo(f"Created {user.role} account {user.username!r} (id {user.id}).")


@roll_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--street", default=None, help="Street name (default: the only street).")
def import_roll(file: Path, street: str | None) -> None:
    """Import residents from a UTF-8 CSV (姓名,身份证号,手机号,社区,楼栋,单元,房号)."""
    try:
        report = roll_service.import_roll(
            file.read_bytes(), street=_street(street), pepper=_pepper()
        )
    except InvalidInput as err:
        report = err.params.get("report")
        if report is None:
            raise click.ClickException(describe(err)) from None
        for row_error in report.errors:
            click.echo(f"  第 {row_error.line} 行: {message_for(row_error.code)}", err=True)
        raise click.ClickException(
            f"{len(report.errors)} bad rows of {report.rows}; nothing was imported."
        ) from None
    click.echo(
        f"Imported {report.rows} rows: {report.created} new, {report.updated} updated,"
        f" {report.unchanged} unchanged."
    )


@codes_cli.command("issue")
@click.argument("round_id", type=int)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the printable slips (default: slips-round-<ROUND>.html).",
)
def issue_codes(round_id: int, out: Path | None) -> None:
    """Create one voting code per eligible resident and write the slips to print."""
    from .views.slips import render_slips

    try:
        slips = codes_service.issue_codes(round_id, pepper=_pepper())
    except VotingError as err:
        raise click.ClickException(describe(err)) from None
    out = out or Path(f"slips-round-{round_id}.html")
    out.write_text(render_slips(round_id, slips), encoding="utf-8")
    click.echo(f"Issued {len(slips)} codes for round {round_id}; slips written to {out}.")
    click.echo("The codes exist only in that file: print it, then delete it.")


@audit_cli.command("verify")
def verify_audit() -> None:
    """Recompute the audit chain and report the first break."""
    count, broken = audit_service.verify_chain()
    if broken is not None:
        raise click.ClickException(f"Chain broken at event {broken} (of {count}).")
    click.echo(f"Audit chain intact: {count} events, head {audit_service.head_hash()}.")


def register_cli(app: Flask) -> None:
    from .seeding import demo_command, seed_command

    for group in (staff_cli, roll_cli, codes_cli, audit_cli):
        app.cli.add_command(group)
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_command)
