"""base64url without padding, as JOSE and our cursors write it (RFC 7515 §2)."""

import base64


def b64url_decode(text: str) -> bytes:
    """Decode base64url whether or not its `=` padding was left off (binascii.Error/ValueError if not base64)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    """Encode as base64url without padding."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
