"""Between the flat application form on a page and the nested application document (PROTOCOL.md §7).

People type the registered capital with separators and paste the JWKS as text;
the schema wants an integer and an object. Validation itself stays in the schemas.
"""

import json

from marshmallow import Schema, fields, validate

from ..inputs import MAX_JSON_DEPTH, json_depth
from ..models.registry import NODE_STATUSES
from .schemas import StatusChangeSchema

_TOP_FIELDS = ("role", "requested_code", "province", "industry", "parent", "public_url")
_OPTIONAL = ("province", "industry")  # an empty select means "none", not "missing"
_UPPER = ("requested_code", "parent")  # node codes are written upper-case; people may type r44
# flat form field -> (document member, member of that nested object)
NESTED_FIELDS = {
    "construction_name": ("construction_entity", "name"),
    "registered_capital_cny": ("construction_entity", "registered_capital_cny"),
    "operating_name": ("operating_entity", "name"),
    "telecom_licence": ("operating_entity", "telecom_licence"),
    "contact_name": ("contact", "name"),
    "contact_email": ("contact", "email"),
    "contact_phone": ("contact", "phone"),
}
_FLAT_NAME = {path: name for name, path in NESTED_FIELDS.items()}
MAX_JWKS_CHARS = 20_000
_CAPITAL_SEPARATORS = str.maketrans("", "", ", _'")


def form_to_document(form) -> tuple[dict, dict[str, list[str]]]:
    """Raw ApplicationSchema input from a submitted form, and errors of the form's own conversions."""
    raw: dict = {}
    errors: dict[str, list[str]] = {}
    for name in _TOP_FIELDS:
        value = form.get(name, "").strip()
        if name in _UPPER:
            value = value.upper()
        if value or name in _OPTIONAL:
            raw[name] = value or None
    for name, (outer, inner) in NESTED_FIELDS.items():
        nested = raw.setdefault(outer, {})  # present, so a missing member is reported beside its own field
        value = form.get(name, "").strip()
        if name == "registered_capital_cny" and value:
            value = _capital(value)
            if value is None:
                errors[name] = ["Write the registered capital in whole yuan, e.g. 80,000,000."]
                continue
        if value != "":
            nested[inner] = value
    text = form.get("jwks", "").strip()
    if len(text) > MAX_JWKS_CHARS:
        errors["jwks"] = [f"At most {MAX_JWKS_CHARS:,} characters."]
    elif text and json_depth(text.encode()) > MAX_JSON_DEPTH:  # the parser would recurse that deep
        errors["jwks"] = [f"Nests arrays or objects deeper than {MAX_JSON_DEPTH} levels: not a JWKS."]
    elif text:
        try:
            raw["jwks"] = json.loads(text)
        except json.JSONDecodeError as error:
            errors["jwks"] = [f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."]
    return raw, errors


def _capital(text: str) -> int | None:
    """Whole yuan from '80,000,000' or '80 000 000'; None when it is not a whole number."""
    digits = text.translate(_CAPITAL_SEPARATORS)
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else None


def form_errors(schema_errors: dict) -> dict[str, list[str]]:
    """ApplicationSchema errors (nested for the entities and the contact) keyed by the form's field names."""
    flat: dict[str, list[str]] = {}
    for name, messages in schema_errors.items():
        if isinstance(messages, dict):
            for inner, inner_messages in messages.items():
                flat.setdefault(_FLAT_NAME.get((name, inner), name), []).extend(_as_list(inner_messages))
        else:
            flat.setdefault(name, []).extend(_as_list(messages))
    return flat


def _as_list(messages) -> list[str]:
    if isinstance(messages, dict):  # deeper nesting: say where, keep every message
        return [f"{key}: {text}" for key, value in messages.items() for text in _as_list(value)]
    return [str(message) for message in messages] if isinstance(messages, list) else [str(messages)]


class NodeStatusForm(StatusChangeSchema):
    """An operator's suspend or reactivate form: the new status and why."""

    status = fields.String(required=True, validate=validate.OneOf(NODE_STATUSES))


class AccessTokenForm(Schema):
    """The small form that opens an application with its access token."""

    access_token = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages={"required": "Enter the access token you were given at submission."},
    )
