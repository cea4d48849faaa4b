"""The one error shape of PROTOCOL.md §4: JSON for API clients, a page for people."""

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

# Machine-facing paths always answer JSON, whatever the client accepts.
_JSON_PREFIXES = ("/api/", "/registry/v1/", "/federation/", "/oauth/", "/.well-known/", "/healthz")


def wants_json() -> bool:
    """Whether this request should get a JSON error body."""
    if request.path.startswith(_JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_body(code: int, name: str, message: str | None = None, errors: dict | None = None) -> dict:
    """The protocol's error object."""
    body = {"code": code, "status": name, "message": message or name}
    if errors:
        body["errors"] = errors
    return body


def handle_http_exception(error: HTTPException):
    """Render any HTTP error in the shape the client expects."""
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    errors = data.get("errors") or data.get("messages")
    message = data.get("message") or (error.description if error.code != 500 else None)
    if wants_json():
        return jsonify(error_body(error.code, error.name, message, errors)), error.code, headers
    return render_template("error.html", error=error, message=message), error.code, headers


def handle_unexpected(error: Exception):
    """A bug: log it with its traceback and answer a plain 500."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


def init_app(app: Flask) -> None:
    """Register the handlers; call after flask-smorest's Api so these win."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
