"""`flask users create` and `flask tokens create`: accounts from the command line."""

import click
from flask.cli import with_appcontext
from marshmallow import ValidationError

from ..db import get_db
from ..errors import DomainError
from ..models.account import ROLES
from .schemas import AccountSchema
from .services import DuplicateEmail, create_api_token, create_user, find_user, set_review_scope


@click.group("users")
def users_cli():
    """Accounts of this node."""


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default=None, help="Shown to buyers; defaults to the email's local part.")
@click.option("--org", "organization", default="", help="Organization shown beside the name.")
@click.option("--scope", default=None, help="A local reviewer's province (e.g. 44) or industry section (e.g. J).")
@with_appcontext
def create_user_command(email, role, password, name, organization, scope):
    """Create an account."""
    raw = {"email": email, "password": password, "role": role,
           "name": name or email.split("@")[0], "organization": organization}  # fmt: skip
    try:
        data = AccountSchema().load(raw)
    except ValidationError as error:
        for field, messages in error.messages.items():
            click.echo(f"error: {field}: {' '.join(messages)}", err=True)
        raise SystemExit(2) from None
    with get_db().session() as session:
        try:
            user = create_user(session=session, **data)
        except DuplicateEmail:
            raise click.ClickException(f"an account with email {data['email']} exists already") from None
        if scope is not None:
            _set_scope(session, user, scope)
        session.commit()
        click.echo(f"created {user.role} {user.email} (id {user.id})" + (f", reviews {scope}" if scope else ""))


@users_cli.command("scope")
@click.argument("email")
@click.argument("scope")
@with_appcontext
def scope_command(email, scope):
    """Charge local reviewer EMAIL with the applications of province SCOPE (e.g. 44) or industry SCOPE (e.g. J)."""
    with get_db().session() as session:
        user = find_user(session=session, email=email)
        if user is None:
            raise click.ClickException(f"no account with email {email}")
        _set_scope(session, user, scope)
        session.commit()
        click.echo(f"{user.email} reviews {user.review_scope}")


def _set_scope(session, user, scope: str) -> None:
    try:
        set_review_scope(session=session, user=user, scope=scope)
    except DomainError as error:
        raise click.ClickException(error.message) from None


@click.group("tokens")
def tokens_cli():
    """Personal API tokens."""


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="cli", help="A name to tell the token apart on the tokens page.")
@with_appcontext
def create_token_command(email, name):
    """Create an API token for EMAIL and print it as the last line."""
    with get_db().session() as session:
        user = find_user(session=session, email=email)
        if user is None:
            raise click.ClickException(f"no account with email {email}")
        plain, _token = create_api_token(session=session, user=user, name=name)
        session.commit()
    click.echo(f"API token for {user.email} (shown once; keep it secret):")
    click.echo(plain)
