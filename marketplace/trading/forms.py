"""Between the order forms on pages (units, China Standard Time whole hours) and the order schemas."""

from marshmallow import ValidationError, fields, validate

from ..models.types import CST
from .schemas import MAX_UNITS, WindowSchema

CST_OFFSET = "+08:00"


class PageWindowSchema(WindowSchema):
    """A window typed on a page: units come as text."""

    units = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=MAX_UNITS))


def window_from_form(form) -> tuple[dict, dict[str, list[str]]]:
    """(units, start, end) loaded from a form or query string, or the errors by field."""
    raw = {"units": form.get("units", "").strip()}
    for name in ("start", "end"):
        value = form.get(name, "").strip()
        if len(value) == 16:  # a datetime-local input: YYYY-MM-DDTHH:MM, China Standard Time
            value += ":00" + CST_OFFSET
        raw[name] = value
    raw = {name: value for name, value in raw.items() if value}  # an empty field is missing, not malformed
    try:
        return PageWindowSchema().load(raw), {}
    except ValidationError as error:
        return {}, error.messages


def cst_input(moment) -> str:
    """A moment as a datetime-local value in China Standard Time."""
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M")
