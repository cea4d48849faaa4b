"""Minting RFC 9068 access tokens with national's key: for the nodes that ask its token endpoint, and for
national itself when it calls a node (it is the authorization server: it asks nobody)."""

import time
import uuid

from joserfc import jwt

from .authority import issuer
from .keys import signing_key
from .scopes import ACCESS_TOKEN_TTL
from .tokens import ACCESS_TOKEN_TYP


def mint_access_token(*, client_id: str, audience: str, scope: str) -> dict:
    """A signed access token of `client_id` for resource `audience` (a node URN) with `scope`, as OAuth answers it."""
    now, key = int(time.time()), signing_key()
    claims = {"iss": issuer(), "aud": audience, "sub": client_id, "client_id": client_id, "node_code": client_id,
              "scope": scope, "iat": now, "exp": now + ACCESS_TOKEN_TTL, "jti": uuid.uuid4().hex}  # fmt: skip
    token = jwt.encode({"alg": "ES256", "typ": ACCESS_TOKEN_TYP, "kid": key.kid}, claims, key)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_TTL, "scope": scope}
