"""The "Find capacity" page: a demand typed in yuan and China Standard Time, the offers as a comparison table."""

from decimal import Decimal, InvalidOperation

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from ..db import get_session
from ..i18n.messages import N_
from ..inputs import ascii_digits
from ..listings.latency import latency_class
from ..models.types import utcnow
from .forms import CST_OFFSET
from .match_schemas import MatchSchema
from .matching import match_demand

bp = Blueprint("matching", __name__)


def demand_from_form(args) -> tuple[dict, dict[str, list[str]]]:
    """MatchSchema's input from the page's fields (yuan, CST, comma-separated models), and the page's own errors."""
    raw: dict = {"resource_type": args.get("resource_type") or "gpu", "one_datacenter": "one_datacenter" in args}
    errors: dict[str, list[str]] = {}
    amount = args.get("amount", "").strip()
    if amount:
        if not ascii_digits(amount):
            errors["amount"] = [N_("Write a whole number, e.g. 8.")]
        else:
            raw["gpus" if raw["resource_type"] == "gpu" else "units"] = int(amount)
    models = [m.strip() for m in args.get("gpu_models", "").split(",") if m.strip()]
    if models:
        raw["gpu_models"] = models
    for name in ("start", "end"):
        value = args.get(name, "").strip()
        raw[name] = value + ":00" + CST_OFFSET if len(value) == 16 else value
    yuan = args.get("max_yuan", "").strip()
    if yuan:
        try:
            fen = Decimal(yuan) * 100
            if not fen.is_finite() or fen != fen.to_integral_value() or fen < 1:
                raise InvalidOperation
            raw["max_price_per_gpu_hour"] = int(fen)
        except (ArithmeticError, ValueError):  # InvalidOperation, Overflow (1E+100000000)
            errors["max_yuan"] = [N_("Write a price in yuan with at most two decimals, e.g. 20.50.")]
    regions = [r for r in args.getlist("regions") if r]
    if regions:
        raw["regions"] = regions
    for name in ("near_city", "max_latency_ms"):
        if args.get(name, "").strip():
            raw[name] = args[name].strip()
    return raw, errors


# The requirements whose exclusions an empty answer counts (matching._requirements), as people read them.
REQUIREMENT_LABELS = {
    "currency": _l("Currency"), "gpu_model": _l("GPU model"), "region": _l("Region"),
    "price": _l("Price ceiling"), "window": _l("Availability window and minimum rental"),
    "latency": _l("Latency to your city"), "capacity": _l("Free units in the window"),
}  # fmt: skip
_FORM_FIELD = {"gpus": "amount", "units": "amount", "max_price_per_gpu_hour": "max_yuan"}


@bp.get("/match")
def find_capacity():
    """The demand form; with a demand, the ranked offers of the whole federation's catalogue."""
    result, errors, asked = None, {}, bool(request.args)
    if asked:
        raw, errors = demand_from_form(request.args)
        if not errors:
            try:
                data = MatchSchema().load(raw)
            except ValidationError as error:
                errors = {_FORM_FIELD.get(k, k): v for k, v in error.messages.items()}
            else:
                result = match_demand(session=get_session(), demand=data["demand"])
    page = render_template("trading/match.html", result=result, errors=errors, values=request.args,
                           node_code=current_app.config["NODE_CODE"], now=utcnow(), latency_class=latency_class,
                           requirement_labels=REQUIREMENT_LABELS)  # fmt: skip
    return page, 422 if errors else 200
