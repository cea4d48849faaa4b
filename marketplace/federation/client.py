"""This node as an OAuth client: tokens from national with its own key, cached, attached to calls."""

import time
import uuid

import httpx
from flask import current_app
from joserfc import jwt

from ..errors import DomainError
from .cache import app_cache
from .http import FetchRefused, fetch
from .keys import signing_key
from .minting import mint_access_token
from .scopes import ACCESS_TOKEN_TTL, node_urn

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 60
RENEW_BEFORE_EXPIRY = 30  # seconds: never send a token about to expire


def national_issuer() -> str:
    """National's issuer identifier (its public URL); national itself answers with its own."""
    config = current_app.config
    return config["PUBLIC_URL"] if config["NODE_ROLE"] == "national" else config["NATIONAL_URL"]


def client_assertion() -> str:
    """A fresh private_key_jwt assertion (RFC 7523) for national's token endpoint."""
    code, key, now = current_app.config["NODE_CODE"], signing_key(), int(time.time())
    claims = {"iss": code, "sub": code, "aud": national_issuer(), "iat": now, "exp": now + ASSERTION_LIFETIME,
              "jti": uuid.uuid4().hex}  # fmt: skip
    return jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "JWT"}, claims, key)


def authenticated_form(**fields) -> dict:
    """Form fields plus this node's client authentication, for national's OAuth endpoints."""
    return fields | {"client_id": current_app.config["NODE_CODE"], "client_assertion_type": ASSERTION_TYPE,
                     "client_assertion": client_assertion()}  # fmt: skip


class TokenUnavailable(DomainError):
    """National gave no token; the message says why."""

    status = 503
    reason = "token_unavailable"


def _request_token(audience: str, scope: str) -> tuple[str, float]:
    if current_app.config["NODE_ROLE"] == "national":  # the authorization server mints its own
        minted = mint_access_token(client_id=current_app.config["NODE_CODE"], audience=node_urn(audience), scope=scope)
        return minted["access_token"], time.monotonic() + ACCESS_TOKEN_TTL - RENEW_BEFORE_EXPIRY
    form = authenticated_form(grant_type="client_credentials", scope=scope, resource=node_urn(audience))
    try:
        response = fetch("POST", national_issuer() + "/oauth/token", data=form)
    except FetchRefused as error:
        raise TokenUnavailable(str(error)) from None
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or "access_token" not in body:
        raise TokenUnavailable(f"national refused a token ({response.status_code}): {body.get('error_description')}")
    lifetime = min(float(body.get("expires_in", ACCESS_TOKEN_TTL)), ACCESS_TOKEN_TTL)
    return body["access_token"], time.monotonic() + lifetime - RENEW_BEFORE_EXPIRY


def access_token(audience: str, scope: str) -> str:
    """A token for calling node `audience` with `scope`, from the cache while it is fresh."""
    cache = app_cache("access_tokens", ACCESS_TOKEN_TTL)
    key = (audience, scope)
    token, renew_at = cache.get(key, lambda: _request_token(audience, scope))
    if renew_at <= time.monotonic():
        cache.drop(key)
        token, renew_at = cache.get(key, lambda: _request_token(audience, scope))
    return token


def call_node(method: str, url: str, *, audience: str, scope: str, **kwargs) -> httpx.Response:
    """Call another node with a token for it; a refused token is renewed once."""
    extra_headers = dict(kwargs.pop("headers", None) or {})
    for attempt in (1, 2):
        headers = extra_headers | {"Authorization": f"Bearer {access_token(audience, scope)}"}
        response = fetch(method, url, headers=headers, **kwargs)
        if response.status_code != 401 or attempt == 2:
            return response
        app_cache("access_tokens", ACCESS_TOKEN_TTL).drop((audience, scope))
    return response
