"""Payment pages and Stripe's webhook: pay, paid, refund, fapiao, the seller's balance and Stripe account."""

import stripe
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from ..accounts.auth import page_role_required
from ..config import payment_providers
from ..db import about_to_write, get_session
from ..errors import DomainError, Forbidden
from ..i18n import money
from ..i18n.messages import translate_message
from ..models import Order, SellerAccount, User
from ..models.types import utcnow
from ..trading.services import can_sell, find_order, free_cancel_until
from ..trading.views import order_view
from . import ledger
from .flows import give_back, node_payments, open_checkout, sync_order
from .forms import FapiaoIssuedForm, FapiaoRequestForm, PayoutForm, RefundForm
from .services import check_refund, ensure_payment, payment_of, record_manual_refund, set_account_status
from .webhooks import receive_event, verify_event

bp = Blueprint("payments", __name__)


@bp.post("/payments/stripe/webhook")
def stripe_webhook():
    """Stripe's events: the signature checked over the raw body, each event applied once."""
    payments = node_payments(current_app)
    event = verify_event(payments, request.get_data(cache=False), request.headers.get("Stripe-Signature"))
    status, _changes = receive_event(payments, get_session(), event)
    return {"received": True, "status": status}


@bp.app_template_global()
def payment_panel(order: Order) -> dict:
    """What the order page shows of its payment: the ways to pay, the invoice, the money so far, the fapiao."""
    session, payments = get_session(), node_payments(current_app)
    sums = ledger.sums_of(session, order.id)
    return {
        "stripe": "stripe" in payment_providers(current_app.config),
        "invoice": payments.invoice.instructions(order),
        "payment": payment_of(session, order),
        "sums": sums,
        "net": ledger.net_paid(sums),
        "free_cancel_until": free_cancel_until(order, payments.free_cancel_hours),
        "now": utcnow(),
    }


def _order(code: str) -> Order:
    return find_order(session=get_session(), code=code, viewer=current_user)


def _back(order: Order):
    return redirect(url_for("trading.order_page", code=order.code))


def _refused(order: Order, message: str, errors: dict[str, list[str]], status: int = 422):
    """The order page again: the refusal on top, each field's reason beside it, what was typed kept."""
    session = get_session()
    session.rollback()
    flash(translate_message(message), "error")
    return order_view(session.get(Order, order.id), errors, status, values=request.form)


@bp.post("/payments/orders/<code>/pay")
@page_role_required()
def pay(code: str):
    """The buyer's "Pay" button: to the order's Checkout page (opened now if opening it with the hold failed)."""
    order, session = _order(code), get_session()
    if order.buyer_id != current_user.id:
        raise Forbidden(_("Only the buyer pays the order."))
    if order.status != "held" or "stripe" not in payment_providers(current_app.config):
        flash(_("This order cannot be paid online now."), "error")
        return _back(order)
    if order.payment_provider != "stripe":
        order.payment_provider = "stripe"
        session.commit()
    try:
        payment = open_checkout(node_payments(current_app), session, order)
    except stripe.StripeError:  # Stripe refused (a hold with under 30 minutes left) or did not answer
        session.rollback()
        payment = None
    if payment is None or not payment.url:
        flash(_("The payment page could not be opened; try again in a minute or pay by bank transfer."), "error")
        return _back(order)
    return redirect(payment.url)


@bp.get("/payments/orders/<code>/paid")
@page_role_required()
def paid(code: str):
    """Where Checkout sends the buyer back: the payment is read from Stripe at once, webhook or not."""
    about_to_write()
    order, session = _order(code), get_session()
    sync_order(node_payments(current_app), session, order)
    order = _order(code)
    if order.status == "confirmed":
        flash(_("Payment received: the order is confirmed."), "success")
    else:
        flash(_("Thank you: the order is confirmed as soon as Stripe reports the payment."), "success")
    return _back(order)


