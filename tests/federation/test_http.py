"""`fetch`, the one door for a node's outbound HTTP: no way into internal networks, no redirects, capped answers.

Only the edges are fake: the DNS answers (`socket.getaddrinfo`) and the transport (an httpx MockTransport
that records every request it is handed). Everything of ours runs for real inside the app.
"""

import gzip
import ipaddress
import socket

import httpx
import pytest

from marketplace.federation import http
from marketplace.federation.http import MAX_RESPONSE_BYTES, FetchRefused, fetch

NAME = "node.example.cn"
PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:4700:4700::1111"


class Wire:
    """The transport: records the requests it is handed and answers with `answer(request)`."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.answer = lambda request: httpx.Response(200, json={"ok": True})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


class Resolver:
    """DNS: names answer the addresses set in `answers`; IP literals answer themselves, as getaddrinfo does."""

    def __init__(self):
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups.append(host)
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            if host not in self.answers:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            addresses = self.answers[host]
        return [_addrinfo(address, port) for address in addresses]


def _addrinfo(address: str, port: int) -> tuple:
    if ipaddress.ip_address(address).version == 6:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))


@pytest.fixture
def wire(app, monkeypatch):
    """A production-like node (private addresses refused) whose HTTP client sends into a recording transport."""
    wire = Wire()
    client = httpx.Client(transport=httpx.MockTransport(wire.handle), follow_redirects=False)
    monkeypatch.setitem(app.extensions, "http_client", client)
    monkeypatch.setitem(app.config, "FEDERATION_ALLOW_PRIVATE_ADDRESSES", False)
    with app.app_context():
        yield wire
    client.close()


@pytest.fixture
def dns(monkeypatch):
    """Fake DNS answers for the names `fetch` looks up."""
    resolver = Resolver()
    monkeypatch.setattr(http.socket, "getaddrinfo", resolver.getaddrinfo)
    return resolver


def test_plain_http_is_refused_outside_development(wire, dns):
    """Without FEDERATION_ALLOW_PRIVATE_ADDRESSES only https is fetched, even for a public address."""
    dns.answers[NAME] = [PUBLIC_V4]
    with pytest.raises(FetchRefused, match="only https"):
        fetch("GET", f"http://{NAME}/registry/v1/nodes")
    assert wire.requests == []


@pytest.mark.parametrize("url", ["ftp://node.example.cn/x", "file:///etc/passwd", "https:///nohost", "node.example"])
def test_urls_that_are_not_http_are_refused(wire, dns, url):
    """Other schemes and URLs without a host are refused before any lookup or connection."""
    with pytest.raises(FetchRefused, match="not an http"):
        fetch("GET", url)
    assert wire.requests == [] and dns.lookups == []


NON_PUBLIC = {
    "loopback": "127.0.0.1",
    "loopback-other": "127.53.0.1",
    "loopback-v6": "::1",
    "private-10": "10.1.2.3",
    "private-172": "172.16.0.5",
    "private-172-31": "172.31.255.254",
    "private-192": "192.168.1.10",
    "link-local-metadata": "169.254.169.254",
    "unspecified": "0.0.0.0",
    "unspecified-v6": "::",
    "shared-cgnat": "100.64.0.1",
    "link-local-v6": "fe80::1",
    "unique-local-v6": "fd00::1",
    "v4-mapped-loopback": "::ffff:127.0.0.1",
    "v4-mapped-metadata": "::ffff:169.254.169.254",
    "nat64-private": "64:ff9b::a00:1",
    "nat64-public": "64:ff9b::5db8:d822",
    "nat64-local-use": "64:ff9b:1::a00:1",
    "6to4-private": "2002:a00:1::1",
    "6to4-public": "2002:5db8:d822::1",
    "multicast-v4": "224.0.0.251",
    "multicast-v4-global": "233.252.0.1",
    "multicast-v6-global": "ff0e::1",
    "multicast-v6-link": "ff02::1",
}


@pytest.mark.parametrize("address", NON_PUBLIC.values(), ids=NON_PUBLIC.keys())
def test_a_name_resolving_to_a_non_public_address_is_refused_before_connecting(wire, dns, address):
    """A public-looking name whose DNS answer is internal is refused, and nothing is sent anywhere."""
    dns.answers[NAME] = [address]
    with pytest.raises(FetchRefused, match="non-public address") as refusal:
        fetch("GET", f"https://{NAME}/federation/v1/whoami", headers={"Authorization": "Bearer secret"})
    assert str(ipaddress.ip_address(address)) in str(refusal.value)
    assert dns.lookups == [NAME]
    assert wire.requests == []


@pytest.mark.parametrize(
    "url", ["https://localhost/x", "https://127.0.0.1/x", "https://[::1]:8443/x", "https://169.254.169.254/latest"]
)
def test_loopback_and_metadata_urls_are_refused(wire, dns, url):
    """localhost and internal IP literals in the URL itself are refused like internal DNS answers."""
    dns.answers["localhost"] = ["127.0.0.1", "::1"]
    with pytest.raises(FetchRefused, match="non-public address"):
        fetch("GET", url)
    assert wire.requests == []


def test_one_internal_address_among_public_ones_is_enough_to_refuse(wire, dns):
    """A DNS answer that mixes public and internal addresses is refused as a whole."""
    dns.answers[NAME] = [PUBLIC_V4, "10.0.0.7", PUBLIC_V6]
    with pytest.raises(FetchRefused, match=r"non-public address \(10\.0\.0\.7\)"):
        fetch("GET", f"https://{NAME}/x")
    assert wire.requests == []


def test_a_name_that_does_not_resolve_is_refused(wire, dns):
    """No DNS answer: refused with the name, nothing sent."""
    with pytest.raises(FetchRefused, match=f"cannot resolve {NAME}"):
        fetch("GET", f"https://{NAME}/x")
    assert wire.requests == []


def test_a_public_address_is_connected_to_by_ip_keeping_the_name_for_host_and_sni(wire, dns):
    """The request goes to the checked IP; the name stays in Host and in the TLS SNI/verification name."""
    dns.answers[NAME] = [PUBLIC_V4]
    response = fetch("POST", f"https://{NAME}/oauth/token?x=1", data={"grant_type": "client_credentials"},
                     headers={"Authorization": "Bearer t"})  # fmt: skip
    assert response.status_code == 200 and response.json() == {"ok": True}
    [sent] = wire.requests
    assert sent.method == "POST"
    assert sent.url.scheme == "https" and sent.url.host == PUBLIC_V4 and sent.url.port is None
    assert sent.url.raw_path == b"/oauth/token?x=1"
    assert sent.headers["host"] == NAME
    assert sent.extensions["sni_hostname"] == NAME
    assert sent.headers["authorization"] == "Bearer t"
    assert sent.read() == b"grant_type=client_credentials"


def test_an_ipv6_public_address_is_pinned_too(wire, dns):
    """An AAAA-only name is connected to at its (bracketed) IPv6 address, port kept."""
    dns.answers[NAME] = [PUBLIC_V6]
    fetch("GET", f"https://{NAME}:8443/x")
    [sent] = wire.requests
    assert sent.url.host == PUBLIC_V6 and sent.url.port == 8443
    assert sent.extensions["sni_hostname"] == NAME and sent.headers["host"] == f"{NAME}:8443"


def test_the_host_header_keeps_a_non_default_port(wire, dns):
    """https://name:8443/ is sent with `Host: name:8443`, as httpx would without pinning."""
    dns.answers[NAME] = [PUBLIC_V4]
    fetch("GET", f"https://{NAME}:8443/x")
    [sent] = wire.requests
    assert sent.url.port == 8443
    assert sent.headers["host"] == f"{NAME}:8443"


