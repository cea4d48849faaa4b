"""The one error shape of PROTOCOL.md §4: JSON for API clients, a page for people."""

import logging
from types import SimpleNamespace

from flask import Flask, g, jsonify, render_template, request
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES

from .i18n import MACHINE_PREFIXES
from .i18n.messages import N_, translate_message

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal by the domain: what is wrong, which field, the HTTP status and a machine-readable reason.

    Services raise subclasses; `errors.py` renders them once, as PROTOCOL.md §4's shape plus `reason`
    for the API and as a page (or, through `form_errors`, next to a form's field) for people.
    """

    status: int = 422
    reason: str = "invalid"
    location: str = "json"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        status: int | None = None,
        location: str | None = None,
        extra: dict | None = None,
        messages: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.messages = messages or ({field: [message]} if field else {})
        if reason is not None:
            self.reason = reason
        if status is not None:
            self.status = status
        if location is not None:
            self.location = location
        self.extra = extra or {}

    def errors(self) -> dict | None:
        """The §4 `errors` object: the messages under their location, keyed by field."""
        return {self.location: self.messages} if self.messages else None

    def summary(self) -> str:
        """One line for a flash message: the message, and each field's messages when there are several."""
        if not self.messages or self.field:
            return self.message
        details = "; ".join(f"{name}: {' '.join(map(str, texts))}" for name, texts in self.messages.items())
        return f"{self.message} ({details})"

    def field_errors(self) -> dict:
        """The messages keyed by field, as page forms show them (`{}` when no field is named)."""
        return self.messages


class InvalidInput(DomainError):
    """Input that can never be valid; `messages` names each field and why (marshmallow's shape)."""

    @classmethod
    def from_validation(cls, error, message: str = "The input is not valid.", location: str = "json"):
        """Carry a marshmallow ValidationError's messages as a domain refusal."""
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        return cls(message, messages=messages, location=location)


class NotFound(DomainError):
    status = 404
    reason = "not_found"


class Forbidden(DomainError):
    status = 403
    reason = "forbidden"


class Conflict(DomainError):
    status = 409
    reason = "conflict"


class ErrorSchema(Schema):
    """PROTOCOL.md §4's error object, as the OpenAPI document describes every error answer."""

    class Meta:
        unknown = INCLUDE  # a refusal may add keys of its own (`extra`)

    code = fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    status = fields.String(required=True, metadata={"description": "The HTTP status name"})
    message = fields.String(required=True, metadata={"description": "What is wrong, in words"})
    errors = fields.Dict(metadata={"description": "Messages by location (json, query, path, form) and field"})
    reason = fields.String(metadata={"description": "A machine-readable reason, where the refusal has one"})


class OAuthErrorSchema(Schema):
    """An OAuth 2.0 error answer (RFC 6749 §5.2), as the authorization server and resource servers send it."""

    class Meta:
        unknown = INCLUDE

    error = fields.String(required=True, metadata={"description": "An RFC 6749 error code"})
    error_description = fields.String(metadata={"description": "What is wrong, in words"})
    error_uri = fields.String()


# Machine-facing paths always answer JSON, whatever the client accepts.


def wants_json() -> bool:
    """Whether this request should get a JSON error body."""
    if request.path.startswith(MACHINE_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_body(
    code: int, name: str, message: str | None = None, errors: dict | None = None, reason: str | None = None
) -> dict:
    """The protocol's error object (plus `reason` where the refusal has one).

    Only `message` follows the client's Accept-Language; `code`, `status`, `errors` and `reason` are
    for machines and never change with the language.
    """
    body = {"code": code, "status": name, "message": translate_message(message or name)}
    if errors:
        body["errors"] = errors
    if reason:
        body["reason"] = reason
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


def handle_domain_error(error: DomainError):
    """Render a domain refusal: §4's shape plus `reason` for the API, the error page for people."""
    name = HTTP_STATUS_CODES.get(error.status, "Error")
    g.refusal_reason = error.reason  # counted by reason with the request (requestlog)
    if wants_json():
        body = error_body(error.status, name, error.message, error.errors(), error.reason) | error.extra
        return jsonify(body), error.status
    page_error = SimpleNamespace(code=error.status, name=name, description=error.message)
    return render_template("error.html", error=page_error, message=error.message), error.status


def handle_unexpected(error: Exception):
    """A bug: log it with its traceback and answer a plain 500; a lost database connection is a 503."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        # The database restarted or dropped the connection mid-request: SQLAlchemy has emptied the pool,
        # so the same request sent again gets a fresh connection.
        log.warning("database connection lost on %s %s: %s", request.method, request.path, error.orig)
        if (session := g.get("db_session")) is not None:
            session.rollback()  # the page about it reads the signed-in user again, on a fresh connection
        body, status, headers = handle_http_exception(
            ServiceUnavailable(N_("The database connection was lost; send the request again."))
        )
        return body, status, headers | {"Retry-After": "1"}
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


def init_app(app: Flask) -> None:
    """Register the handlers; call after flask-smorest's Api so these win."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
