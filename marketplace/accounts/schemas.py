"""Sign-up, sign-in and token forms as marshmallow schemas."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..inputs import Text
from ..models.account import ROLES
from .passwords import weak_password_message

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

    @validates_schema(skip_on_field_errors=True)
    def _strong_password(self, data: dict, **_kw) -> None:
        message = weak_password_message(
            data["password"], user_inputs=[data["email"], data["name"], data.get("organization", "")]
        )
        if message:
            raise ValidationError(message, "password")


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


class PasswordChangeSchema(Schema):
    """The current password, and a new one that is hard to guess."""

    current_password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(
        required=True,
        validate=validate.Length(min=MIN_PASSWORD, max=200, error="Use {min} to {max} characters."),
    )

    @validates_schema(skip_on_field_errors=True)
    def _strong_password(self, data: dict, **_kw) -> None:
        if data["new_password"] == data["current_password"]:
            raise ValidationError("Choose a password different from the current one.", "new_password")
        message = weak_password_message(data["new_password"], user_inputs=self.user_inputs)
        if message:
            raise ValidationError(message, "new_password")

    def __init__(self, *, user_inputs: list[str] = (), **kwargs):
        super().__init__(**kwargs)
        self.user_inputs = list(user_inputs)
