"""`flask demo-data`: a realistic demo catalogue for this node."""

import click
from flask import current_app
from flask.cli import with_appcontext

from ..accounts.services import create_user, find_user
from ..db import get_db
from .demo import DEMO_PASSWORD, demo_sellers, load_demo_catalogue

# Besides the sellers, one account of each other kind, so every page can be tried.
DEMO_PEOPLE = (
    {"email": "buyer@demo.cpn.example", "role": "buyer", "name": "Zhao Min", "organization": "Hangzhou AI Lab"},
    {"email": "operator@demo.cpn.example", "role": "operator", "name": "Node Operator", "organization": ""},
)


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
        for person in DEMO_PEOPLE:
            if find_user(session=session, email=person["email"]) is None:
                create_user(session=session, password=DEMO_PASSWORD, **person)
        session.commit()
    if created:
        click.echo(f"created {created} demo listings under node {node_code}")
    else:
        click.echo("demo data is already loaded")
    sellers = demo_sellers(node_code)
    emails = [s["email"] for s in sellers[:1]] + [p["email"] for p in DEMO_PEOPLE]
    more = len(sellers) - 1
    click.echo(f"demo sign-ins (password {DEMO_PASSWORD}): {', '.join(emails)} and {more} more sellers")
