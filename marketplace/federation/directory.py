"""National's node directory as any node sees it: one cached look-up for every question about another node.

On national the registry's own table answers; elsewhere national's `GET /registry/v1/nodes/<code>` does,
kept DIRECTORY_TTL seconds. The token guard, the sync code and the pages all ask here.
"""

from flask import current_app

from ..db import get_session
from ..identity.codes import NATIONAL_CODE
from ..models import Node
from .cache import app_cache
from .client import national_issuer
from .http import FetchRefused, fetch

DIRECTORY_TTL = 30  # seconds: a suspension, a new key or a new node bites within half a minute


def is_national() -> bool:
    """Whether this node is the national node."""
    return current_app.config["NODE_ROLE"] == "national"


def _registry_row(code: str) -> dict | None:
    node = get_session().get(Node, code)
    if node is None:
        return None
    return {"code": node.code, "role": node.role, "parent": node.parent, "status": node.status,
            "public_url": node.public_url, "jwks": node.jwks}  # fmt: skip


def directory_entry(code: str) -> dict | None:
    """Node `code` as the directory lists it (code, role, parent, status, public_url, jwks); None if unknown.

    FetchRefused when national cannot be asked: that is no answer, and nothing is cached or concluded
    from it (an event is not rejected, a token not refused for good, because national was down a moment).
    """
    if is_national():
        return _registry_row(code)

    def ask() -> dict | None:
        response = fetch("GET", f"{national_issuer()}/registry/v1/nodes/{code}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise FetchRefused(f"national answered {response.status_code} for node {code}")
        return response.json()

    return app_cache("directory", DIRECTORY_TTL).get(code, ask)


def node_url(code: str) -> str | None:
    """The public URL of node `code`: this node's own, national's, or the directory's; None if unknown."""
    config = current_app.config
    if code == config["NODE_CODE"]:
        return config["PUBLIC_URL"]
    if code == NATIONAL_CODE and not is_national():
        return national_issuer()
    try:
        entry = directory_entry(code)
    except FetchRefused:  # pages still show the listing, without the link
        return None
    return entry.get("public_url") if entry else None


def parent_node() -> tuple[str, str]:
    """(code, URL) of the node this node reports to: national for a regional node, a regional for an industry."""
    config = current_app.config
    if config["NODE_ROLE"] == "regional":
        return NATIONAL_CODE, national_issuer()
    entry = directory_entry(config["NODE_CODE"])
    if entry is None:
        raise FetchRefused(f"national's directory does not list {config['NODE_CODE']} yet")
    return entry["parent"], config["PARENT_URL"]
