"""Tokens across the federation: a node gets one with its own key and calls another node."""

from marketplace.federation.client import access_token, call_node


def whoami(federation, caller: str, target: str):
    with federation[caller].app_context():
        return call_node(
            "GET", f"{federation.url(target)}/federation/v1/whoami", audience=target, scope="registry:read"
        )


def test_a_node_calls_another_node_and_national_with_its_own_token(federation):
    at_r11 = whoami(federation, "R44", "R11")
    assert at_r11.status_code == 200, at_r11.text
    assert at_r11.json() == {"node_code": "R44", "audience": "urn:cpn:node:R11"}
    at_national = whoami(federation, "R44", "N0")
    assert at_national.json() == {"node_code": "R44", "audience": "urn:cpn:node:N0"}


def test_tokens_are_cached_until_shortly_before_expiry(federation):
    with federation["R44"].app_context():
        first = access_token("R11", "registry:read")
        assert access_token("R11", "registry:read") == first
        assert access_token("N0", "registry:read") != first


def test_a_node_that_rotated_its_keys_is_refetched_once_by_national(federation):
    """R44 rotates: national's registered copy lacks the new current key until it fetches R44's JWKS."""
    from marketplace.federation.keys import rotate_keys
    from marketplace.models import Node

    for _ in range(2):  # two rotations: the registered copy knows neither key any more
        with federation["R44"].app_context():
            rotate_keys()
    federation["R44"].extensions.pop("federation_caches", None)
    answer = whoami(federation, "R44", "R11")
    assert answer.status_code == 200, answer.text
    with federation["R44"].app_context():
        from marketplace.federation.keys import public_jwks

        published = public_jwks()
    with federation.national.app_context(), federation.national.extensions["db"].session() as session:
        assert session.get(Node, "R44").jwks == published
