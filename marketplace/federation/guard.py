"""Every node as a resource server: one decorator checks the token of each inter-node call.

A token is good when national signed it for this node's URN with the scope the endpoint
needs, it has not expired or been revoked, and the calling node is active in the registry.
National answers the last two from its own database; other nodes ask national and keep the
answer for at most CHECK_TTL seconds, so a suspension or revocation bites within a minute.
"""

import time
from functools import wraps

from flask import current_app, g
from flask_smorest import abort
from joserfc.jwk import KeySet

from .. import metrics
from ..identity.codes import NATIONAL_CODE
from .authority import is_revoked
from .cache import app_cache
from .client import authenticated_form, national_issuer
from .directory import directory_entry
from .http import FetchRefused, fetch
from .keys import public_jwks
from .scopes import node_urn
from .tokens import TokenRejected, bearer_token, verify_access_token

CHECK_TTL = 30  # seconds a status or revocation answer from national is trusted
KEYS_TTL = 3600
MIN_REFETCH_INTERVAL = 10  # seconds between fetches of national's keys for unknown kids


def _is_national() -> bool:
    return current_app.config["NODE_ROLE"] == "national"


def _fetch_national_keys() -> KeySet:
    try:
        response = fetch("GET", national_issuer() + "/oauth/jwks")
        return KeySet.import_key_set(response.json())
    except (FetchRefused, ValueError) as error:
        raise TokenRejected(f"National's keys are unavailable: {error}", "temporarily_unavailable", 503) from None


def national_keys(kid: str) -> KeySet:
    """National's signing keys; an unknown kid fetches them again once (at most every few seconds)."""
    if _is_national():
        return KeySet.import_key_set(public_jwks())
    cache = app_cache("national_keys", KEYS_TTL)
    keys = cache.get("keys", _fetch_national_keys)
    if any(key.kid == kid for key in keys.keys):
        return keys
    last = current_app.extensions.setdefault("national_keys_fetched_at", [0.0])
    if time.monotonic() - last[0] >= MIN_REFETCH_INTERVAL:
        last[0] = time.monotonic()
        cache.drop("keys")
        keys = cache.get("keys", _fetch_national_keys)
    return keys


def _caller_status(code: str) -> str | None:
    if code == NATIONAL_CODE or code == current_app.config["NODE_CODE"]:
        return "active"
    entry = directory_entry(code)
    return entry["status"] if entry else None


def _revoked(token: str, claims: dict) -> bool:
    if _is_national():
        return is_revoked(claims["jti"])

    def ask() -> bool:
        form = authenticated_form(token=token, token_type_hint="access_token")
        response = fetch("POST", national_issuer() + "/oauth/introspect", data=form)
        return response.status_code != 200 or not response.json().get("active", False)

    return app_cache("token_revoked", CHECK_TTL).get(claims["jti"], ask)


def _refuse(error: TokenRejected):
    metrics.TOKENS_REFUSED.labels(error.error).inc()
    header = f'Bearer error="{error.error}", error_description="{error.description}"'
    abort(error.status, message=error.description, errors={"token": [error.description]},
          headers={"WWW-Authenticate": header})  # fmt: skip


def checked_caller(scope: str) -> dict:
    """The claims of the request's access token; aborts with 401/403 unless it is good for `scope`."""
    token = bearer_token()
    if not token:
        _refuse(TokenRejected("An access token from national is required: Authorization: Bearer <token>."))
    try:
        claims = verify_access_token(
            token,
            issuer=national_issuer(),
            audience=node_urn(current_app.config["NODE_CODE"]),
            scope=scope,
            keys=national_keys,
        )
        status = _caller_status(claims["client_id"])
        if status != "active":
            raise TokenRejected(
                f"The calling node {claims['client_id']} is {status or 'unknown'}.", "invalid_token", 403
            )
        if _revoked(token, claims):
            raise TokenRejected("The token was revoked.")
    except FetchRefused as error:
        _refuse(TokenRejected(f"National cannot be asked: {error}", "temporarily_unavailable", 503))
    except TokenRejected as error:
        _refuse(error)
    return claims


def require_node_token(scope: str):
    """Protect an inter-node endpoint: a valid national token for this node carrying `scope`."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.federation_caller = checked_caller(scope)
            return view(*args, **kwargs)

        return wrapper

    return decorator
