"""Connect: Express accounts, onboarding Account Links (with their hosted page), Transfers and reversals."""

from flask import Blueprint, redirect, render_template_string, request

from . import forms
from .api import add_retrieve, list_of, listing, params, respond, store
from .state import Store

blueprint = Blueprint("connect", __name__)
add_retrieve(blueprint, "accounts", "account")
add_retrieve(blueprint, "transfers", "transfer")

LINK_LIFETIME = 300  # seconds an Account Link can be used (Stripe: a few minutes, once)
DUE = ["business_type", "external_account", "individual.first_name", "individual.last_name", "tos_acceptance.date"]


def create_account(state: Store, query: dict) -> dict:
    """A new connected account, not yet onboarded (nothing enabled, requirements due)."""
    forms.only(query, {"type", "country", "email", "capabilities", "business_type", "metadata", "default_currency",
                       "business_profile"})  # fmt: skip
    kind = forms.choice(query, "type", ("express", "standard", "custom"), default="express")
    capabilities = query.get("capabilities") or {}
    forms.only(capabilities, {"transfers", "card_payments"}, "capabilities")
    return state.add({
        "id": state.new_id("acct", 16), "object": "account", "type": kind, "business_type": query.get("business_type"),
        "capabilities": {name: "inactive" for name in capabilities} or {"transfers": "inactive"},
        "charges_enabled": False, "country": (query.get("country") or "US").upper(), "created": state.now(),
        "default_currency": query.get("default_currency") or "usd", "details_submitted": False,
        "email": forms.string(query, "email"), "metadata": forms.metadata(query), "payouts_enabled": False,
        "requirements": {"currently_due": list(DUE), "eventually_due": list(DUE), "past_due": [],
                         "disabled_reason": "requirements.past_due"},
    })  # fmt: skip


def onboard(state: Store, account_id: str) -> dict:
    """Finish onboarding: details submitted, charges and payouts enabled, capabilities active (`account.updated`)."""
    account = state.get("account", account_id)
    state.change("account.updated", account, details_submitted=True, charges_enabled=True, payouts_enabled=True,
                 capabilities={name: "active" for name in account["capabilities"]},
                 requirements={"currently_due": [], "eventually_due": [], "past_due": [], "disabled_reason": None})
    return account


@blueprint.post("/v1/accounts")
def create_account_view():
    return respond(create_account(store(), params()))


@blueprint.get("/v1/accounts")
def list_accounts():
    return list_of("account", "/v1/accounts")


@blueprint.post("/v1/account_links")
def create_account_link():
    state, query = store(), params()
    forms.only(query, {"account", "type", "refresh_url", "return_url", "collect", "collection_options"})
    account = state.get("account", forms.required(query, "account"), "account")
    forms.required(query, "type")
    kind = forms.choice(query, "type", ("account_onboarding", "account_update"))
    token = state.new_id("link", 24)
    state.add({
        "id": token, "object": "_account_link", "account": account["id"], "used": False,
        "refresh_url": forms.required(query, "refresh_url"), "return_url": forms.required(query, "return_url"),
        "expires_at": state.now() + LINK_LIFETIME, "type": kind,
    })  # fmt: skip
    return respond({"object": "account_link", "created": state.now(), "expires_at": state.now() + LINK_LIFETIME,
                    "url": f"{state.public_url}/setup/e/{token}"})  # fmt: skip


ONBOARDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Onboarding</title></head>
<body><main><h1>Test onboarding</h1>
<p>Account <code>{{ account.id }}</code>{% if account.email %} ({{ account.email }}){% endif %}</p>
<form method="post"><button type="submit">Submit</button></form>
<p><a href="{{ link.refresh_url }}">Leave</a></p>
</main></body></html>"""


@blueprint.route("/setup/e/<token>", methods=["GET", "POST"])
def onboarding_page(token):
    """The hosted onboarding form; a used or expired link sends the user to `refresh_url`, as Stripe does."""
    state = store()
    link = state.find("_account_link", token)
    if link is None:
        return "This link is invalid.", 404
    if link["used"] or link["expires_at"] <= state.now():
        return redirect(link["refresh_url"], 303)
    if request.method == "POST":
        link["used"] = True
        onboard(state, link["account"])
        return redirect(link["return_url"], 303)
    return render_template_string(ONBOARDING, account=state.get("account", link["account"]), link=link)


def _available(state: Store, currency: str) -> int:
    """The platform's balance in `currency`: charges less refunds and transfers (no fees here)."""
    charged = sum(c["amount"] - c["amount_refunded"] for c in state.all("charge") if c["currency"] == currency)
    sent = sum(t["amount"] - t["amount_reversed"] for t in state.all("transfer") if t["currency"] == currency)
    return charged - sent


