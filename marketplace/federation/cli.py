"""`flask keys init|rotate`: this node's signing keys."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ..audit import SYSTEM, record_audit
from ..db import get_db
from ..identity.codes import NATIONAL_CODE
from .client import TokenUnavailable, call_node, national_issuer
from .http import FetchRefused, fetch
from .keys import init_keys, keys_path, rotate_keys


@click.group("keys")
def keys_cli():
    """This node's signing keys (ES256, P-256)."""


@keys_cli.command("init")
@click.option("--if-missing", is_flag=True, help="Succeed without change when the keys exist already.")
@with_appcontext
def init_command(if_missing: bool):
    """Create the current and the next signing key under instance/."""
    try:
        keys = init_keys()
    except FileExistsError as error:
        if if_missing:
            click.echo(f"signing keys exist already in {keys_path()}")
            return
        raise click.ClickException(str(error)) from None
    _audit_keys("keys.init", keys)
    click.echo(f"created signing keys in {keys_path()}: current {keys['current']['kid']}, next {keys['next']['kid']}")


def _audit_keys(action: str, keys: dict) -> None:
    """Key changes go into the audit log (a node may run this before its database exists: then they cannot)."""
    try:
        with get_db().session() as session:
            record_audit(session=session, action=action, actor=SYSTEM, object=f"node:{current_app.config['NODE_CODE']}",
                         detail={"current": keys["current"]["kid"], "next": keys["next"]["kid"]})  # fmt: skip
            session.commit()
    except SQLAlchemyError as error:
        click.echo(f"note: not in the audit log ({type(error).__name__}); run `flask db upgrade`", err=True)


@keys_cli.command("rotate")
@with_appcontext
def rotate_command():
    """Make the next key current, add a new next key, retire the oldest."""
    keys = rotate_keys()
    _audit_keys("keys.rotate", keys)
    click.echo(f"rotated: current {keys['current']['kid']}, next {keys['next']['kid']}")


@click.group("federation")
def federation_cli():
    """Calls to other nodes of the federation."""


@federation_cli.command("whoami")
@click.argument("node_code")
@click.option("--url", help="The node's URL; by default national's directory says where it is.")
@with_appcontext
def whoami_command(node_code: str, url: str | None):
    """Get a token from national with this node's key and ask NODE_CODE who we are."""
    node_code = node_code.upper()
    try:
        if url is None:
            if node_code == NATIONAL_CODE:
                url = national_issuer()
            else:
                found = fetch("GET", f"{national_issuer()}/registry/v1/nodes/{node_code}")
                if found.status_code != 200:
                    raise click.ClickException(f"national's directory has no node {node_code}")
                url = found.json()["public_url"]
        response = call_node(
            "GET", url.rstrip("/") + "/federation/v1/whoami", audience=node_code, scope="registry:read"
        )
    except (TokenUnavailable, FetchRefused) as error:
        raise click.ClickException(str(error)) from None
    click.echo(response.text.strip())
    if response.status_code != 200:
        raise click.ClickException(f"{node_code} answered {response.status_code} as {current_app.config['NODE_CODE']}")
