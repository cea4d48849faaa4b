"""One JSON line per request, and a request id that follows a request across nodes.

The id comes from the caller's `X-Request-Id` when it is a plain token (another node passing its own
on), else is made here; it is answered in the same header, written on the log line and the audit
log, and sent on every call this request makes to another node (`federation/http.py`).
"""

import logging
import re
import sys
import time
import uuid

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


def _endpoint() -> str:
    # The route's name, not the path: one series per endpoint, whatever codes the paths carry.
    return request.url_rule.endpoint if request.url_rule is not None else "unmatched"


def _start() -> None:
    offered = request.headers.get(HEADER, "")
    g.request_id = offered if _ACCEPTED.match(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    response.headers[HEADER] = g.get("request_id", "")
    endpoint = _endpoint()
    if current_app.config["REQUEST_METRICS"]:
        metrics.HTTP_REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(endpoint).observe(seconds)
        if "refusal_reason" in g:
            metrics.REFUSALS.labels(endpoint, g.refusal_reason).inc()
    if access_log.disabled:
        return response
    fields = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "request_id": g.get("request_id"),
        "node": request.environ.get("cpn.node_code"), "method": request.method, "path": request.path,
        "endpoint": endpoint, "status": response.status_code, "ms": round(seconds * 1000, 2),
        "remote_addr": request.remote_addr, "bytes": response.calculate_content_length(),
    }  # fmt: skip
    if access_log.handlers == [_standard_error]:
        # The usual case, on the fast path: one write of one line (stderr is line-buffered), no logging machinery.
        sys.stderr.write(orjson.dumps({"level": "info", **fields}, default=str).decode() + "\n")
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
