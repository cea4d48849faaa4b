"""The federation's scopes and names (PROTOCOL.md §5)."""

PERSON_SCOPES = ("openid", "profile", "email")  # what a person grants a node at sign-in
NODE_SCOPES = ("listings:write", "listings:read", "registry:read", "orders:write")
ACCESS_TOKEN_TTL = 600  # seconds: the protocol's upper bound
ALLOWED_ALGORITHMS = ("ES256", "EdDSA")
URN_PREFIX = "urn:cpn:node:"


def node_urn(code: str) -> str:
    """The audience URN of a node: `urn:cpn:node:<code>`."""
    return URN_PREFIX + code


CALLBACK_PATH = "/auth/national/callback"


def redirect_uris_for(public_url: str) -> list[str]:
    """The exact redirect URIs a node registers as a relying party when it is approved."""
    return [public_url.rstrip("/") + CALLBACK_PATH]
