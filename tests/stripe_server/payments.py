"""PaymentIntents and Charges (made by paid Checkout Sessions) and Refunds."""

from flask import Blueprint

from . import forms
from .api import add_retrieve, list_of, params, respond, store
from .state import Store

blueprint = Blueprint("payments", __name__)
add_retrieve(blueprint, "payment_intents", "payment_intent")
add_retrieve(blueprint, "charges", "charge")
add_retrieve(blueprint, "refunds", "refund")


def _yuan(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


DECLINE = {"code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."}


def open_intent(state: Store, *, amount: int, currency: str, methods: list[str], metadata: dict, description=None,
                transfer_group=None) -> dict:  # fmt: skip
    """A PaymentIntent waiting for its first attempt (Checkout makes one when the buyer first submits)."""
    intent = state.add({
        "id": state.new_id("pi"), "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_received": 0, "canceled_at": None, "cancellation_reason": None, "capture_method": "automatic",
        "created": state.now(), "currency": currency, "customer": None, "description": description,
        "last_payment_error": None, "latest_charge": None, "livemode": False, "metadata": metadata,
        "payment_method": None, "payment_method_types": methods, "status": "requires_payment_method",
        "transfer_group": transfer_group,
    })  # fmt: skip
    state.emit("payment_intent.created", intent)
    return intent


def attempt(state: Store, intent: dict, method: str, declined: bool = False) -> dict:
    """Charge the intent once with `method`: succeeded, or declined (the intent then waits for another try)."""
    amount = intent["amount"]
    charge = state.add({
        "id": state.new_id("ch"), "object": "charge", "amount": amount, "amount_captured": 0 if declined else amount,
        "amount_refunded": 0, "balance_transaction": None if declined else state.new_id("txn"),
        "captured": not declined, "created": state.now(), "currency": intent["currency"],
        "description": intent["description"], "disputed": False,
        "failure_code": DECLINE["code"] if declined else None,
        "failure_message": DECLINE["message"] if declined else None, "livemode": False,
        "metadata": dict(intent["metadata"]), "outcome": {"type": "issuer_declined" if declined else "authorized"},
        "paid": not declined, "payment_intent": intent["id"], "payment_method": state.new_id("pm"),
        "payment_method_details": {"type": method, method: {}}, "refunded": False,
        "status": "failed" if declined else "succeeded", "transfer_group": intent["transfer_group"],
    })  # fmt: skip
    intent.update(latest_charge=charge["id"], payment_method=charge["payment_method"])
    if declined:
        intent.update(status="requires_payment_method", last_payment_error=DECLINE | {"charge": charge["id"]})
        state.emit("charge.failed", charge)
        state.emit("payment_intent.payment_failed", intent)
    else:
        intent.update(status="succeeded", amount_received=amount, last_payment_error=None)
        state.emit("charge.succeeded", charge)
        state.emit("payment_intent.succeeded", intent)
    return charge


def cancel_intent(state: Store, intent: dict, reason: str = "abandoned") -> None:
    """Cancel an intent that never succeeded (`payment_intent.canceled`), as an expiring session does."""
    state.change("payment_intent.canceled", intent, status="canceled", canceled_at=state.now(),
                 cancellation_reason=reason)  # fmt: skip


def refund(state: Store, query: dict) -> dict:
    """Refund all or part of what is left of a charge (named directly or through its PaymentIntent)."""
    forms.only(query, {"charge", "payment_intent", "amount", "metadata", "reason", "instructions_email"})
    if query.get("charge") and query.get("payment_intent"):
        raise forms.invalid("You can only specify one of these parameters: charge, payment_intent.", "charge")
    if intent_id := query.get("payment_intent"):
        intent = state.get("payment_intent", intent_id, "payment_intent")
        if intent["status"] != "succeeded":
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


@blueprint.get("/v1/payment_intents")
def list_payment_intents():
    return list_of("payment_intent", "/v1/payment_intents", accepted=("customer",))


@blueprint.get("/v1/charges")
def list_charges():
    return list_of("charge", "/v1/charges", ("payment_intent", "transfer_group"))


@blueprint.post("/v1/refunds")
def create_refund():
    return respond(refund(store(), params()))


@blueprint.get("/v1/refunds")
def list_refunds():
    return list_of("refund", "/v1/refunds", ("charge", "payment_intent"))