@bp.post("/payments/orders/<code>/refund")
@page_role_required()
def refund(code: str):
    """The seller or an operator gives back all or part of what was paid, saying why."""
    order, session, payments = _order(code), get_session(), node_payments(current_app)
    try:
        data = RefundForm().load({"amount": request.form.get("amount", ""), "reason": request.form.get("reason", "")})
    except ValidationError as error:
        return _refused(order, _("Check the refund."), {f"refund_{k}": v for k, v in error.messages.items()})
    net = ledger.net_paid(ledger.sums_of(session, order.id))
    try:
        check_refund(actor=current_user, order=order, amount=data["amount"], net=net, reason=data["reason"])
    except Forbidden:
        raise
    except DomainError as error:
        return _refused(order, error.message, {f"refund_{k}": v for k, v in error.field_errors().items()})
    payment = payment_of(session, order)
    if payment is not None and payment.provider == "stripe" and payment.charge_id:
        key = f"refund-{order.code}-{ledger.sums_of(session, order.id)['refund']}-{data['amount']}"
        try:
            give_back(payments, session, order, amount=data["amount"], key=key, note=data["reason"],
                      actor=current_user.email)  # fmt: skip
        except stripe.InvalidRequestError as error:
            # Stripe holds less than the ledger said (another refund at the same moment, or one made in its
            # dashboard): read the payment again, and say why nothing was refunded.
            session.rollback()
            sync_order(payments, session, order)
            why = _("Stripe refused the refund: %(why)s", why=error.user_message or str(error))
            return _refused(order, why, {"refund_amount": [why]}, 409)
        sync_order(payments, session, order)
    else:  # paid by bank transfer: returned the same way
        record_manual_refund(session=session, order=order, amount=data["amount"], actor=current_user,
                             reference=f"manual-refund:{order.code}:{utcnow().timestamp()}", reason=data["reason"],
                             now=utcnow())  # fmt: skip
        session.commit()
    flash(_("Refund recorded."), "success")
    return _back(order)


@bp.post("/payments/orders/<code>/fapiao")
@page_role_required()
def request_fapiao(code: str):
    """The buyer asks for a fapiao: company name and unified social credit code."""
    order, session = _order(code), get_session()
    if order.buyer_id != current_user.id:
        raise Forbidden(_("Only the buyer asks for the order's fapiao."))
    try:
        data = FapiaoRequestForm().load({"company": request.form.get("company", ""),
                                         "uscc": request.form.get("uscc", "").strip().upper()})  # fmt: skip
    except ValidationError as error:
        return _refused(order, _("Check the fapiao request."), error.messages)
    payment = ensure_payment(session, order, now=utcnow())
    payment.fapiao_company, payment.fapiao_uscc, payment.fapiao_number = data["company"], data["uscc"], None
    session.commit()
    flash(_("Fapiao requested: the seller issues it."), "success")
    return _back(order)


@bp.post("/payments/orders/<code>/fapiao/issued")
@page_role_required()
def fapiao_issued(code: str):
    """The seller records the number of the fapiao they issued."""
    order, session = _order(code), get_session()
    if not can_sell(current_user, order):
        raise Forbidden(_("Only the listing's seller or an operator records the fapiao."))
    payment = payment_of(session, order)
    if payment is None or not payment.fapiao_uscc:
        raise DomainError(_("No fapiao was requested for this order."), field="number")
    try:
        data = FapiaoIssuedForm().load({"number": request.form.get("number", "")})
    except ValidationError as error:
        return _refused(order, _("Check the fapiao number."), {"fapiao_number": error.messages["number"]})
    payment.fapiao_number = data["number"]
    session.commit()
    flash(_("Fapiao number recorded."), "success")
    return _back(order)


@bp.get("/payments/balance")
@page_role_required("seller")
def balance():
    """The seller's balance: earned, pending until the start, paid out; each order's share and commission."""
    session = get_session()
    account = session.scalars(select(SellerAccount).where(SellerAccount.user_id == current_user.id)).first()
    return render_template("payments/balance.html", balance=ledger.seller_balance(
        session=session, seller_id=current_user.id, now=utcnow()), account=account,
        stripe="stripe" in payment_providers(current_app.config))  # fmt: skip


