"""The input boundary: text without control characters, whole numbers, bounded ids, shallow JSON.

Every schema takes text through `Text` and integers through `WholeNumber`; one `before_request`
check refuses control characters in paths, query strings and form fields, and JSON bodies nested
deeper than MAX_JSON_DEPTH, before any view (or webargs' recursive parser) sees them. PostgreSQL
refuses NUL in text and SQLite stores it: the check must happen here, never in the database.
"""

import decimal
import math
import numbers
import re
from datetime import UTC, datetime

from flask import Flask, request
from marshmallow import ValidationError, fields
from werkzeug.routing import IntegerConverter

from .errors import DomainError
from .i18n.messages import N_

MAX_JSON_DEPTH = 64
MAX_ID = 2**31 - 1  # ids are INTEGER columns on every backend
# C0 controls, DEL and C1 controls; multi-line text may hold line breaks and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: no per-character alternation
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
CONTROL_MESSAGE = "Contains a control character (such as NUL); only printable text is allowed."
CONTROL_MESSAGE_MULTILINE = "Contains a control character (such as NUL); only printable text, line breaks and tabs."


def ascii_digits(text: str) -> bool:
    """Whether `text` is digits 0-9 only: `str.isdigit` also takes "²" and "٣", which `int` refuses."""
    return text.isascii() and text.isdigit()


def has_control(value: str, *, multiline: bool = False) -> bool:
    """Whether `value` holds a character no text field accepts (line breaks and tabs only if multi-line)."""
    return bool((_CONTROL_MULTILINE if multiline else _CONTROL).search(value))


class Text(fields.String):
    """A string without control characters; `multiline=True` lets line breaks and tabs through."""

    def __init__(self, *args, multiline: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if has_control(text, multiline=self.multiline):
            raise ValidationError(CONTROL_MESSAGE_MULTILINE if self.multiline else CONTROL_MESSAGE)
        return text


class WholeNumber(fields.Integer):
    """An integer that refuses fractions (2050.99 is an error, not 2050) and booleans.

    JSON numbers must be integral; text (query strings, forms) must be digits with an optional sign.
    """

    default_error_messages = {
        "invalid": "Not a valid integer.",
        "fraction": "Must be a whole number (an integer), without a fraction.",
    }

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str):
            if not re.fullmatch(r"\s*[+-]?[0-9]{1,30}\s*", value):
                raise self.make_error("fraction" if re.fullmatch(r"\s*[+-]?\d*\.\d+\s*", value) else "invalid")
        elif isinstance(value, float | decimal.Decimal):
            if not math.isfinite(value):
                raise self.make_error("invalid")
            if value != int(value):
                raise self.make_error("fraction")
        elif not isinstance(value, numbers.Integral):
            raise self.make_error("invalid")
        return super()._validated(value)


# Moments the program can shift by hours, days and months and still hold in a datetime (years 1-9999).
EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)


def moment_in_range(moment: datetime) -> bool:
    """Whether an aware moment lies in [EARLIEST_MOMENT, LATEST_MOMENT) (one at the edge of year 1 or 9999
    cannot even be put in UTC)."""
    try:
        return EARLIEST_MOMENT <= moment.astimezone(UTC) < LATEST_MOMENT
    except OverflowError:
        return False


class Moment(fields.AwareDateTime):
    """An RFC 3339 date-time with its offset, between 1970 and 9000 (UTC)."""

    default_error_messages = {"out_of_range": N_("Out of range: must lie between 1970-01-01 and 9000-01-01 (UTC).")}

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not moment_in_range(moment):
            raise self.make_error("out_of_range")
        return moment


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: an id beyond the INTEGER column's range matches nothing (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    for char in _JSON_STRING.sub(b'""', body).translate(None, _NOT_BRACKET):
        if char in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse(location: str, field: str, message: str) -> DomainError:
    return DomainError(f"{field}: {message}", field=field, location=location, status=400, reason="invalid_characters")


def check_request() -> None:
    """Refuse control characters in the path, query and form, and JSON nested too deeply (400)."""
    if has_control(request.path):
        named = [name for name, value in (request.view_args or {}).items() if has_control(str(value))]
        raise _refuse("path", named[0] if named else "path", CONTROL_MESSAGE)
    for name, value in request.args.items(multi=True):
        if has_control(name) or has_control(value):
            raise _refuse("query", name if not has_control(name) else "query", CONTROL_MESSAGE)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            if has_control(name) or has_control(value, multiline=True):
                raise _refuse("form", name if not has_control(name) else "form", CONTROL_MESSAGE_MULTILINE)
    if request.is_json and request.content_length != 0:
        body = request.get_data(cache=True)
        if json_depth(body) > MAX_JSON_DEPTH:
            message = f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels."
            raise DomainError(message, field="_schema", location="json", status=400, reason="too_deep")


def init_app(app: Flask) -> None:
    """Install the bounded id converter (before any blueprint) and the request check."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_request)
