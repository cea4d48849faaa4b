"""The sync worker's part in orders across nodes: re-read open orders at their origins, release failed groups."""

import time

from flask import Flask

from ..models.types import utcnow
from .groups import release_pending_parts
from .remote import open_remote_orders, refresh_remote_order

REFRESH_INTERVAL = 5.0  # seconds: a buyer sees confirmation, expiry or a refund within about this, plus the origin's


def refresh_remote_orders(app: Flask, *, force: bool = False) -> int:
    """Re-read at their origins the orders this node's buyers hold elsewhere; how many were read.

    Each origin is asked with no transaction open here; an origin that fails once is left for the next
    round. Failed groups' parts that could not be cancelled at once are cancelled now. At most every
    REFRESH_INTERVAL seconds (unless forced); a failure is logged, never raised, so the worker keeps running.
    """
    last = app.extensions.get("trading_last_refresh", 0.0)
    if not force and time.monotonic() - last < REFRESH_INTERVAL:
        return 0
    app.extensions["trading_last_refresh"] = time.monotonic()
    refreshed = 0
    try:
        with app.app_context(), app.extensions["db"].session() as session:
            records = open_remote_orders(session=session, now=utcnow())
            session.commit()
            unreachable: set[str] = set()
            for record in records:
                if record.origin in unreachable:
                    continue
                refresh_remote_order(session=session, record=record, now=utcnow())
                session.commit()
                if record.refresh_error:
                    unreachable.add(record.origin)
                else:
                    refreshed += 1
            release_pending_parts(session=session, now=utcnow())
    except Exception:  # the worker outlives any one failure; the log has the traceback
        app.logger.exception("refreshing orders held at other nodes failed")
    return refreshed
