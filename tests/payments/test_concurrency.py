"""On PostgreSQL: one Stripe event delivered five times at the same moment, in real concurrent transactions."""

import os

import pytest
from sqlalchemy import func, select

from marketplace.models import LedgerEntry, Order, StripeEvent
from marketplace.payments import ledger
from marketplace.payments.flows import node_payments
from marketplace.payments.stripe_provider import StripeProvider

from ..conftest import PG_SCHEMA, admin_sql, migrated_app
from ..factories import bearer, make_listing, make_user
from ..stripe_server import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeServer
from .conftest import COMMISSION_BPS, events_of
from .helpers import ORDERS, hour

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="races need PostgreSQL")


@pytest.fixture
def racing_node():
    """A node on a schema of its own (committing for real), Stripe's test server posting to it; dropped after."""
    from marketplace.config import normalize_database_url

    url, schema = normalize_database_url(os.environ["TEST_DATABASE_URL"]), f"{PG_SCHEMA}_pay"
    admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    app = migrated_app(url, schema=schema, NODE_CODE="R44", NODE_ROLE="regional", STRIPE_SECRET_KEY=DEFAULT_API_KEY,
                       STRIPE_WEBHOOK_SECRET=DEFAULT_WEBHOOK_SECRET, COMMISSION_BPS=COMMISSION_BPS)  # fmt: skip
    server = StripeServer().start()
    node_payments(app).providers["stripe"] = StripeProvider(server.client())

    def post(payload: bytes, headers: dict) -> int:
        return app.test_client().post("/payments/stripe/webhook", data=payload, headers=headers).status_code

    server.webhooks.endpoint = post
    try:
        yield app, server
    finally:
        server.stop()
        app.extensions["db"].engine.dispose()
        admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_the_same_event_five_times_at_once_has_one_effect(racing_node):
    app, server = racing_node
    server.webhooks.mode = "drop"  # only the concurrent deliveries below reach the node
    database = app.extensions["db"]
    with app.app_context(), database.session() as session:
        seller, buyer = make_user(session, role="seller"), make_user(session, role="buyer")
        listing, auth = make_listing(session, seller, quantity=2), bearer(session, buyer)
        session.commit()
        body = {"listing_code": listing.code, "units": 1, "start": hour(48), "end": hour(50)}
    order = app.test_client().post(ORDERS, json=body, headers=auth).get_json()
    session_id = next(s["id"] for s in server.state.all("checkout.session")
                      if s["client_reference_id"] == order["code"])  # fmt: skip
    server.pay(session_id)
    event = events_of(server, session_id, "checkout.session.completed")[-1]
    results = server.webhooks.send_concurrently(event["id"], copies=5)
    assert all(isinstance(r, int) and 200 <= r < 300 for r in results), results
    with database.session() as session:
        row = session.scalars(select(Order).where(Order.code == order["code"])).one()
        assert row.status == "confirmed" and row.payment_status == "paid"
        charges = session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "charge"))
        assert charges == 1 and session.scalar(select(func.count()).select_from(StripeEvent)) == 1
        assert ledger.unbalanced(session) == []
