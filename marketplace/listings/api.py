"""`/api/v1/listings`: search, publish, read, change and retire listings (PROTOCOL.md §4)."""

import orjson
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE, ValidationError

from ..accounts.auth import api_auth_required, bearer_user
from ..db import get_session
from .documents import document_response, json_response
from .schemas import ListingCreateSchema, ListingPatchSchema, ListingSchema, SearchArgsSchema, SearchResultSchema
from .search import InvalidCursor, search_listings
from .services import (
    ListingStateError,
    can_manage,
    can_see,
    find_listing,
    publish_listing,
    retire_listing,
    update_listing,
)

blp = Blueprint("listings_api", __name__, url_prefix="/api/v1/listings", description="Capacity listings")
_SECURED = [{"bearerAuth": []}]


def _listing_for_change(code: str):
    """The caller's own listing, or 404 (not visible to them) / 403 (someone else's)."""
    listing = find_listing(session=get_session(), code=code)
    user = bearer_user()
    if listing is None or not can_see(user, listing):
        abort(404, message=f"No listing {code.upper()}.")
    if not can_manage(user, listing):
        abort(403, message="Only the listing's seller can change it.")
    return listing


def _conflict(error: ListingStateError):
    abort(409, message=str(error), errors={"json": {error.field: [str(error)]}})


@blp.route("")
class ListingCollection(MethodView):
    @blp.arguments(SearchArgsSchema(), location="query", unknown=RAISE)
    @blp.response(200, SearchResultSchema)
    def get(self, args):
        """Search published listings."""
        try:
            found = search_listings(session=get_session(), params=args, documents=True)
        except InvalidCursor as error:
            abort(422, message="Invalid cursor.", errors={"query": {"cursor": [str(error)]}})
        return json_response({
            "items": [orjson.Fragment(document) for document in found.items], "page": found.page,
            "per_page": found.per_page, "total": found.total, "total_exact": found.total_exact,
            "next_cursor": found.next_cursor,
        })  # fmt: skip

    @blp.doc(security=_SECURED)
    @api_auth_required("seller")
    @blp.arguments(ListingCreateSchema())
    @blp.response(201, ListingSchema)
    @blp.alt_response(401, description="No valid API token")
    @blp.alt_response(403, description="The token's account is not a seller")
    def post(self, data):
        """Publish a listing (or save it as a draft) under a new identification code."""
        session = get_session()
        listing = publish_listing(
            session=session, seller=bearer_user(), node_code=current_app.config["NODE_CODE"], data=data
        )
        session.commit()
        return document_response(listing, 201)


@blp.route("/<code>")
class ListingItem(MethodView):
    @blp.response(200, ListingSchema)
    @blp.alt_response(404, description="No such listing, or a draft of someone else")
    def get(self, code):
        """A listing by its identification code; drafts only for their seller."""
        listing = find_listing(session=get_session(), code=code)
        if listing is None or not can_see(bearer_user(), listing):
            abort(404, message=f"No listing {code.upper()}.")
        return document_response(listing)

    @blp.doc(security=_SECURED)
    @api_auth_required("seller")
    @blp.arguments(ListingPatchSchema(partial=True))
    @blp.response(200, ListingSchema)
    @blp.alt_response(409, description="The listing's status does not allow the change")
    def patch(self, changes, code):
        """Change some fields of a listing, or pause, resume or publish it."""
        session = get_session()
        listing = _listing_for_change(code)
        try:
            update_listing(session=session, listing=listing, changes=changes)
        except ValidationError as error:
            session.rollback()
            abort(422, message="The changed listing is not valid.", errors={"json": error.messages})
        except ListingStateError as error:
            session.rollback()
            _conflict(error)
        session.commit()
        return document_response(listing)

    @blp.doc(security=_SECURED)
    @api_auth_required("seller")
    @blp.response(200, ListingSchema)
    @blp.alt_response(409, description="Already retired")
    def delete(self, code):
        """Retire a listing: it stays as a tombstone, its code is never reused."""
        session = get_session()
        listing = _listing_for_change(code)
        try:
            retire_listing(session=session, listing=listing)
        except ListingStateError as error:
            _conflict(error)
        session.commit()
        return document_response(listing)
