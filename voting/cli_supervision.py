"""``flask satisfaction``: show or set a street's satisfaction grading rule (JSON)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from .domain.errors import InvalidInput
from .domain.satisfaction import rule_to_json
from .services import satisfaction

satisfaction_cli = AppGroup("satisfaction", help="The satisfaction vote's grading rule.")


@satisfaction_cli.command("show-rule")
@click.option("--street", required=True, help="Street name, e.g. 凯旋街道.")
def show_rule(street: str) -> None:
    """Print the rule the street's next satisfaction meeting will use."""
    try:
        rule = satisfaction.street_rule(satisfaction.street_id_named(street))
    except InvalidInput as err:
        raise click.ClickException(f"No street named {street!r}.") from err
    click.echo(rule_to_json(rule))


@satisfaction_cli.command("set-rule")
@click.option("--street", required=True, help="Street name, e.g. 凯旋街道.")
@click.argument("rule_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def set_rule(street: str, rule_file: Path) -> None:
    """Set the street's rule from a JSON file (see README); past meetings keep theirs."""
    try:
        rule = satisfaction.set_street_rule(street, rule_file.read_text(encoding="utf-8"))
    except InvalidInput as err:
        raise click.ClickException(f"Rule refused: {err.code}") from err
    click.echo(f"Rule set for {street}: {rule_to_json(rule)}")
