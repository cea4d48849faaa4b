"""Where another node's listing is sold: its origin node's public URL."""

from flask import current_app

from ..db import get_session
from ..models import Node


def origin_url(code: str) -> str | None:
    """The public URL of node `code`, from the registry (national) or national's directory (others)."""
    if code == current_app.config["NODE_CODE"]:
        return current_app.config["PUBLIC_URL"]
    if current_app.config["NODE_ROLE"] == "national":
        node = get_session().get(Node, code)
        return node.public_url if node else None
    from ..federation.http import FetchRefused
    from .api import remote_directory_entry

    try:
        entry = remote_directory_entry(code)
    except FetchRefused:  # the page still shows the listing, without the link
        return None
    return entry.get("public_url") if entry else None
