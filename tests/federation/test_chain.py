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
