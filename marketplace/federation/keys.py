"""This node's signing keys: a current key that signs and a next key published ahead of rotation.

The private keys live in one file under instance/ (never in the repository, never in a
response); only their public halves are published at /.well-known/jwks.json.
"""

import json
import os
from pathlib import Path

from flask import Flask, current_app
from joserfc.jwk import ECKey

from ..errors import DomainError

ALGORITHM = "ES256"


class KeysMissing(DomainError):
    """`flask keys init` has not been run for this node: it cannot sign, so it cannot do its job yet."""

    status = 503
    reason = "keys_missing"


def keys_path(app: Flask | None = None) -> Path:
    """Where this node keeps its private keys."""
    app = app or current_app
    return Path(app.config.get("SIGNING_KEYS_FILE") or Path(app.instance_path) / "signing_keys.json")


def _new_key() -> dict:
    key = ECKey.generate_key("P-256")
    jwk = key.as_dict(private=True)
    jwk.update(kid=key.thumbprint(), use="sig", alg=ALGORITHM)
    return jwk


def _write(path: Path, keys: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Owner-only from the first byte, then an atomic rename: a crash never leaves half a key file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(keys, fh)
    os.replace(tmp, path)


def load_keys(app: Flask | None = None) -> dict:
    """{"current": jwk, "next": jwk}, private; KeysMissing before `keys init`."""
    path = keys_path(app)
    if not path.exists():
        raise KeysMissing(f"no signing keys at {path}: run `flask --app app keys init`")
    return json.loads(path.read_text())


def init_keys(app: Flask | None = None) -> dict:
    """Create the current and next key; refuse to overwrite existing keys."""
    path = keys_path(app)
    if path.exists():
        raise FileExistsError(f"signing keys exist already at {path}; use `keys rotate`")
    keys = {"current": _new_key(), "next": _new_key()}
    _write(path, keys)
    return keys


def rotate_keys(app: Flask | None = None) -> dict:
    """The next key becomes current, a new next key is made, the old current one is retired."""
    keys = load_keys(app)
    rotated = {"current": keys["next"], "next": _new_key()}
    _write(keys_path(app), rotated)
    return rotated


def signing_key(app: Flask | None = None) -> ECKey:
    """The current private key, ready to sign."""
    return ECKey.import_key(load_keys(app)["current"])


def public_jwks(app: Flask | None = None) -> dict:
    """The public halves of the current and next keys; empty before `keys init`."""
    try:
        keys = load_keys(app)
    except KeysMissing:
        return {"keys": []}
    return {
        "keys": [
            ECKey.import_key(keys[name]).as_dict(private=False) | _meta(keys[name]) for name in ("current", "next")
        ]
    }


def _meta(jwk: dict) -> dict:
    return {"kid": jwk["kid"], "use": "sig", "alg": ALGORITHM}
