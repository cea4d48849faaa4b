"""Checks of an RFC 9068 access token, before anything in it is trusted.

Order matters: size first (a huge token costs nothing), then the header (type, algorithm,
no keys offered in-band, a plain kid), then the signature with national's published key,
then the claims.
"""

import json
import re
import time
from collections.abc import Callable

from flask import request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..b64 import b64url_decode
from .scopes import ALLOWED_ALGORITHMS

ACCESS_TOKEN_TYP = "at+jwt"
MAX_TOKEN_BYTES = 4096
CLOCK_LEEWAY = 30  # seconds
_KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Header members that point at keys: a token never chooses the key that verifies it.
_KEY_HEADERS = ("jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256")
_REQUIRED_CLAIMS = ("iss", "aud", "sub", "client_id", "exp", "jti", "scope")


class TokenRejected(Exception):
    """Why a token is refused, as an OAuth bearer error (RFC 6750)."""

    def __init__(self, description: str, error: str = "invalid_token", status: int = 401):
        super().__init__(description)
        self.description, self.error, self.status = description, error, status


def bearer_token() -> str | None:
    """The request's `Authorization: Bearer <token>` credential (RFC 6750), or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _header(token: str) -> dict:
    try:
        header = json.loads(b64url_decode(token.split(".", 1)[0]))
    except (ValueError, UnicodeDecodeError):
        raise TokenRejected("The token is not a JWT.") from None
    if not isinstance(header, dict):
        raise TokenRejected("The token is not a JWT.")
    return header


def check_header(token: str) -> dict:
    """The token's JOSE header, if it is one an access token may have."""
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenRejected(f"The token is longer than {MAX_TOKEN_BYTES} bytes.")
    if token.count(".") != 2:
        raise TokenRejected("The token is not a compact JWS.")
    header = _header(token)
    if str(header.get("typ", "")).lower() not in (ACCESS_TOKEN_TYP, "application/" + ACCESS_TOKEN_TYP):
        raise TokenRejected("Not an access token: typ must be at+jwt.")
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise TokenRejected(f"Algorithm {header.get('alg')!r} is not accepted; use ES256.")
    offered = [name for name in _KEY_HEADERS if name in header]
    if offered:
        raise TokenRejected(f"Keys offered in the token's header ({', '.join(offered)}) are never used.")
    if not isinstance(header.get("kid"), str) or not _KID.match(header["kid"]):
        raise TokenRejected("The token's kid is missing or malformed.")
    return header


def verify_access_token(
    token: str, *, issuer: str, audience: str, scope: str, keys: Callable[[str], KeySet], for_node: bool = True
) -> dict:
    """The claims of a valid access token for `audience` carrying `scope`; TokenRejected otherwise.

    `keys(kid)` returns national's key set, fetching it again once when `kid` is unknown. A node's
    own token (`for_node`) has the node as its subject; a person's token has the person.
    """
    header = check_header(token)
    key_set = keys(header["kid"])
    try:
        decoded = jwt.decode(token, key_set, algorithms=list(ALLOWED_ALGORITHMS))
    except (JoseError, ValueError) as error:
        raise TokenRejected(f"The token's signature does not verify: {error}") from None
    claims = decoded.claims
    missing = [name for name in _REQUIRED_CLAIMS if name not in claims]
    if missing:
        raise TokenRejected(f"The token lacks {', '.join(missing)}.")
    if claims["iss"] != issuer:
        raise TokenRejected("The token is from another issuer.")
    if claims["aud"] != audience:
        raise TokenRejected(f"The token is for another audience, not {audience}.")
    if not isinstance(claims["exp"], int | float) or claims["exp"] + CLOCK_LEEWAY < time.time():
        raise TokenRejected("The token has expired.")
    if for_node and claims["sub"] != claims["client_id"]:
        raise TokenRejected("The token's sub and client_id differ.")
    if scope not in str(claims["scope"]).split():
        raise TokenRejected(f"The token lacks the scope {scope}.", "insufficient_scope", 403)
    return claims


def verify_id_token(token: str, *, issuer: str, client_id: str, nonce: str, keys: Callable[[str], KeySet]) -> dict:
    """The claims of an OpenID Connect ID token national issued for this node and this sign-in."""
    if len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
        raise TokenRejected("The ID token is malformed.")
    header = _header(token)
    if str(header.get("typ", "JWT")).lower() == ACCESS_TOKEN_TYP or header.get("alg") not in ALLOWED_ALGORITHMS:
        raise TokenRejected("Not an ID token.")
    if any(name in header for name in _KEY_HEADERS) or not _KID.match(str(header.get("kid", ""))):
        raise TokenRejected("The ID token's header is not acceptable.")
    try:
        claims = jwt.decode(token, keys(header["kid"]), algorithms=list(ALLOWED_ALGORITHMS)).claims
    except (JoseError, ValueError) as error:
        raise TokenRejected(f"The ID token's signature does not verify: {error}") from None
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != issuer or client_id not in audiences:
        raise TokenRejected("The ID token is for someone else.")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] + CLOCK_LEEWAY < time.time():
        raise TokenRejected("The ID token has expired.")
    if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce:
        raise TokenRejected("The ID token belongs to another sign-in (nonce).")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenRejected("The ID token names no subject.")
    return claims
