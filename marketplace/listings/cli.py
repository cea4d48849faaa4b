"""`flask demo-data`: a realistic demo catalogue for this node."""

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db import get_db
from .demo import DEMO_PASSWORD, DEMO_SELLERS, load_demo_catalogue


@click.command("demo-data")
@click.option(
    "--count", default=240, show_default=True, type=click.IntRange(min=1), help="How many listings to create."
)
@with_appcontext
def demo_data(count: int):
    """Load demo sellers and listings (once; a second run adds nothing)."""
    node_code = current_app.config["NODE_CODE"]
    with get_db().session() as session:
        created = load_demo_catalogue(session=session, node_code=node_code, count=count)
        session.commit()
    if created:
        click.echo(f"created {created} demo listings under node {node_code}")
    else:
        click.echo("demo data is already loaded")
    click.echo(f"demo sellers sign in with password {DEMO_PASSWORD!r}: " + ", ".join(s["email"] for s in DEMO_SELLERS))