def test_redirects_are_answered_not_followed(wire, dns):
    """A 302 towards an internal address comes back as the 302; the Location is never requested."""
    dns.answers[NAME] = [PUBLIC_V4]
    wire.answer = lambda request: httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    response = fetch("GET", f"https://{NAME}/registry/v1/nodes/R44")
    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/latest/meta-data"
    assert len(wire.requests) == 1 and wire.requests[0].url.host == PUBLIC_V4


def test_an_answer_of_exactly_the_limit_is_read(wire, dns):
    """MAX_RESPONSE_BYTES bytes are still accepted, whole."""
    dns.answers[NAME] = [PUBLIC_V4]
    wire.answer = lambda request: httpx.Response(200, content=b"x" * MAX_RESPONSE_BYTES)
    assert len(fetch("GET", f"https://{NAME}/big").content) == MAX_RESPONSE_BYTES


def test_a_larger_answer_is_refused_without_reading_it_all(wire, dns):
    """One byte over the cap fails, and a streamed answer is not read to its end."""
    dns.answers[NAME] = [PUBLIC_V4]
    chunk, chunks, produced = 64 * 1024, 64, []  # 4 MiB on offer

    def stream():
        for _ in range(chunks):
            produced.append(chunk)
            yield b"x" * chunk

    wire.answer = lambda request: httpx.Response(200, content=stream())
    with pytest.raises(FetchRefused, match=f"more than {MAX_RESPONSE_BYTES} bytes"):
        fetch("GET", f"https://{NAME}/huge")
    assert sum(produced) <= MAX_RESPONSE_BYTES + chunk < chunk * chunks

    wire.answer = lambda request: httpx.Response(200, content=b"x" * (MAX_RESPONSE_BYTES + 1))
    with pytest.raises(FetchRefused, match="more than"):
        fetch("GET", f"https://{NAME}/big")


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_transport_errors_and_timeouts_become_fetch_refused(wire, dns, error):
    """A failed or timed-out connection is a FetchRefused naming the method and URL."""
    dns.answers[NAME] = [PUBLIC_V4]

    def fail(request):
        raise error

    wire.answer = fail
    with pytest.raises(FetchRefused, match=f"GET https://{NAME}/x failed"):
        fetch("GET", f"https://{NAME}/x")
    assert len(wire.requests) == 1


