"""`/api/v1/listings`: search, publish, read, change and retire listings (PROTOCOL.md §4)."""

import orjson
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from ..accounts.auth import api_auth_required, bearer_user
from ..db import get_session, replica_read
from .documents import document_response, json_response
from .schemas import ListingCreateSchema, ListingOutSchema, ListingPatchSchema, SearchArgsSchema, SearchResultSchema
from .search import search_listings
from .services import managed_listing, publish_listing, retire_listing, update_listing, visible_listing

blp = Blueprint("listings_api", __name__, url_prefix="/api/v1/listings", description="Capacity listings")
_SECURED = [{"bearerAuth": []}]


@blp.route("")
class ListingCollection(MethodView):
    @replica_read
    @blp.arguments(SearchArgsSchema(), location="query", unknown=RAISE)
    @blp.response(200, SearchResultSchema)
    def get(self, args):
        """Search published listings."""
        found = search_listings(session=get_session(), params=args, documents=True)
        return json_response({
            "items": [orjson.Fragment(document) for document in found.items], "page": found.page,
            "per_page": found.per_page, "total": found.total, "total_exact": found.total_exact,
            "next_cursor": found.next_cursor,
        })  # fmt: skip

    @blp.doc(security=_SECURED)
    @api_auth_required("seller")
    @blp.arguments(ListingCreateSchema())
    @blp.response(201, ListingOutSchema)
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
    @blp.response(200, ListingOutSchema)
    @blp.alt_response(404, description="No such listing, or a draft of someone else")
    def get(self, code):
        """A listing by its identification code; drafts only for their seller."""
        return document_response(visible_listing(session=get_session(), code=code, user=bearer_user()))

    @blp.doc(security=_SECURED)
    @api_auth_required("seller")
    @blp.arguments(ListingPatchSchema(partial=True))
    @blp.response(200, ListingOutSchema)
    @blp.alt_response(409, description="The listing's status does not allow the change")
    def patch(self, changes, code):
        """Change some fields of a listing, or pause, resume or publish it."""
        session = get_session()
        listing = managed_listing(session=session, code=code, user=bearer_user())
        update_listing(session=session, listing=listing, changes=changes)
        session.commit()
        return document_response(listing)

    @blp.doc(security=_SECURED)
    @api_auth_required("seller")
    @blp.response(200, ListingOutSchema)
    @blp.alt_response(409, description="Already retired")
    def delete(self, code):
        """Retire a listing: it stays as a tombstone, its code is never reused."""
        session = get_session()
        listing = managed_listing(session=session, code=code, user=bearer_user())
        retire_listing(session=session, listing=listing)
        session.commit()
        return document_response(listing)
