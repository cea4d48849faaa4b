"""PaymentIntents and Charges (made by paid Checkout Sessions) and Refunds."""

from flask import Blueprint

from . import forms
from .api import created_filter, listing, params, respond, store
from .state import Store

blueprint = Blueprint("payments", __name__)


def _yuan(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


def collect(state: Store, *, amount: int, currency: str, method: str, metadata: dict, description=None,
            transfer_group=None) -> tuple[dict, dict]:  # fmt: skip
    """A succeeded PaymentIntent and its Charge, as a completed payment leaves them (with their events)."""
    now = state.now()
    intent = state.add({
        "id": state.new_id("pi"), "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_received": 0, "canceled_at": None, "capture_method": "automatic", "created": now,
        "currency": currency, "customer": None, "description": description, "latest_charge": None,
        "livemode": False, "metadata": metadata, "payment_method": state.new_id("pm"),
        "payment_method_types": [method], "status": "processing", "transfer_group": transfer_group,
    })  # fmt: skip
    state.emit("payment_intent.created", intent)
    charge = state.add({
        "id": state.new_id("ch"), "object": "charge", "amount": amount, "amount_captured": amount,
        "amount_refunded": 0, "balance_transaction": state.new_id("txn"), "captured": True, "created": now,
        "currency": currency, "description": description, "disputed": False, "failure_code": None,
        "failure_message": None, "livemode": False, "metadata": metadata, "outcome": {"type": "authorized"},
        "paid": True, "payment_intent": intent["id"], "payment_method": intent["payment_method"],
        "payment_method_details": {"type": method, method: {}}, "refunded": False, "status": "succeeded",
        "transfer_group": transfer_group,
    })  # fmt: skip
    intent.update(status="succeeded", amount_received=amount, latest_charge=charge["id"])
    state.emit("charge.succeeded", charge)
    state.emit("payment_intent.succeeded", intent)
    return intent, charge


def refund(state: Store, query: dict) -> dict:
    """Refund all or part of what is left of a charge (named directly or through its PaymentIntent)."""
    forms.only(query, {"charge", "payment_intent", "amount", "metadata", "reason", "instructions_email"})
    if query.get("charge") and query.get("payment_intent"):
        raise forms.invalid("You can only specify one of these parameters: charge, payment_intent.", "charge")
    if intent_id := query.get("payment_intent"):
        intent = state.get("payment_intent", intent_id, "payment_intent")
        if not intent["latest_charge"]:
            raise forms.invalid(f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                                "payment_intent", "charge_not_refundable")  # fmt: skip
        charge = state.get("charge", intent["latest_charge"])
    elif charge_id := query.get("charge"):
        charge = state.get("charge", charge_id, "charge")
    else:
        raise forms.invalid("One of the following params should be provided for this request: payment_intent or "
                            "charge.", "charge", "parameter_missing")  # fmt: skip
    left = charge["amount"] - charge["amount_refunded"]
    if left == 0:
        raise forms.invalid(f"Charge {charge['id']} has already been refunded.", None, "charge_already_refunded")
    amount = forms.integer(query, "amount", minimum=1)
    amount = left if amount is None else amount
    if amount > left:
        raise forms.invalid(f"Refund amount ({_yuan(amount, charge['currency'])}) is greater than unrefunded amount "
                            f"on charge ({_yuan(left, charge['currency'])})", "amount", "amount_too_large")  # fmt: skip
    reason = forms.choice(query, "reason", ("duplicate", "fraudulent", "requested_by_customer"))
    created = state.add({
        "id": state.new_id("re"), "object": "refund", "amount": amount, "balance_transaction": state.new_id("txn"),
        "charge": charge["id"], "created": state.now(), "currency": charge["currency"],
        "metadata": forms.metadata(query), "payment_intent": charge["payment_intent"], "reason": reason,
        "status": "succeeded",
    })  # fmt: skip
    state.emit("refund.created", created)
    refunded = charge["amount_refunded"] + amount
    state.change("charge.refunded", charge, amount_refunded=refunded, refunded=refunded == charge["amount"])
    return created


@blueprint.get("/v1/payment_intents/<intent_id>")
def retrieve_payment_intent(intent_id):
    params()
    return respond(store().get("payment_intent", intent_id))


@blueprint.get("/v1/payment_intents")
def list_payment_intents():
    query = params()
    forms.only(query, {"limit", "starting_after", "ending_before", "created", "customer"})
    return listing(store().all("payment_intent", created_filter(query)), "/v1/payment_intents", query)


@blueprint.get("/v1/charges/<charge_id>")
def retrieve_charge(charge_id):
    params()
    return respond(store().get("charge", charge_id))


@blueprint.get("/v1/charges")
def list_charges():
    query = params()
    forms.only(query, {"limit", "starting_after", "ending_before", "created", "payment_intent", "transfer_group"})

    def where(charge):
        return all(charge[key] == query[key] for key in ("payment_intent", "transfer_group") if query.get(key))

    return listing(store().all("charge", lambda c: where(c) and created_filter(query)(c)), "/v1/charges", query)


@blueprint.post("/v1/refunds")
def create_refund():
    return respond(refund(store(), params()))


@blueprint.get("/v1/refunds/<refund_id>")
def retrieve_refund(refund_id):
    params()
    return respond(store().get("refund", refund_id))


@blueprint.get("/v1/refunds")
def list_refunds():
    query = params()
    forms.only(query, {"limit", "starting_after", "ending_before", "created", "charge", "payment_intent"})

    def where(item):
        return all(item[key] == query[key] for key in ("charge", "payment_intent") if query.get(key))

    return listing(store().all("refund", lambda r: where(r) and created_filter(query)(r)), "/v1/refunds", query)