def test_the_default_client_has_timeouts_and_follows_no_redirects(app, monkeypatch):
    """Without a client set by tests, the node's own client has the module's timeouts and no redirects."""
    monkeypatch.setitem(app.extensions, "http_client", None)  # restored (or removed) after the test
    with app.app_context():
        client = http._client()
        try:
            assert client.timeout == http.TIMEOUT and client.follow_redirects is False
        finally:
            client.close()


def test_development_allows_http_to_loopback(app, wire, dns, monkeypatch):
    """With FEDERATION_ALLOW_PRIVATE_ADDRESSES, http://127.0.0.1:port URLs are fetched as they are."""
    monkeypatch.setitem(app.config, "FEDERATION_ALLOW_PRIVATE_ADDRESSES", True)
    response = fetch("GET", "http://127.0.0.1:5011/federation/v1/whoami")
    assert response.status_code == 200
    [sent] = wire.requests
    assert str(sent.url) == "http://127.0.0.1:5011/federation/v1/whoami"
    assert sent.headers["host"] == "127.0.0.1:5011" and "sni_hostname" not in sent.extensions


def test_a_compressed_answer_is_returned_decoded(wire, dns):
    """httpx asks for gzip; a node behind a compressing proxy answers gzip, and fetch returns the JSON."""
    dns.answers[NAME] = [PUBLIC_V4]
    body = b'{"node_code": "R44", "audience": "urn:cpn:node:R11"}'
    wire.answer = lambda request: httpx.Response(
        200, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}, content=gzip.compress(body)
    )
    response = fetch("GET", f"https://{NAME}/federation/v1/whoami")
    assert response.json() == {"node_code": "R44", "audience": "urn:cpn:node:R11"}


def test_a_port_out_of_range_is_refused(wire, dns):
    """A URL with an impossible port is a FetchRefused, like every other URL that cannot be fetched."""
    dns.answers[NAME] = [PUBLIC_V4]
    with pytest.raises(FetchRefused):
        fetch("GET", f"https://{NAME}:99999/x")
    assert wire.requests == []


def test_a_timeout_while_reading_the_body_becomes_fetch_refused(wire, dns):
    """Headers arrive, then the body stalls: the read timeout is a FetchRefused too, not an httpx error."""
    dns.answers[NAME] = [PUBLIC_V4]

    def stalled():
        yield b'{"keys": ['
        raise httpx.ReadTimeout("timed out")

    wire.answer = lambda request: httpx.Response(200, content=stalled())
    with pytest.raises(FetchRefused, match=f"GET https://{NAME}/oauth/jwks failed while reading"):
        fetch("GET", f"https://{NAME}/oauth/jwks")


def test_a_corrupt_compressed_body_becomes_fetch_refused(wire, dns):
    """An answer claiming gzip that does not decompress is unusable: FetchRefused, not an httpx error."""
    dns.answers[NAME] = [PUBLIC_V4]
    wire.answer = lambda request: httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=iter([b"not gzip"]))
    with pytest.raises(FetchRefused):
        fetch("GET", f"https://{NAME}/x")
