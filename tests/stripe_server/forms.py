"""Stripe's request encoding: form fields like `line_items[0][price_data][unit_amount]` into nested values."""

import re

from .state import StripeError

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_params(fields) -> dict:
    """Nest a werkzeug MultiDict of `a[b][0][c]=v` / `a[]=v` fields; dicts keyed 0..n become lists."""
    root: dict = {}
    for key, value in fields.items(multi=True):
        match = _KEY.match(key)
        if not match:
            raise invalid(f"Invalid parameter name: {key}", key)
        path = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        node = root
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            if part == "":  # `a[]`: append at this level
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise invalid(f"Invalid parameter: {key}", key)
                node = child
    return _listify(root)


def _listify(value):
    if not isinstance(value, dict):
        return value
    items = {key: _listify(child) for key, child in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def invalid(message: str, param: str | None = None, code: str | None = None, status: int = 400) -> StripeError:
    """An `invalid_request_error`, as Stripe answers bad parameters."""
    return StripeError(message, param=param, code=code, status=status)


def only(params: dict, allowed: set[str], prefix: str = "") -> None:
    """Refuse parameters the endpoint does not know, naming the first one (Stripe does the same)."""
    for key in params:
        if key not in allowed:
            name = f"{prefix}[{key}]" if prefix else key
            raise invalid(f"Received unknown parameter: {name}", name, "parameter_unknown")


def required(params: dict, name: str, label: str | None = None):
    """The value of a parameter that must be present and non-empty."""
    value = params.get(name)
    if value in (None, "", {}, []):
        label = label or name
        raise invalid(f"Missing required param: {label}.", label, "parameter_missing")
    return value


def integer(params: dict, name: str, label: str | None = None, *, minimum: int | None = None) -> int | None:
    """An integer parameter (absent → None)."""
    value, label = params.get(name), label or name
    if value in (None, ""):
        return None
    if not re.fullmatch(r"-?\d+", str(value)):
        raise invalid(f"Invalid integer: {value}", label, "parameter_invalid_integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise invalid(f"This value must be greater than or equal to {minimum}.", label, "parameter_invalid_integer")
    return number


def boolean(params: dict, name: str, default: bool | None = False) -> bool | None:
    """A boolean parameter sent as `true`/`false`."""
    value = params.get(name)
    if value in (None, ""):
        return default
    if value not in ("true", "false"):
        raise invalid(f"Invalid boolean: {value}", name, "parameter_invalid_boolean")
    return value == "true"


def choice(params: dict, name: str, options: tuple[str, ...], label: str | None = None, default=None):
    """A parameter limited to `options`."""
    value, label = params.get(name), label or name
    if value in (None, ""):
        return default
    if value not in options:
        raise invalid(f"Invalid {label}: must be one of {', '.join(options)}", label, "parameter_invalid_string")
    return value


def string(params: dict, name: str, label: str | None = None, *, max_length: int = 5000) -> str | None:
    """A string parameter of bounded length."""
    value, label = params.get(name), label or name
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {value!r}", label, "parameter_invalid_string")
    if len(value) > max_length:
        raise invalid(f"Invalid string: must be at most {max_length} characters", label, "parameter_invalid_string")
    return value


def metadata(params: dict, name: str = "metadata", current: dict | None = None) -> dict:
    """Metadata as Stripe limits it: 50 keys, keys up to 40 and values up to 500 characters; '' unsets a key."""
    value = params.get(name)
    result = dict(current or {})
    if value in (None, ""):
        return {} if value == "" else result
    if not isinstance(value, dict):
        raise invalid("Invalid object", name, "parameter_invalid_empty")
    for key, item in value.items():
        if len(key) > 40:
            raise invalid("Metadata keys can have up to 40 characters.", f"{name}[{key}]", "parameter_invalid_string")
        if not isinstance(item, str):
            raise invalid("Invalid string: nested metadata is not allowed", f"{name}[{key}]")
        if len(item) > 500:
            raise invalid("Metadata values can have up to 500 characters.", f"{name}[{key}]",
                          "parameter_invalid_string")  # fmt: skip
        if item == "":
            result.pop(key, None)
        else:
            result[key] = item
    if len(result) > 50:
        raise invalid("You can have up to 50 metadata keys.", name)
    return result


def currency(params: dict, name: str = "currency", label: str | None = None) -> str:
    """A three-letter ISO currency code, lower-cased as Stripe returns it."""
    value = required(params, name, label)
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid(f"Invalid currency: {value}", label or name, "parameter_invalid_string")
    return value.lower()
