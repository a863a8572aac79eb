"""Click commands: parse arguments, call one service, echo the result."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .domain.errors import InvalidInput, VotingError
from .domain.staff import Role
from .services import audit as audit_service
from .services import codes as codes_service
from .services import roll as roll_service
from .services import rounds as rounds_service
from .services import staff as staff_service
from .views.messages import describe, message_for

staff_cli = AppGroup("staff", help="Staff accounts.")
roll_cli = AppGroup("roll", help="The resident roll.")
codes_cli = AppGroup("codes", help="Voting codes (投票码).")
audit_cli = AppGroup("audit", help="The audit chain.")

# A roll with thousands of bad rows lists the first ones and says how many more.
MAX_LISTED_ROW_ERRORS = 200


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


class _ProgressBars:
    """Click progress bars on stderr: one while reading the file, then one while writing."""

    LABELS = {"read": "Reading rows ", "write": "Writing roll "}

    def __init__(self) -> None:
        self._bar: Any = None
        self._phase = ""
        self._done = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self._phase:
            self.close()
            self._phase, self._done = phase, 0
            self._bar = click.progressbar(
                length=max(total, 1),
                label=self.LABELS.get(phase, phase),
                file=sys.stderr,
                show_pos=True,
            )
            self._bar.__enter__()
        self._bar.length = max(self._bar.length, total)
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _refuse_roll(err: InvalidInput) -> NoReturn:
    """Name every bad row (the first 200, then how many more) and stop."""
    report = err.params.get("report")
    if report is None:
        raise click.ClickException(describe(err)) from None
    for row_error in report.errors[:MAX_LISTED_ROW_ERRORS]:
        sentence = message_for(row_error.code, **row_error.details)
        click.echo(f"  第 {row_error.line} 行: {sentence}", err=True)
    more = len(report.errors) - MAX_LISTED_ROW_ERRORS
    if more > 0:
        click.echo(f"  … and {more} more bad rows", err=True)
    raise click.ClickException(
        f"{len(report.errors)} bad rows of {report.rows}; nothing was imported."
    ) from None


def _echo_roll_report(report: roll_service.ImportReport, full_roll: bool, seconds: float) -> None:
    click.echo(
        f"Imported {report.rows} rows: {report.created} new, {report.updated} updated,"
        f" {report.unchanged} unchanged."
    )
    if full_roll or report.moved_out_total:
        click.echo(
            f"Moved out: {report.moved_out_total} ({report.moved_out} marked 迁出 in the file,"
            f" {report.absent} missing from the full roll)."
        )
    rate = report.rows / seconds if seconds > 0 else 0.0
    click.echo(f"{report.kind.upper()} file, {seconds:.1f} s ({rate:,.0f} rows/s).")


@roll_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--street", default=None, help="Street name (default: the only street).")
@click.option(
    "--full-roll",
    "full_roll",
    multiple=True,
    metavar="COMMUNITY",
    help="The file is the complete roll of this community (repeat for several): its active"
    " residents missing from the file are marked moved out.",
)
@click.option(
    "--full-roll-all",
    is_flag=True,
    help="The file is the complete roll of every community of the street.",
)
def import_roll(
    file: Path, street: str | None, full_roll: tuple[str, ...], full_roll_all: bool
) -> None:
    """Import residents from CSV (UTF-8) or XLSX: 姓名,身份证号,手机号,社区,楼栋,单元,房号,状态."""
    if full_roll and full_roll_all:
        raise click.UsageError("Give --full-roll COMMUNITY or --full-roll-all, not both.")
    street_row = _street(street)
    bars = _ProgressBars()
    started = time.perf_counter()
    try:
        report = roll_service.import_roll(
            file.read_bytes(),
            street=street_row,
            pepper=_pepper(),
            full_roll=full_roll,
            full_roll_all=full_roll_all,
            progress=bars,
        )
    except InvalidInput as err:
        bars.close()
        _refuse_roll(err)
    bars.close()
    _echo_roll_report(report, bool(full_roll or full_roll_all), time.perf_counter() - started)


@codes_cli.command("issue")
@click.argument("round_id", type=int)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the printable slips (default: slips-round-<ROUND>.html).",
)
@click.option(
    "--pdf",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the slips as an A4 PDF (10 per page, cut lines) to this file.",
)
def issue_codes(round_id: int, out: Path | None, pdf: Path | None) -> None:
    """Create one voting code per eligible resident and write the slips to print."""
    from .slips_pdf import render_slips_pdf
    from .views.slips import render_slips

    try:
        slips = codes_service.issue_codes(round_id, pepper=_pepper())
    except VotingError as err:
        raise click.ClickException(describe(err)) from None
    out = out or Path(f"slips-round-{round_id}.html")
    out.write_text(render_slips(round_id, slips), encoding="utf-8")
    written = [str(out)]
    if pdf is not None:
        rnd = rounds_service.load_round(round_id)
        pdf.write_bytes(
            render_slips_pdf(
                title=rnd.title,
                opens_at=rnd.opens_at,
                closes_at=rnd.closes_at,
                base_url=current_app.config["PUBLIC_BASE_URL"],
                slips=slips,
                tz=current_app.config["DISPLAY_TIMEZONE"],
            )
        )
        written.append(str(pdf))
    click.echo(
        f"Issued {len(slips)} codes for round {round_id}; slips written to {' and '.join(written)}."
    )
    click.echo("The codes exist only in those files: print them, then delete them.")


@audit_cli.command("verify")
def verify_audit() -> None:
    """Recompute the audit chain and report the first break."""
    count, broken = audit_service.verify_chain()
    if broken is not None:
        raise click.ClickException(f"Chain broken at event {broken} (of {count}).")
    click.echo(f"Audit chain intact: {count} events, head {audit_service.head_hash()}.")


def register_cli(app: Flask) -> None:
    from .cli_pb import pb_cli
    from .cli_supervision import satisfaction_cli
    from .cli_tally import tally_cli
    from .seeding import demo_command, seed_command

    groups = (staff_cli, roll_cli, codes_cli, audit_cli, tally_cli, pb_cli, satisfaction_cli)
    for group in groups:
        app.cli.add_command(group)
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_command)
