"""Checkout Sessions (mode=payment with `price_data` line items) and the hosted page a buyer pays on."""

from flask import Blueprint, redirect, render_template_string, request

from . import forms, payments
from .api import list_of, listing, params, respond, store
from .state import Store, StripeError

blueprint = Blueprint("checkout", __name__)

METHODS = ("card", "alipay", "wechat_pay")
CREATE_PARAMS = {
    "mode", "line_items", "client_reference_id", "expires_at", "success_url", "cancel_url", "payment_method_types",
    "payment_method_options", "metadata", "payment_intent_data", "customer_email", "locale", "submit_type",
}  # fmt: skip
MIN_LIFETIME, MAX_LIFETIME = 30 * 60, 24 * 60 * 60


def _line_items(state: Store, items) -> list[dict]:
    if not isinstance(items, list) or not items:
        raise forms.invalid("Missing required param: line_items.", "line_items", "parameter_missing")
    result = []
    for index, item in enumerate(items):
        name = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise forms.invalid("Invalid object", name)
        forms.only(item, {"price_data", "quantity", "price"}, name)
        if item.get("price"):
            raise forms.invalid(f"No such price: '{item['price']}'", f"{name}[price]", "resource_missing")
        price = forms.required(item, "price_data", f"{name}[price_data]")
        forms.only(price, {"currency", "unit_amount", "product_data", "product"}, f"{name}[price_data]")
        product = forms.required(price, "product_data", f"{name}[price_data][product_data]")
        forms.only(product, {"name", "description", "metadata", "images"}, f"{name}[price_data][product_data]")
        label = forms.required(product, "name", f"{name}[price_data][product_data][name]")
        unit = forms.integer(price, "unit_amount", f"{name}[price_data][unit_amount]", minimum=0)
        if unit is None:
            raise forms.invalid(f"Missing required param: {name}[price_data][unit_amount].",
                                f"{name}[price_data][unit_amount]", "parameter_missing")  # fmt: skip
        quantity = forms.integer(item, "quantity", f"{name}[quantity]", minimum=1)
        if quantity is None:
            raise forms.invalid(f"Missing required param: {name}[quantity].", f"{name}[quantity]", "parameter_missing")
        currency = forms.currency(price, "currency", f"{name}[price_data][currency]")
        result.append({
            "id": state.new_id("li"), "object": "item", "amount_discount": 0, "amount_subtotal": unit * quantity,
            "amount_tax": 0, "amount_total": unit * quantity, "currency": currency, "description": label,
            "price": {"id": state.new_id("price"), "object": "price", "currency": currency, "unit_amount": unit,
                      "product": state.new_id("prod"), "type": "one_time"},
            "quantity": quantity,
        })  # fmt: skip
    if len({item["currency"] for item in result}) > 1:
        raise forms.invalid("All line items must have the same currency.", "line_items")
    return result


def _methods(query: dict) -> list[str]:
    methods = query.get("payment_method_types") or ["card"]
    if not isinstance(methods, list):
        raise forms.invalid("Invalid array", "payment_method_types")
    for index, method in enumerate(methods):
        if method not in METHODS:
            raise forms.invalid(f"The payment method type provided: {method} is invalid. Please ensure the provided "
                                f"type is activated in your dashboard.", f"payment_method_types[{index}]")  # fmt: skip
    options = query.get("payment_method_options") or {}
    if "wechat_pay" in methods and (options.get("wechat_pay") or {}).get("client") != "web":
        raise forms.invalid("WeChat Pay requires `payment_method_options[wechat_pay][client]` to be set to `web`.",
                            "payment_method_options[wechat_pay][client]")  # fmt: skip
    return methods


