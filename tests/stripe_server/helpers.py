"""Parameters the node would send, shared by the server's own tests."""

import time


def session_params(**overrides) -> dict:
    """A valid Checkout Session for one line item of ¥123.45 × 2, expiring in an hour."""
    params = {
        "mode": "payment",
        "line_items": [{"price_data": {"currency": "cny", "unit_amount": 12345, "product_data": {"name": "GPU hours"}},
                        "quantity": 2}],
        "client_reference_id": "ORD-1",
        "expires_at": int(time.time()) + 3600,
        "success_url": "http://node.test/orders/ORD-1/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://node.test/orders/ORD-1",
        "payment_method_types": ["card", "alipay", "wechat_pay"],
        "payment_method_options": {"wechat_pay": {"client": "web"}},
        "metadata": {"order": "ORD-1"},
        "payment_intent_data": {"metadata": {"order": "ORD-1"}},
    }  # fmt: skip
    return params | overrides


def paid_session(server, client, **overrides):
    """A session created through the API and paid by the buyer; the session as the API then shows it."""
    session = client.v1.checkout.sessions.create(params=session_params(**overrides))
    server.pay(session.id)
    return client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
