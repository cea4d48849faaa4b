"""`flask registry suspend|reactivate CODE --reason ...`, `flask registry lapse`: operators act from the shell."""

import getpass
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db import get_db
from .policy import lapse_overdue_applications
from .services import RegistryConflict, find_node, set_node_status


@click.group("registry")
def registry_cli():
    """The national node registry."""


def _change(code: str, status: str, reason: str) -> None:
    if len(reason.strip()) < 3:
        raise click.BadParameter("give a reason of at least 3 characters", param_hint="--reason")
    with get_db().session() as session:
        node = find_node(session=session, code=code)
        if node is None:
            raise click.ClickException(f"no node {code.upper()} in the directory")
        try:
            set_node_status(session=session, node=node, status=status, reason=reason.strip(),
                            actor=f"cli:{getpass.getuser()}")  # fmt: skip
        except RegistryConflict as error:
            raise click.ClickException(str(error)) from None
        session.commit()
        click.echo(f"{node.code} is now {node.status}")


@registry_cli.command("suspend")
@click.argument("code")
@click.option("--reason", required=True, help="Why; recorded with the change.")
@with_appcontext
def suspend_command(code: str, reason: str):
    """Suspend node CODE."""
    _change(code, "suspended", reason)


@registry_cli.command("reactivate")
@click.argument("code")
@click.option("--reason", required=True, help="Why; recorded with the change.")
@with_appcontext
def reactivate_command(code: str, reason: str):
    """Reactivate node CODE."""
    _change(code, "active", reason)


@registry_cli.command("lapse")
@with_appcontext
def lapse_command():
    """Mark applications undecided for longer than REGISTRY_REVIEW_DAYS as lapsed, freeing their codes."""
    period = timedelta(days=current_app.config["REGISTRY_REVIEW_DAYS"])
    with get_db().session() as session:
        lapsed = lapse_overdue_applications(session=session, review_period=period)
        session.commit()
    click.echo(f"{lapsed} application(s) lapsed after {period.days} days without a decision")
