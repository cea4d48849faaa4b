"""`flask demo-data`: a realistic demo catalogue for this node."""

import secrets

import click
from flask import current_app
from flask.cli import with_appcontext

from ..accounts.services import create_user, find_user
from ..db import get_db
from .demo import demo_sellers, load_demo_catalogue

# Besides the sellers, one account of each other kind, so every page can be tried.
DEMO_PEOPLE = (
    {"email": "buyer@demo.cpn.example", "role": "buyer", "name": "Zhao Min", "organization": "Hangzhou AI Lab"},
    {"email": "operator@demo.cpn.example", "role": "operator", "name": "Node Operator", "organization": ""},
)


@click.command("demo-data")
@click.option(
    "--count", default=240, show_default=True, type=click.IntRange(min=1), help="How many listings to create."
)
@click.option("--force", is_flag=True, help="Load the demo even though PUBLIC_URL is https (a real node).")
@with_appcontext
def demo_data(count: int, force: bool):
    """Load demo sellers and listings (once; a second run adds nothing)."""
    if current_app.config["PUBLIC_URL"].startswith("https://") and not force:
        raise click.ClickException(
            "this node's PUBLIC_URL is https, so it looks like a real node: demo data would add an operator and "
            "sellers to it. Add --force if this node really is a demonstration."
        )
    node_code = current_app.config["NODE_CODE"]
    # A password of this run, printed once: a published one would open every node that loaded the demo.
    password = secrets.token_urlsafe(12)
    people: list[str] = []
    with get_db().session() as session:
        created = load_demo_catalogue(session=session, node_code=node_code, password=password, count=count)
        for person in DEMO_PEOPLE:
            if find_user(session=session, email=person["email"]) is None:
                create_user(session=session, password=password, **person)
                people.append(person["email"])
        session.commit()
    if not created and not people:
        click.echo("demo data is already loaded (its password was printed when it was loaded)")
        return
    if created:
        click.echo(f"created {created} demo listings under node {node_code}")
    sellers = demo_sellers(node_code)
    emails = ([s["email"] for s in sellers[:1]] if created else []) + people
    more = f" and {len(sellers) - 1} more sellers" if created else ""
    click.echo(f"demo sign-ins: {', '.join(emails)}{more}")
    click.echo(f"demo password (shown once): {password}")
