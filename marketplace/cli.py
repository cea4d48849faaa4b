"""`flask db ...`: Alembic migrations are the only way tables are made."""

import click
from flask import current_app
from flask.cli import with_appcontext

from .config import ROOT


def alembic_config():
    """Alembic's config for the current app's database (imported here: only `flask db` needs it)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["engine"] = current_app.extensions["db"].engine
    return config


@click.group("db")
def db_cli():
    """Database migrations."""


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade(revision: str):
    """Apply migrations up to REVISION (default: head)."""
    from alembic import command

    command.upgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade(revision: str):
    """Revert migrations down to REVISION."""
    from alembic import command

    command.downgrade(alembic_config(), revision)


@db_cli.command("current")
@with_appcontext
def current():
    """Show the database's revision."""
    from alembic import command

    command.current(alembic_config())


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True)
@with_appcontext
def revision(message: str, autogenerate: bool):
    """Write a new migration, compared with the models when --autogenerate."""
    from alembic import command

    command.revision(alembic_config(), message=message, autogenerate=autogenerate)
