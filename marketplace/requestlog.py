"""One JSON line per request, and a request id that follows a request across nodes.

The id comes from the caller's `X-Request-Id` when it is a plain token (another node passing its own
on), else is made here; it is answered in the same header, written on the log line and the audit
log, and sent on every call this request makes to another node (`federation/http.py`).
"""

import logging
import os
import re
import sys
import time

import orjson
from flask import Flask, current_app, g, has_request_context, request

from . import metrics

HEADER = "X-Request-Id"
_ACCEPTED = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
access_log = logging.getLogger("marketplace.access")


class JsonLineFormatter(logging.Formatter):
    """The record's fields as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {"message": record.getMessage()}
        return orjson.dumps({"level": record.levelname.lower(), **fields}, default=str).decode()


_standard_error = logging.StreamHandler()
_standard_error.setFormatter(JsonLineFormatter())


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return g.get("request_id") if has_request_context() else None


def _start() -> None:
    offered = request.headers.get(HEADER, "")
    # 128 random bits, as a uuid4 carries, at a quarter of uuid4's cost.
    g.request_id = offered if _ACCEPTED.match(offered) else os.urandom(16).hex()
    g.request_started = time.perf_counter()


# Every request counts into these series: their children are looked up once per label set, not per request
# (prometheus_client's labels() validates and locks on every call). A child stays valid across fork().
_counted: dict[tuple[str, str, int], tuple] = {}


def _count(endpoint: str, method: str, status: int, seconds: float) -> None:
    children = _counted.get((endpoint, method, status))
    if children is None:
        children = (metrics.HTTP_REQUESTS.labels(endpoint, method, str(status)), metrics.HTTP_SECONDS.labels(endpoint))
        _counted[endpoint, method, status] = children
    children[0].inc()
    children[1].observe(seconds)


_clock = [0, ""]  # the last whole second formatted, and its text: one strftime per second, not per line


def _timestamp() -> str:
    now = int(time.time())
    if now != _clock[0]:
        _clock[:] = now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    return _clock[1]


def _finish(response):
    # The proxies resolved once: each attribute read through `request` or `g` costs a context lookup.
    req, state = request._get_current_object(), g._get_current_object()
    seconds = time.perf_counter() - getattr(state, "request_started", time.perf_counter())
    request_id = getattr(state, "request_id", "")
    response.headers[HEADER] = request_id
    # The route's name, not the path: one series per endpoint, whatever codes the paths carry.
    endpoint = req.url_rule.endpoint if req.url_rule is not None else "unmatched"
    if current_app.config["REQUEST_METRICS"]:
        _count(endpoint, req.method, response.status_code, seconds)
        if hasattr(state, "refusal_reason"):
            metrics.REFUSALS.labels(endpoint, state.refusal_reason).inc()
    if access_log.disabled:
        return response
    fields = {
        "ts": _timestamp(), "request_id": request_id, "node": req.environ.get("cpn.node_code"),
        "method": req.method, "path": req.path, "endpoint": endpoint, "status": response.status_code,
        "ms": round(seconds * 1000, 2), "remote_addr": req.remote_addr, "bytes": response.calculate_content_length(),
    }  # fmt: skip
    if access_log.handlers == [_standard_error]:
        # The usual case, on the fast path: one write of one line (stderr is line-buffered), no logging machinery.
        line = orjson.dumps({"level": "info", **fields}, default=str, option=orjson.OPT_APPEND_NEWLINE)
        sys.stderr.write(line.decode())
        return response
    # Handlers added to the logger (a test's, an operator's) get a record, made directly: logging's info()
    # would walk the stack for a caller the line never shows.
    record = logging.LogRecord(access_log.name, logging.INFO, __file__, 0, "request", None, None)
    record.fields = fields
    access_log.handle(record)
    return response


def init_app(app: Flask) -> None:
    """Time, count and log every request; the JSON lines go to standard error unless LOG_REQUESTS is off."""
    if not access_log.handlers:
        access_log.addHandler(_standard_error)
        access_log.propagate = False
        access_log.setLevel(logging.INFO)
    access_log.disabled = not app.config.get("LOG_REQUESTS", True)
    code = app.config["NODE_CODE"]

    @app.before_request
    def _begin():
        request.environ["cpn.node_code"] = code
        _start()

    app.after_request(_finish)
