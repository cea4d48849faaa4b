"""The sweep of lapsed holds, as the sync worker runs it between its rounds."""

import time

from flask import Flask

from ..models import Order
from ..models.types import utcnow
from .services import expire_holds

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
