"""RFC 7009 revocation and RFC 7662 introspection of national's JWT access tokens."""

from datetime import UTC, datetime

from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError

from ..db import get_session
from ..models import Node, RevokedToken
from .authority import AUTH_METHOD, is_revoked, issuer
from .keys import public_jwks
from .scopes import ALLOWED_ALGORITHMS
from .tokens import MAX_TOKEN_BYTES


class IssuedToken:
    """An access token national issued, read back from its JWT."""

    def __init__(self, claims: dict):
        self.claims = claims

    def check_client(self, client) -> bool:
        return self.claims.get("client_id") == client.get_client_id()

    def get_expires_at(self) -> int:
        return int(self.claims["exp"])

    def is_expired(self) -> bool:
        return self.get_expires_at() <= datetime.now(UTC).timestamp()

    def is_revoked(self) -> bool:
        return is_revoked(self.claims["jti"])


def read_issued_token(token: str) -> IssuedToken | None:
    """The token if national signed it (expired or not), else None."""
    from joserfc.jwk import KeySet

    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
        return None
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(public_jwks()), algorithms=list(ALLOWED_ALGORITHMS))
    except (JoseError, ValueError):
        return None
    claims = decoded.claims
    return IssuedToken(claims) if claims.get("iss") == issuer() and "jti" in claims else None


class NodeRevocationEndpoint(RevocationEndpoint):
    """A node revokes its own tokens."""

    CLIENT_AUTH_METHODS = [AUTH_METHOD]

    def query_token(self, token_string, token_type_hint):
        return read_issued_token(token_string)

    def revoke_token(self, token: IssuedToken, request):
        session = get_session()
        if session.get(RevokedToken, token.claims["jti"]) is None:
            session.add(RevokedToken(jti=token.claims["jti"], client_id=token.claims["client_id"],
                                     expires_at=datetime.fromtimestamp(token.get_expires_at(), UTC)))  # fmt: skip
        session.commit()  # authlib's revocation hook owns the request's flow


class NodeIntrospectionEndpoint(IntrospectionEndpoint):
    """Any active node may ask whether a token is still good (resource servers check revocation here)."""

    CLIENT_AUTH_METHODS = [AUTH_METHOD]

    def query_token(self, token_string, token_type_hint):
        return read_issued_token(token_string)

    def check_permission(self, token, client, request) -> bool:
        return True  # every authenticated, active node is a resource server

    def introspect_token(self, token: IssuedToken) -> dict:
        claims = token.claims
        caller = get_session().get(Node, claims.get("client_id"))
        node_active = claims.get("client_id") == current_app.config["NODE_CODE"] or (
            caller is not None and caller.status == "active"
        )
        if not node_active:
            return {"active": False}
        return {"active": True, "token_type": "Bearer"} | {
            k: claims[k] for k in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti") if k in claims
        }
