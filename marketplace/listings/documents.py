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
_KEYS = tuple(field.data_key or name for name, field in _schema.dump_fields.items())  # in the order dump gives
# `capacity` is left out while every unit is free, `city_code` when there is none (the schema's post_dump)
_OPTIONAL = frozenset({"capacity", "city_code"})
_ALWAYS = frozenset(_KEYS) - _OPTIONAL  # every document has these keys


def render_document(listing: Listing) -> str:
    """The listing's document as JSON text."""
    return orjson.dumps(_schema.dump(listing)).decode()


def rerender_derived(listing: Listing) -> str:
    """render_document's text after a change of only the fields the origin derives (version, updated_at,
    capacity): the stored document with those replaced. A hot listing's capacity changes with every
    order, and dumping every field (and up to 100 capacity intervals) through the schema each time is slow.
    """
    document = orjson.loads(listing.document)
    if document.keys() - _OPTIONAL != _ALWAYS:
        return render_document(listing)  # stored before the schema last changed: render it whole
    document["version"] = listing.version
    document["updated_at"] = listing.updated_at.isoformat()
    intervals = listing.capacity
    document["capacity"] = intervals and [
        {"from": i["from"].isoformat(), "until": i["until"].isoformat(), "free": i["free"]} for i in intervals
    ]  # None stays None, [] stays []
    ordered = {key: document[key] for key in _KEYS if key in document}
    if ordered["capacity"] is None:
        del ordered["capacity"]  # §3: absent means every unit is free throughout (as the schema's post_dump does)
    return orjson.dumps(ordered).decode()


def json_response(payload: dict, status: int = 200) -> Response:
    """A JSON response in which stored documents (orjson.Fragment) are embedded without re-parsing."""
    return current_app.response_class(orjson.dumps(payload), status=status, mimetype="application/json")


def document_response(listing: Listing, status: int = 200) -> Response:
    """One listing's stored document as the response body."""
    return json_response(orjson.Fragment(listing.document), status)
