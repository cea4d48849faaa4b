"""Between the listing form on a page and the listing schema.

People type prices in yuan and times in China Standard Time; the schema wants
minor units and RFC 3339. Validation itself stays in the schema.
"""

import re
from datetime import date, datetime
from decimal import Decimal

from ..inputs import ascii_digits, moment_in_range
from ..models import Listing
from ..models.types import CST
from .schemas import DRAFT_OPTIONAL, MAX_PRICE
from .vocabulary import SPEC_FIELDS

CST_OFFSET = "+08:00"
_ONE_FEN = "At most two decimals: the smallest amount is one fen (0.01 yuan)."
_TEXT_FIELDS = ("title", "description", "resource_type", "region", "city", "datacenter", "currency", "price_unit")
_OPTIONAL_CHOICES = ("city_code",)  # an empty choice clears it
_NUMBER_FIELDS = ("latency_ms", "quantity", "min_hours")
_DATETIME_FIELDS = ("available_from", "available_until")
FORM_FIELD_FOR = {"unit_price": "price"}  # schema field -> form field, where they differ


def form_to_document(form) -> tuple[dict, dict[str, list[str]]]:
    """Raw schema input from a submitted form, and errors of the form's own conversions."""
    raw: dict = {}
    errors: dict[str, list[str]] = {}
    for name in _TEXT_FIELDS:
        if name in form and (form[name].strip() or name not in DRAFT_OPTIONAL):
            raw[name] = form[name].strip()  # an empty choice is no choice: a draft may leave it open
    for name in (*SPEC_FIELDS, *_NUMBER_FIELDS, *_OPTIONAL_CHOICES):
        value = form.get(name, "").strip()
        if value:
            raw[name] = value
        elif name in SPEC_FIELDS or name in _OPTIONAL_CHOICES:
            raw[name] = None  # an emptied spec field is cleared
    for name in _DATETIME_FIELDS:
        value = form.get(name, "").strip()
        if value:
            raw[name] = value + (":00" if len(value) == 16 else "") + CST_OFFSET
    price = form.get("price", "").strip()
    if price:
        amount = _amount(price)
        if amount is None:
            errors["price"] = ["Not a number; write the price in yuan, e.g. 20.50."]
        elif amount * 100 != (amount * 100).to_integral_value():
            errors["price"] = [_ONE_FEN]
        else:
            raw["unit_price"] = int(amount * 100)
    return raw, errors


def _amount(text: str) -> Decimal | None:
    """A finite decimal amount of sensible size, or None."""
    try:
        amount = Decimal(text)
        if not amount.is_finite() or abs(amount) > Decimal(MAX_PRICE) / 100:
            return None
    except ArithmeticError:  # InvalidOperation; Overflow of an exponent such as 1E+100000000
        return None
    return amount


def document_to_form(listing: Listing) -> dict[str, str]:
    """A stored listing as form values (a draft's empty fields stay empty)."""
    values: dict[str, str] = {}
    for name in (*_TEXT_FIELDS, *SPEC_FIELDS, *_NUMBER_FIELDS, *_OPTIONAL_CHOICES):
        value = getattr(listing, name)
        values[name] = "" if value is None else str(value)
    for name in _DATETIME_FIELDS:
        moment = getattr(listing, name)
        values[name] = _cst_input(moment) if moment is not None else ""
    values["price"] = f"{Decimal(listing.unit_price) / 100:.2f}" if listing.unit_price is not None else ""
    return values


def _cst_input(moment: datetime) -> str:
    local = moment.astimezone(CST)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


