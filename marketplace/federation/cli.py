"""`flask keys init|rotate`: this node's signing keys."""

import click
from flask.cli import with_appcontext

from .keys import init_keys, keys_path, rotate_keys


@click.group("keys")
def keys_cli():
    """This node's signing keys (ES256, P-256)."""


@keys_cli.command("init")
@with_appcontext
def init_command():
    """Create the current and the next signing key under instance/."""
    try:
        keys = init_keys()
    except FileExistsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created signing keys in {keys_path()}: current {keys['current']['kid']}, next {keys['next']['kid']}")


@keys_cli.command("rotate")
@with_appcontext
def rotate_command():
    """Make the next key current, add a new next key, retire the oldest."""
    keys = rotate_keys()
    click.echo(f"rotated: current {keys['current']['kid']}, next {keys['next']['kid']}")
