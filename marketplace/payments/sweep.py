"""The sellers' transfers, as the sync worker runs them between its rounds."""

import time

from flask import Flask

from ..models.types import utcnow
from .flows import node_payments, transfer_shares

TRANSFER_INTERVAL = 60.0  # seconds; a share is due once its order has started, a minute late is no harm


def transfer_due_shares(app: Flask, *, force: bool = False) -> list[str]:
    """Send connected sellers the shares now due, at most every TRANSFER_INTERVAL seconds (unless forced).

    A failure is logged, never raised, so that the worker that calls it keeps running; the next turn
    tries again (each transfer has an idempotency key of its own order).
    """
    last = app.extensions.get("payments_last_transfer", 0.0)
    if node_payments(app).stripe is None or (not force and time.monotonic() - last < TRANSFER_INTERVAL):
        return []
    app.extensions["payments_last_transfer"] = time.monotonic()
    try:
        with app.app_context(), app.extensions["db"].session() as session:
            return transfer_shares(node_payments(app), session, now=utcnow())
    except Exception:  # the worker outlives any one failure; the log has the traceback
        app.logger.exception("transferring sellers' shares failed")
        return []