_WHEN = "Write a date and time in China Standard Time, e.g. 2026-12-01 08:00."
# The schema's messages are written for API clients; a person filling in the form reads these.
_PLAIN_WORDS = {
    "Missing data for required field.": "Required to publish (a draft may leave it empty).",
    "Field may not be null.": "Required to publish (a draft may leave it empty).",
    "Not a valid integer.": "Write a whole number, e.g. 8.",
    "Must be a whole number (an integer), without a fraction.": "Write a whole number, without a fraction.",
    "Not a valid number.": "Write a number, e.g. 1.5.",
    "Unknown field.": "This field is not part of a listing.",
}
_PATTERNS = (
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     lambda m: f"Must be between {_number(m[1])} and {_number(m[2])}."),
    (re.compile(r"^Must be greater than (\S+) and less than or equal to (\S+)\.$"),
     lambda m: f"Must be more than {_number(m[1])} and at most {_number(m[2])}."),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), lambda m: f"Too long: at most {_number(m[1])} characters."),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), lambda m: f"Too short: at least {m[1]} characters."),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), lambda m: f"Write {m[1]} to {m[2]} characters."),
    (re.compile(r"^Must be one of: .*"), lambda m: "Choose one of the options."),
    (re.compile(r"^(Not an RFC 3339|Missing the timezone).*"), lambda m: _WHEN),
)  # fmt: skip


def _number(text: str) -> str:
    try:
        return f"{int(text):,}"
    except ValueError:
        return text


def plain_words(message: str) -> str:
    """A schema message as a person filling in the form should read it."""
    if message in _PLAIN_WORDS:
        return _PLAIN_WORDS[message]
    for pattern, words in _PATTERNS:
        match = pattern.match(message)
        if match:
            return words(match)
    return message


def form_errors(schema_errors: dict) -> dict[str, list[str]]:
    """Schema errors keyed by the form's field names, in plain words."""
    return {
        FORM_FIELD_FOR.get(field, field): [plain_words(str(text)) for text in messages]
        for field, messages in schema_errors.items()
    }


# The search form's own fields (yuan, a CST date) and the API parameters they stand for.
SEARCH_FORM_FIELDS = {"max_yuan": "max_price", "available_on": "available_at"}


def search_form_to_args(form) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The API's query parameters (fen, RFC 3339) from a submitted search form (yuan, CST), and its errors.

    Empty fields are dropped, so the address the page redirects to holds only what was asked.
    """
    args = {name: value.strip() for name, value in form.items() if value.strip() and name not in SEARCH_FORM_FIELDS}
    errors: dict[str, list[str]] = {}
    yuan = form.get("max_yuan", "").strip()
    if yuan:
        amount = _amount(yuan)
        if amount is None or amount < 0:
            errors["max_yuan"] = ["Not an amount; write the price in yuan, e.g. 20.50."]
        elif amount * 100 != (amount * 100).to_integral_value():
            errors["max_yuan"] = [_ONE_FEN]
        else:
            args["max_price"] = str(int(amount * 100))
    day = form.get("available_on", "").strip()
    if day:
        try:
            args["available_at"] = date.fromisoformat(day).isoformat() + "T00:00:00" + CST_OFFSET
        except ValueError:
            errors["available_on"] = ["Not a date; pick one, e.g. 2026-12-01."]
    return args, errors


def search_form_values(args) -> dict[str, str]:
    """The search form's values for an address in the API's units: yuan and CST dates for people."""
    values = {name: value for name, value in args.items()}
    price = args.get("max_price", "")
    if ascii_digits(price):
        values["max_yuan"] = f"{Decimal(price) / 100:.2f}"
    moment = args.get("available_at", "")
    try:
        parsed = datetime.fromisoformat(moment)
        in_range = parsed.tzinfo is not None and moment_in_range(parsed)
        values["available_on"] = parsed.astimezone(CST).date().isoformat() if in_range else ""
    except ValueError:
        values["available_on"] = moment
    return values


def search_form_errors(errors: dict) -> dict[str, list[str]]:
    """Errors of the API's parameters, keyed by the search form's fields that stand for them."""
    form_field = {api: form for form, api in SEARCH_FORM_FIELDS.items()}
    return {form_field.get(name, name): [plain_words(str(text)) for text in texts] for name, texts in errors.items()}
