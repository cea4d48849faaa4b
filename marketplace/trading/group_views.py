"""The page side of order groups: "Reserve" on an offer posts its parts here (a form, with CSRF).

Form fields, for each part N from 0: `parts-N-listing_code`, `parts-N-units`, `parts-N-start`, `parts-N-end`
(RFC 3339, or a datetime-local value in China Standard Time), and `next`: the page to return to on a refusal.
"""

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..accounts.auth import page_role_required
from ..accounts.views import safe_next
from ..db import get_session
from ..errors import DomainError
from ..i18n import _
from ..i18n.messages import translate_message
from ..inputs import ascii_digits
from ..models.types import utcnow
from .forms import window_from_form
from .groups import Placement, group_document, place_order_group
from .groups_api import refusal_of
from .remote_schemas import MAX_PARTS, group_fingerprint

bp = Blueprint("order_groups", __name__)


def parts_from_form(form) -> tuple[list[dict], dict]:
    """The parts a form posts, loaded like an order form's window; (parts, errors by part)."""
    parts, errors = [], {}
    for index in range(MAX_PARTS + 1):
        prefix = f"parts-{index}-"
        if prefix + "listing_code" not in form:
            break
        if index == MAX_PARTS:
            errors["parts"] = [_("At most %(count)s parts.", count=MAX_PARTS)]
            break
        window, problems = window_from_form({name: form.get(prefix + name, "") for name in ("units", "start", "end")})
        code = form.get(prefix + "listing_code", "").strip()
        if not code or len(code) > 40:
            problems = problems | {"listing_code": ["Missing data for required field."]}
        expected = form.get(prefix + "expected_total", "").strip()  # the offer's price: held only at that price
        if expected and not (ascii_digits(expected) and len(expected) <= 15):
            problems = problems | {"expected_total": ["Not a valid integer."]}
        if problems:
            errors[index] = problems
        else:
            parts.append(window | {"listing_code": code} | ({"expected_total": int(expected)} if expected else {}))
    if not parts and not errors:
        errors["parts"] = ["Missing data for required field."]
    return parts, errors


def _summary(errors: dict) -> str:
    lines = []
    for where, problems in errors.items():
        texts = problems if isinstance(problems, list) else [
            f"{field}: {' '.join(translate_message(t) for t in messages)}" for field, messages in problems.items()]
        label = _("part %(number)s", number=where + 1) if isinstance(where, int) else where
        lines.append(f"{label}: {'; '.join(translate_message(t) for t in texts)}")
    return "; ".join(lines)


@bp.get("/order-groups")
@page_role_required("buyer")
def groups_page():
    """Offers held together are listed on "My orders"."""
    return redirect(url_for("trading.my_orders", _anchor="groups"))


@bp.post("/order-groups")
@page_role_required("buyer")
def reserve_group():
    """Hold every part of an offer, or none; then "My orders", or back to the offer with why."""
    back = safe_next(request.form.get("next")) or url_for("listings.search")
    parts, errors = parts_from_form(request.form)
    if errors:
        flash(_("The offer could not be reserved: %(problem)s", problem=_summary(errors)), "error")
        return redirect(back)
    session, config = get_session(), current_app.config
    placement = Placement(node_code=config["NODE_CODE"], hold_seconds=config["ORDER_HOLD_SECONDS"], now=utcnow())
    try:
        group, _new = place_order_group(session=session, buyer=current_user, parts=parts, key=None,
                                        fingerprint=group_fingerprint({"parts": parts}),
                                        placement=placement)  # fmt: skip
    except DomainError as error:
        session.rollback()
        flash(translate_message(error.message), "error")
        return redirect(back)
    document = group_document(session, group)
    if group.status == "failed":
        flash(translate_message(refusal_of(document).message), "error")
        return redirect(back)
    flash(_("All %(count)s parts of the offer are held for you.", count=len(parts)), "success")
    return redirect(url_for("trading.my_orders"))
