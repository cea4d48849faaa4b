"""Checks of a JWKS that an applicant registers: public signing keys only."""

from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

# Members that carry private (or symmetric) key material in RFC 7517/7518.
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
SIGNING_CURVES = {("EC", "P-256"): "ES256", ("OKP", "Ed25519"): "EdDSA"}
MAX_KEYS = 10


def jwks_errors(jwks) -> list[str]:
    """Why `jwks` cannot be registered; an empty list when it can."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        return ['Must be a JWKS: an object with a "keys" array.']
    keys = jwks["keys"]
    if not keys:
        return ["Must hold at least one public signing key."]
    if len(keys) > MAX_KEYS:
        return [f"At most {MAX_KEYS} keys."]
    errors, kids = [], set()
    for index, key in enumerate(keys):
        errors += [f"keys[{index}]: {message}" for message in _key_errors(key)]
        kid = key.get("kid") if isinstance(key, dict) else None
        if not isinstance(kid, str):
            continue  # its own errors say so; only text kids can repeat
        if kid in kids:
            errors.append(f"keys[{index}]: kid {kid!r} appears twice.")
        kids.add(kid)
    return errors


def _key_errors(key) -> list[str]:
    if not isinstance(key, dict):
        return ["Must be a JSON object."]
    private = [member for member in PRIVATE_MEMBERS if member in key]
    if private:
        return [f"Holds private key material ({', '.join(private)}): send public keys only."]
    curve = (key.get("kty"), key.get("crv"))
    if curve not in SIGNING_CURVES:
        return ["Must be an EC P-256 (ES256) or OKP Ed25519 (EdDSA) public key."]
    errors = []
    if not isinstance(key.get("kid"), str) or not 1 <= len(key["kid"]) <= 64:
        errors.append("Needs a kid of 1 to 64 characters.")
    if key.get("use", "sig") != "sig":
        errors.append('Must be a signing key ("use": "sig").')
    if key.get("alg", SIGNING_CURVES[curve]) != SIGNING_CURVES[curve]:
        errors.append(f"alg must be {SIGNING_CURVES[curve]} for this key.")
    try:
        JWKRegistry.import_key(key)  # builds the public key: a point off the curve fails here
    except (JoseError, ValueError, TypeError, KeyError):
        errors.append("Is not a valid public key (coordinates do not decode to a point of the curve).")
    return errors
