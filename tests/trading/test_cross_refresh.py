"""The buyer's node keeps its record of an order held elsewhere current: confirmation, expiry, refunds."""

from datetime import timedelta

from marketplace.models import Order, User
from marketplace.models.types import utcnow
from marketplace.sync.worker import SyncWorker
from marketplace.trading.remote_sync import refresh_remote_orders
from marketplace.trading.services import cancel_order, confirm_order, expire_holds

from .cross_helpers import auth, national_buyer, order_body, orders_at, publish, records_at


def at_origin(federation, change) -> None:
    """Apply `change(session, order, seller)` to the first order held at R44, and commit."""
    app = federation["R44"]
    [held] = orders_at(federation, "R44")[:1]
    with app.app_context(), app.extensions["db"].session() as session:
        order = session.get(Order, held.id)
        change(session, order, session.get(User, order.seller_id))
        session.commit()


def test_the_sync_worker_brings_confirmation_and_refund_to_the_buyers_node(federation):
    [code] = publish(federation, "R44", quantity=2)
    token = national_buyer(federation)
    federation["R11"].test_client().post("/api/v1/orders", json=order_body(code), headers=auth(token))
    at_origin(federation, lambda s, o, seller: confirm_order(session=s, order=o, actor=seller, reference="TT-1",
                                                             now=utcnow()))  # fmt: skip
    assert records_at(federation, "R11")[0].status == "held"  # not yet read again
    assert refresh_remote_orders(federation["R11"], force=True) == 1
    [record] = records_at(federation, "R11")
    assert (record.status, record.payment_status) == ("confirmed", "paid")
    at_origin(federation, lambda s, o, seller: cancel_order(session=s, order=o, actor=seller, reason="no power",
                                                            now=utcnow()))  # fmt: skip
    federation["R11"].extensions["trading_last_refresh"] = 0.0  # as if REFRESH_INTERVAL had passed
    SyncWorker(federation["R11"]).turn()  # the sync worker's own round reads it again
    [record] = records_at(federation, "R11")
    assert (record.status, record.payment_status) == ("refunded", "refund_pending")


def test_an_expired_hold_is_seen_expired_and_an_unreachable_origin_leaves_the_record_with_the_reason(federation):
    [code] = publish(federation, "R44", quantity=2)
    token = national_buyer(federation)
    federation["R11"].test_client().post("/api/v1/orders", json=order_body(code), headers=auth(token))
    app = federation["R44"]
    with app.app_context(), app.extensions["db"].session() as session:
        expire_holds(session=session, now=utcnow() + timedelta(hours=2))
        session.commit()
    federation.route_http(down={"R44"})
    refresh_remote_orders(federation["R11"], force=True)
    [record] = records_at(federation, "R11")
    assert record.status == "held" and "cannot be reached" in record.refresh_error
    federation.route_http()
    refresh_remote_orders(federation["R11"], force=True)
    [record] = records_at(federation, "R11")
    assert (record.status, record.refresh_error) == ("expired", None)
