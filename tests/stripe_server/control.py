"""The test control API under `/_test/`: pay or expire sessions, onboard accounts, move the clock, steer webhooks.

Tests in the same process call the `StripeServer` methods instead; both end in the same functions.
"""

from flask import Blueprint, current_app, jsonify, request

from . import checkout, connect
from .api import store
from .state import public

blueprint = Blueprint("control", __name__, url_prefix="/_test")


def _body() -> dict:
    return request.get_json(silent=True) or request.form.to_dict() or {}


def _webhooks():
    return current_app.extensions["stripe_webhooks"]


@blueprint.post("/checkout/sessions/<session_id>/pay")
def pay(session_id):
    with store().lock:
        body = _body()
        declined = str(body.get("declined", "")).lower() in ("1", "true")
        return jsonify(public(checkout.complete_session(store(), session_id, body.get("method", "card"), declined)))


@blueprint.post("/checkout/sessions/<session_id>/expire")
def expire(session_id):
    with store().lock:
        return jsonify(public(checkout.expire_session(store(), session_id)))


@blueprint.post("/accounts/<account_id>/onboard")
def onboard(account_id):
    with store().lock:
        return jsonify(public(connect.onboard(store(), account_id)))


@blueprint.get("/clock")
def clock():
    return jsonify(now=store().now(), offset=store().offset)


@blueprint.post("/clock/advance")
def advance():
    seconds = int(_body().get("seconds", 0))
    with store().lock:
        store().offset += seconds
        expired = checkout.expire_due(store())
    return jsonify(now=store().now(), offset=store().offset, expired=[session["id"] for session in expired])


@blueprint.post("/webhooks")
def configure():
    """Set any of `mode` (deliver, hold, drop), `types` (the event types `mode` applies to; [] for all),
    `copies`, `endpoint`, `secret`."""
    body, hooks = _body(), _webhooks()
    if body.get("mode") not in (None, "deliver", "hold", "drop"):
        return jsonify(error="mode must be deliver, hold or drop"), 400
    with hooks.condition:
        hooks.mode = body.get("mode", hooks.mode)
        hooks.copies = int(body.get("copies", hooks.copies))
        if "types" in body:
            hooks.types = set(body["types"]) or None
        hooks.endpoint = body.get("endpoint", hooks.endpoint)
        hooks.secret = body.get("secret", hooks.secret)
    return jsonify(mode=hooks.mode, types=sorted(hooks.types or []), copies=hooks.copies,
                   endpoint=None if callable(hooks.endpoint) else hooks.endpoint)


@blueprint.post("/webhooks/release")
def release():
    body = _body()
    try:
        released = _webhooks().release(body.get("order", "fifo"), body.get("seed"), int(body.get("copies", 1)))
    except ValueError as error:
        return jsonify(error=str(error)), 400
    return jsonify(deliveries=[delivery.as_dict() for delivery in released])


@blueprint.post("/webhooks/drain")
def drain():
    return jsonify(drained=_webhooks().drain(float(_body().get("timeout", 10))))


@blueprint.post("/events/<event_id>/redeliver")
def redeliver(event_id):
    body = _body()
    copies = int(body.get("copies", 1))
    if str(body.get("concurrent", "")).lower() in ("1", "true"):
        return jsonify(results=_webhooks().send_concurrently(event_id, copies))
    return jsonify(deliveries=[delivery.as_dict() for delivery in _webhooks().redeliver(event_id, copies)])


@blueprint.get("/deliveries")
def deliveries():
    """Every delivery so far, optionally filtered by `event`, `type` or `status`."""
    wanted = {key: request.args[key] for key in ("event", "type", "status") if request.args.get(key)}
    rows = [d.as_dict() for d in list(_webhooks().deliveries)]
    return jsonify(deliveries=[row for row in rows if all(row[k] == v for k, v in wanted.items())])
