"""What the sync worker does for trading between its rounds: the sweep of lapsed holds, and the capacity
that bursts of orders left stale."""

import time

from flask import Flask

from ..models import Order
from ..models.types import utcnow
from .services import expire_holds, publish_stale_capacity, stale_listings

SWEEP_INTERVAL = 5.0  # seconds; lapsed holds already count for nothing, the sweep only publishes what they free


def sweep_holds(app: Flask, *, force: bool = False) -> list[Order]:
    """Expire lapsed holds and publish the capacity they free, in a transaction of its own.

    Runs at most every SWEEP_INTERVAL seconds (unless forced); a failure is logged, never raised,
    so that the worker that calls it keeps running.
    """
    last = app.extensions.get("trading_last_sweep", 0.0)
    if not force and time.monotonic() - last < SWEEP_INTERVAL:
        return []
    app.extensions["trading_last_sweep"] = time.monotonic()
    try:
        with app.app_context(), app.extensions["db"].session() as session:
            expired = expire_holds(session=session, now=utcnow())
            session.commit()
            return expired
    except Exception:  # the worker outlives any one failure; the log has the traceback
        app.logger.exception("sweeping lapsed holds failed")
        return []


def publish_stale(app: Flask) -> int:
    """Publish the capacity of every listing left stale by orders (services.place_order): how many changed.

    Every turn of the worker, so that other nodes' copies follow within the sync delay. Each listing in a
    transaction of its own: its lock is held for one recomputation, never while another listing waits.
    A failure is logged, never raised.
    """
    db = app.extensions["db"]
    if db.engine.dialect.name == "sqlite":
        return 0  # orders never queue for a lock there (write transactions queue before they begin): none is stale
    published = 0
    with app.app_context(), db.session() as session:
        try:
            stale = stale_listings(session)
            session.commit()  # the read of stale ids is not kept open while locking
        except Exception:  # the worker outlives any one failure; the log has the traceback
            app.logger.exception("reading the listings with stale capacity failed")
            return 0
        for listing_id in stale:
            try:
                published += publish_stale_capacity(session=session, listing_id=listing_id, now=utcnow())
                session.commit()
            except Exception:  # one listing's failure leaves the others to be published
                session.rollback()
                app.logger.exception("publishing the stale capacity of listing %s failed", listing_id)
    return published
