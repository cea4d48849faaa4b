"""Signing keys: init, rotate, publish only public halves, keep private keys owner-only."""

import json
import stat

from joserfc import jws
from joserfc.jwk import KeySet

from marketplace.federation.keys import signing_key

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


def test_init_creates_p256_keys_owner_only_and_refuses_to_overwrite(app, client, keys_file):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "init"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    stored = json.loads(keys_file.read_text())
    assert stored["current"]["crv"] == "P-256" and "d" in stored["current"]
    again = runner.invoke(args=["keys", "init"])
    assert again.exit_code != 0 and "exist already" in again.output
    assert json.loads(keys_file.read_text()) == stored


def test_jwks_publishes_current_and_next_public_keys_only(app, client, keys_file):
    assert client.get("/.well-known/jwks.json").get_json() == {"keys": []}
    app.test_cli_runner().invoke(args=["keys", "init"])
    published = client.get("/.well-known/jwks.json").get_json()["keys"]
    stored = json.loads(keys_file.read_text())
    assert [k["kid"] for k in published] == [stored["current"]["kid"], stored["next"]["kid"]]
    for key in published:
        assert not PRIVATE_MEMBERS & set(key) and key["alg"] == "ES256" and key["use"] == "sig"


def test_rotation_keeps_current_and_next_published_and_retires_the_oldest(app, client, keys_file):
    runner = app.test_cli_runner()
    runner.invoke(args=["keys", "init"])
    before = json.loads(keys_file.read_text())
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    after = json.loads(keys_file.read_text())
    assert after["current"] == before["next"] and after["next"]["kid"] not in (before["current"]["kid"],
                                                                               before["next"]["kid"])  # fmt: skip
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert kids == [after["current"]["kid"], after["next"]["kid"]]
    assert before["current"]["kid"] not in kids


def test_the_current_key_signs_and_the_published_set_verifies(app, client, keys_file):
    with app.app_context():
        app.test_cli_runner().invoke(args=["keys", "init"])
        key = signing_key()
        token = jws.serialize_compact({"alg": "ES256", "kid": key.kid}, b"payload", key)
    published = KeySet.import_key_set(client.get("/.well-known/jwks.json").get_json())
    assert jws.deserialize_compact(token, published).payload == b"payload"
