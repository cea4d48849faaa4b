"""A listing's protocol document, rendered once per change and served as stored.

Every write renders the document (PROTOCOL.md §3) through ListingSchema and keeps the JSON
on the row; reads hand that JSON out as it is. Search answers then cost two indexed queries
and no per-field serialization, and every reader gets byte-identical documents.
"""

import orjson
from flask import Response, current_app

from ..models import Listing
from .schemas import ListingSchema

_schema = ListingSchema()


def render_document(listing: Listing) -> str:
    """The listing's document as JSON text."""
    return orjson.dumps(_schema.dump(listing)).decode()


def json_response(payload: dict, status: int = 200) -> Response:
    """A JSON response in which stored documents (orjson.Fragment) are embedded without re-parsing."""
    return current_app.response_class(orjson.dumps(payload), status=status, mimetype="application/json")


def document_response(listing: Listing, status: int = 200) -> Response:
    """One listing's stored document as the response body."""
    return json_response(orjson.Fragment(listing.document), status)