def create_session(state: Store, query: dict) -> dict:
    """A new open Checkout Session, validated as Stripe validates one."""
    forms.only(query, CREATE_PARAMS)
    mode = forms.required(query, "mode")
    if mode != "payment":
        raise forms.invalid(f"Invalid mode: {mode} (this server supports mode=payment only)", "mode")
    items = _line_items(state, query.get("line_items"))
    now = state.now()
    expires_at = forms.integer(query, "expires_at")
    if expires_at is None:
        expires_at = now + MAX_LIFETIME
    elif expires_at < now + MIN_LIFETIME:
        raise forms.invalid("The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                            "expires_at")  # fmt: skip
    elif expires_at > now + MAX_LIFETIME:
        raise forms.invalid("The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                            "expires_at")  # fmt: skip
    intent_data = query.get("payment_intent_data") or {}
    forms.only(intent_data, {"metadata", "description", "transfer_group"}, "payment_intent_data")
    forms.metadata(intent_data, "metadata")  # checked now, applied when paid
    total = sum(item["amount_total"] for item in items)
    session_id = state.new_id("cs_test", 58)
    return state.add({
        "id": session_id, "object": "checkout.session", "amount_subtotal": total, "amount_total": total,
        "cancel_url": forms.string(query, "cancel_url"),
        "client_reference_id": forms.string(query, "client_reference_id", max_length=200),
        "created": now, "currency": items[0]["currency"], "customer": None, "customer_details": None,
        "customer_email": forms.string(query, "customer_email"), "expires_at": expires_at, "livemode": False,
        "locale": forms.string(query, "locale"), "metadata": forms.metadata(query), "mode": mode,
        "payment_intent": None, "payment_method_options": query.get("payment_method_options") or {},
        "payment_method_types": _methods(query), "payment_status": "unpaid", "status": "open",
        "success_url": forms.string(query, "success_url"), "url": f"{state.public_url}/c/pay/{session_id}",
        "_line_items": {"object": "list", "data": items, "has_more": False,
                        "url": f"/v1/checkout/sessions/{session_id}/line_items"},
        "_payment_intent_data": intent_data,
    })  # fmt: skip


def complete_session(state: Store, session_id: str, method: str = "card", declined: bool = False) -> dict:
    """Pay an open session: a succeeded Charge on its PaymentIntent, then `checkout.session.completed`.

    `declined`: the attempt fails (`payment_intent.payment_failed`), the session stays open with its
    PaymentIntent, and a 402 `card_error` is raised, as Stripe answers a declined card.
    """
    session = state.get("checkout.session", session_id)
    expire_due(state)
    if session["status"] != "open":
        raise StripeError(f"This Checkout Session is no longer active (status: {session['status']}).",
                          code="checkout_session_inactive")  # fmt: skip
    if method not in session["payment_method_types"]:
        raise forms.invalid(f"Payment method {method} is not offered by this session.", "payment_method")
    if session["payment_intent"] is None:
        extra = session["_payment_intent_data"]
        intent = payments.open_intent(
            state, amount=session["amount_total"], currency=session["currency"],
            methods=session["payment_method_types"], metadata=forms.metadata(extra),
            description=extra.get("description"), transfer_group=extra.get("transfer_group"))  # fmt: skip
        session["payment_intent"] = intent["id"]
    intent = state.get("payment_intent", session["payment_intent"])
    charge = payments.attempt(state, intent, method, declined)
    if declined:
        raise StripeError(payments.DECLINE["message"], type="card_error", status=402, code="card_declined",
                          decline_code="generic_decline", charge=charge["id"])  # fmt: skip
    session.update(status="complete", payment_status="paid", url=None,
                   customer_details={"email": session["customer_email"] or "buyer@example.com", "name": "Test Buyer"})
    state.emit("checkout.session.completed", session)
    return session


def expire_session(state: Store, session_id: str) -> dict:
    """Expire an open session (`checkout.session.expired`); Stripe refuses to expire any other."""
    session = state.get("checkout.session", session_id)
    if session["status"] != "open":
        raise forms.invalid(f"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout "
                            f"Session has a status of \"{session['status']}\".")  # fmt: skip
    session.update(status="expired", url=None)
    if session["payment_intent"]:  # a declined attempt left one behind
        payments.cancel_intent(state, state.get("payment_intent", session["payment_intent"]))
    state.emit("checkout.session.expired", session)
    return session


def expire_due(state: Store) -> list[dict]:
    """Expire every open session whose `expires_at` has passed on the server's clock."""
    due = state.all("checkout.session", lambda s: s["status"] == "open" and s["expires_at"] <= state.now())
    return [expire_session(state, session["id"]) for session in reversed(due)]


@blueprint.post("/v1/checkout/sessions")
def create():
    return respond(create_session(store(), params()))


@blueprint.get("/v1/checkout/sessions/<session_id>")
def retrieve(session_id):
    params()
    expire_due(store())
    return respond(store().get("checkout.session", session_id))


@blueprint.get("/v1/checkout/sessions")
def list_sessions():
    expire_due(store())
    return list_of("checkout.session", "/v1/checkout/sessions", ("payment_intent", "status"), ("customer",))


@blueprint.post("/v1/checkout/sessions/<session_id>/expire")
def expire(session_id):
    forms.only(params(), set())
    return respond(expire_session(store(), session_id))


@blueprint.get("/v1/checkout/sessions/<session_id>/line_items")
def line_items(session_id):
    query = params()
    session = store().get("checkout.session", session_id)
    return listing(session["_line_items"]["data"], f"/v1/checkout/sessions/{session_id}/line_items", query)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Checkout</title></head>
<body>
<main>
<h1>Test checkout</h1>
<p>Amount: <strong id="amount">¥{{ "%.2f"|format(session.amount_total / 100) }}</strong>
   ({{ session.currency|upper }})</p>
<ul>{% for item in session._line_items.data %}<li>{{ item.description }} × {{ item.quantity }}</li>{% endfor %}</ul>
{% if error %}<p role="alert">{{ error }}</p>{% endif %}
{% if session.status == "open" %}
<form method="post">
  <fieldset><legend>Payment method</legend>
  {% for method in session.payment_method_types %}
  <label><input type="radio" name="method" value="{{ method }}"{% if loop.first %} checked{% endif %}>
    {{ method }}</label>
  {% endfor %}</fieldset>
  <button type="submit">Pay</button>
  <button type="submit" name="decline" value="1">Use a declined test card</button>
</form>
{% if session.cancel_url %}<p><a href="{{ session.cancel_url }}">Cancel and return</a></p>{% endif %}
{% elif session.status == "complete" %}
<p>This session is already paid.</p>
{% if session.success_url %}<p><a href="{{ success }}">Return to the merchant</a></p>{% endif %}
{% else %}
<p>This Checkout Session is no longer active.</p>
{% endif %}
</main>
</body></html>"""


def _success_url(session: dict) -> str:
    return (session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", session["id"])


@blueprint.route("/c/pay/<session_id>", methods=["GET", "POST"])
def page(session_id):
    """The hosted checkout page: the amount in yuan, a Pay button, and a link back to `cancel_url`."""
    state = store()
    session = state.find("checkout.session", session_id)
    if session is None:
        return "Something went wrong: no such checkout session.", 404
    expire_due(state)
    error = None
    if request.method == "POST":
        try:
            complete_session(state, session_id, request.form.get("method", "card"), "decline" in request.form)
        except StripeError as refused:
            error = refused.message
        else:
            if session["success_url"]:
                return redirect(_success_url(session), 303)
    return render_template_string(PAGE, session=session, error=error, success=_success_url(session))