def create_transfer(state: Store, query: dict) -> dict:
    """Move money to a connected account, optionally funded by a charge (`source_transaction`)."""
    forms.only(query, {"amount", "currency", "destination", "source_transaction", "transfer_group", "metadata",
                       "description"})  # fmt: skip
    amount = forms.integer(query, "amount", minimum=1)
    if amount is None:
        raise forms.invalid("Missing required param: amount.", "amount", "parameter_missing")
    currency = forms.currency(query)
    account = state.find("account", forms.required(query, "destination"))
    if account is None:
        raise forms.invalid(f"No such destination: '{query['destination']}'", "destination", "resource_missing")
    if account["capabilities"].get("transfers") != "active":
        raise forms.invalid("Your destination account needs to have at least one of the following capabilities "
                            "enabled: transfers, crypto_transfers, legacy_payments", "destination",
                            "insufficient_capabilities_for_transfer")  # fmt: skip
    if source_id := query.get("source_transaction"):
        charge = state.get("charge", source_id, "source_transaction")
        if charge["currency"] != currency:
            raise forms.invalid("The currency of source_transaction's balance transaction must match the transfer "
                                "currency.", "currency")  # fmt: skip
        used = sum(t["amount"] for t in state.all("transfer", lambda t: t["source_transaction"] == source_id))
        if amount > charge["amount"] - charge["amount_refunded"] - used:
            raise forms.invalid("Transfer amount exceeds the available amount of the source_transaction.",
                                "amount", "balance_insufficient")  # fmt: skip
    elif amount > _available(state, currency):
        raise forms.invalid("You have insufficient available funds in your Stripe account.", None,
                            "balance_insufficient")  # fmt: skip
    transfer_id = state.new_id("tr")
    transfer = state.add({
        "id": transfer_id, "object": "transfer", "amount": amount, "amount_reversed": 0,
        "balance_transaction": state.new_id("txn"), "created": state.now(), "currency": currency,
        "description": forms.string(query, "description"), "destination": account["id"],
        "destination_payment": state.new_id("py"), "livemode": False, "metadata": forms.metadata(query),
        "reversals": {"object": "list", "data": [], "has_more": False, "url": f"/v1/transfers/{transfer_id}/reversals"},
        "reversed": False, "source_transaction": source_id or None, "source_type": "card",
        "transfer_group": forms.string(query, "transfer_group"),
    })  # fmt: skip
    state.emit("transfer.created", transfer)
    return transfer


def reverse_transfer(state: Store, transfer_id: str, query: dict) -> dict:
    """Take back all or part of a transfer (`transfer.reversed`)."""
    forms.only(query, {"amount", "metadata", "description", "refund_application_fee"})
    transfer = state.get("transfer", transfer_id)
    left = transfer["amount"] - transfer["amount_reversed"]
    amount = forms.integer(query, "amount", minimum=1)
    amount = left if amount is None else amount
    if left == 0 or amount > left:
        raise forms.invalid(f"Amount exceeds the amount left on the transfer ({left}).", "amount",
                            "transfer_reversal_amount_exceeded" if left else "transfer_already_reversed")  # fmt: skip
    reversal = state.add({
        "id": state.new_id("trr"), "object": "transfer_reversal", "amount": amount,
        "balance_transaction": state.new_id("txn"), "created": state.now(), "currency": transfer["currency"],
        "destination_payment_refund": state.new_id("pyr"), "metadata": forms.metadata(query),
        "source_refund": None, "transfer": transfer["id"],
    })  # fmt: skip
    transfer["reversals"]["data"].insert(0, reversal)
    state.change("transfer.reversed", transfer, amount_reversed=transfer["amount_reversed"] + amount,
                 reversed=amount == left)  # fmt: skip
    return reversal


@blueprint.post("/v1/transfers")
def create_transfer_view():
    return respond(create_transfer(store(), params()))


@blueprint.get("/v1/transfers")
def list_transfers():
    return list_of("transfer", "/v1/transfers", ("destination", "transfer_group"))


@blueprint.post("/v1/transfers/<transfer_id>/reversals")
def create_reversal(transfer_id):
    return respond(reverse_transfer(store(), transfer_id, params()))


@blueprint.get("/v1/transfers/<transfer_id>/reversals")
def list_reversals(transfer_id):
    query = params()
    transfer = store().get("transfer", transfer_id)
    return listing(transfer["reversals"]["data"], f"/v1/transfers/{transfer_id}/reversals", query)


@blueprint.get("/v1/transfers/<transfer_id>/reversals/<reversal_id>")
def retrieve_reversal(transfer_id, reversal_id):
    params()
    store().get("transfer", transfer_id)
    return respond(store().get("transfer_reversal", reversal_id))