@bp.post("/payments/connect")
@page_role_required("seller")
def connect():
    """Connect (or finish connecting) the seller's Stripe Express account: to Stripe's onboarding."""
    session, stripe = get_session(), node_payments(current_app).stripe
    if stripe is None:
        abort(404)
    account = session.scalars(select(SellerAccount).where(SellerAccount.user_id == current_user.id)).first()
    if account is None:
        account_id = stripe.create_account(email=current_user.email)
        account = SellerAccount(user_id=current_user.id, stripe_account_id=account_id, updated_at=utcnow())
        session.add(account)
        session.commit()
    return redirect(stripe.account_link(account.stripe_account_id,
                                        refresh_url=url_for("payments.balance", _external=True),
                                        return_url=url_for("payments.connected", _external=True)))  # fmt: skip


@bp.get("/payments/connect/return")
@page_role_required("seller")
def connected():
    """Back from Stripe's onboarding: the account's status, read from Stripe."""
    about_to_write()
    session, stripe = get_session(), node_payments(current_app).stripe
    account = session.scalars(select(SellerAccount).where(SellerAccount.user_id == current_user.id)).first()
    if stripe is None or account is None:
        return redirect(url_for("payments.balance"))
    account_id = account.stripe_account_id
    session.rollback()
    submitted, enabled = stripe.account_status(account_id)
    account = session.scalars(select(SellerAccount).where(SellerAccount.user_id == current_user.id)).first()
    set_account_status(account, submitted=submitted, enabled=enabled, now=utcnow())
    session.commit()
    flash(_("Stripe account connected: your shares are transferred after each order's start.") if enabled
          else _("Stripe needs more details before it pays you out."), "success" if enabled else "error")  # fmt: skip
    return redirect(url_for("payments.balance"))


@bp.route("/operator/payouts", methods=["GET", "POST"])
@page_role_required("operator")
def payouts():
    """Operators record payouts made by bank transfer, and see every seller's ledger problems."""
    session = get_session()
    if request.method == "POST":
        try:
            _record_payout(session)
        except DomainError as error:
            session.rollback()
            flash(translate_message(error.message), "error")
            return _payouts_page(session, errors=error.field_errors(), values=request.form), error.status
        session.commit()
        flash(_("Payout recorded."), "success")
        return redirect(url_for("payments.payouts"))
    return _payouts_page(session, errors={}, values={})


def _payouts_page(session, *, errors: dict, values) -> str:
    """The payout form, what each seller is owed and was paid, and the ledger's check."""
    balances = ledger.sellers_balances(session, utcnow())
    sellers = {user.id: user for user in session.scalars(select(User).where(User.id.in_([i for i, _b in balances])))}
    return render_template("payments/payouts.html", problems=ledger.unbalanced(session), errors=errors,
                           values=values, balances=[(sellers[i], b) for i, b in balances if i in sellers])  # fmt: skip


def _record_payout(session) -> None:
    """Enter the payout the form describes, or refuse it (DomainError naming the fields)."""
    try:
        data = PayoutForm().load({key: request.form.get(key, "") for key in
                                  ("seller_email", "amount", "reference", "note")})  # fmt: skip
    except ValidationError as error:
        raise DomainError(_("Check the payout."), messages=error.messages) from None
    seller = session.scalars(select(User).where(User.email == data["seller_email"].lower())).first()
    if seller is None or seller.role != "seller":
        raise DomainError(_("No seller with this email."), field="seller_email")
    reference = f"payout:{data['reference']}"
    if ledger.payout_recorded(session, reference):
        raise DomainError(_("A payout with this reference was recorded before."), field="reference")
    if data["amount"] < 1:
        raise DomainError(_("A payout is at least ¥0.01."), field="amount")
    owed = ledger.seller_balance(session=session, seller_id=seller.id, now=utcnow()).owed
    if data["amount"] > owed:
        owed_text = money(max(owed, 0), "cny")
        message = _("This seller is owed %(owed)s: a payout cannot be more.", owed=owed_text)
        raise DomainError(message, field="amount")
    ledger.enter_payout(session=session, seller_id=seller.id, amount=data["amount"], currency=ledger.PAYOUT_CURRENCY,
                        reference=reference, note=data["note"], actor=current_user.email, now=utcnow())  # fmt: skip
