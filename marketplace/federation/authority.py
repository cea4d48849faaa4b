"""National as the federation's authorization server: who it is, how clients prove themselves, what it revoked.

The few facts that its token endpoint, its OpenID Connect provider, its introspection and revocation
endpoints and every node's token guard share; each of those imports them from here.
"""

from flask import current_app

from ..db import get_session
from ..models import RevokedToken

AUTH_METHOD = "private_key_jwt"


def issuer() -> str:
    """National's issuer identifier: its public URL."""
    return current_app.config["PUBLIC_URL"]


def is_revoked(jti: str) -> bool:
    """Whether national revoked the token with this jti."""
    return get_session().get(RevokedToken, jti) is not None
