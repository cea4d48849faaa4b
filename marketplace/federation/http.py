"""All outbound HTTP of a node: timeouts, a size cap, no redirects, and no way into internal networks.

Every call to another node or to a URL an applicant gave goes through `fetch`. Outside
development only https is allowed, and the host's addresses are checked before connecting:
loopback, private, link-local, multicast and other non-global addresses are refused, and so are the
IPv6 prefixes that embed an IPv4 address a gateway would reach for us (NAT64, 6to4). The connection is
made to the address that was checked (the name stays in the Host header and TLS SNI), so a
second DNS answer cannot slip an internal address in.
"""

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

import httpx
from flask import current_app

from ..errors import DomainError
from ..requestlog import HEADER as REQUEST_ID_HEADER
from ..requestlog import current_request_id

TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_RESPONSE_BYTES = 1024 * 1024
_ENCODING_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


# Globally routed on paper, but a translator or relay on the way turns them into the IPv4 address they
# embed (64:ff9b::10.0.0.1 is 10.0.0.1 behind NAT64): there is no telling where they really lead.
_TRANSLATED = tuple(ipaddress.ip_network(prefix) for prefix in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16"))


class FetchRefused(DomainError):
    """The URL may not be fetched, or its answer was unusable: another node cannot be reached for now."""

    status = 503
    reason = "peer_unreachable"


class AnswerTooLarge(FetchRefused):
    """The answer ran past MAX_RESPONSE_BYTES: unread, as a smaller question may be answered."""


def _client() -> httpx.Client:
    """The app's HTTP client; tests route it between in-process apps by setting HTTP_CLIENT."""
    client = current_app.extensions.get("http_client")
    if client is None:
        client = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        current_app.extensions["http_client"] = client
    return client


def _allow_private() -> bool:
    # Development and tests run every node on 127.0.0.1.
    return bool(current_app.config.get("FEDERATION_ALLOW_PRIVATE_ADDRESSES"))


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether connecting to `address` can only reach the public internet (no multicast, no translation)."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        return False
    return not (address.version == 6 and any(address in network for network in _TRANSLATED))


def _checked_target(url: str) -> tuple[str, dict]:
    """The URL to connect to and the extensions that keep the original host name."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise FetchRefused(f"not a valid port in {url!r}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise FetchRefused(f"not an http(s) URL: {url!r}")
    if _allow_private():
        return url, {}
    if parts.scheme != "https":
        raise FetchRefused("only https URLs are fetched")
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except OSError as error:
        raise FetchRefused(f"cannot resolve {parts.hostname}: {error}") from None
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    bad = [str(a) for a in addresses if not is_public_address(a)]
    if bad or not addresses:
        raise FetchRefused(f"{parts.hostname} resolves to a non-public address ({', '.join(bad)})")
    address = sorted(addresses, key=str)[0]
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = host + (f":{port}" if port else "")
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return pinned, {"sni_hostname": parts.hostname, "host": parts.hostname + (f":{port}" if port else "")}


def fetch(method: str, url: str, **kwargs) -> httpx.Response:
    """Send a request with the federation's limits; the body is read up to MAX_RESPONSE_BYTES."""
    target, pinned = _checked_target(url)
    # Uncompressed answers only: a compressed bomb would expand before the size cap could stop it.
    headers = dict(kwargs.pop("headers", None) or {}) | {"Accept-Encoding": "identity"}
    if (request_id := current_request_id()) is not None:
        headers[REQUEST_ID_HEADER] = request_id  # one request can be followed across nodes
    extensions = {}
    if pinned:
        headers["Host"] = pinned["host"]
        extensions["sni_hostname"] = pinned["sni_hostname"]
    request = _client().build_request(method, target, headers=headers, extensions=extensions, **kwargs)
    try:
        response = _client().send(request, stream=True, follow_redirects=False)
    except httpx.HTTPError as error:
        raise FetchRefused(f"{method} {url} failed: {error}") from None
    try:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                raise AnswerTooLarge(f"{url} answered more than {MAX_RESPONSE_BYTES} bytes")
    except httpx.HTTPError as error:
        raise FetchRefused(f"{method} {url} failed while reading: {error}") from None
    finally:
        response.close()
    # iter_bytes() decoded any Content-Encoding already: the rebuilt answer must not claim one.
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _ENCODING_HEADERS]
    return httpx.Response(response.status_code, headers=headers, content=bytes(body), request=request)
