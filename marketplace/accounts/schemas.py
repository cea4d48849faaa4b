"""Sign-up, sign-in and token forms as marshmallow schemas."""

from marshmallow import Schema, fields, validate

from ..inputs import Text
from ..models.account import ROLES

SIGNUP_ROLES = ("seller", "buyer")  # operators are made from the command line only
MIN_PASSWORD = 10


class AccountSchema(Schema):
    """A new account of any role (operators' command line)."""

    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = Text(
        required=True,
        load_only=True,
        validate=validate.Length(min=MIN_PASSWORD, max=200, error="Use {min} to {max} characters."),
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    organization = Text(load_default="", validate=validate.Length(max=200))


class SignupSchema(AccountSchema):
    """A new account made on the sign-up page: sellers and buyers only."""

    role = fields.String(required=True, validate=validate.OneOf(SIGNUP_ROLES))


class LoginSchema(Schema):
    """Email and password."""

    email = Text(required=True, validate=validate.Length(min=1, max=254))
    password = Text(required=True, validate=validate.Length(min=1, max=200))


class TokenNameSchema(Schema):
    """A name for a new API token."""

    name = Text(required=True, validate=validate.Length(min=1, max=100))
