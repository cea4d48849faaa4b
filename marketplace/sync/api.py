"""`/federation/v1`: pushing events up, the feed down, snapshots to reconcile (PROTOCOL.md §6)."""

import re

from flask import current_app, g
from flask_smorest import Blueprint, abort
from joserfc.jwk import KeySet
from marshmallow import RAISE, Schema, fields, validate

from ..accounts.auth import api_auth_required
from ..db import get_session
from ..federation.cache import app_cache
from ..federation.client import national_issuer
from ..federation.guard import require_node_token
from ..federation.http import FetchRefused, fetch
from ..identity.codes import NODE_CODE_RE
from .apply import Directory, apply_batch, national_directory
from .feed import FEED_LIMIT, BadCursor, CursorExpired, append_to_feed, read_feed
from .schemas import EventBatchSchema, PushResultSchema, SyncStatusSchema
from .snapshot import snapshot
from .status import sync_status

blp = Blueprint("sync_api", __name__, url_prefix="/federation/v1", description="Listing sync")
DIRECTORY_TTL = 30


def remote_directory_entry(code: str) -> dict | None:
    """National's directory entry of node `code`, kept DIRECTORY_TTL seconds; None when national knows no such node.

    FetchRefused when national cannot be asked: that is no answer, and nothing is cached or concluded from it
    (an event is not rejected, and a feed page not skipped, because national was down for a moment).
    """

    def ask():
        response = fetch("GET", f"{national_issuer()}/registry/v1/nodes/{code}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise FetchRefused(f"national answered {response.status_code} for node {code}")
        return response.json()

    return app_cache("directory", DIRECTORY_TTL).get(code, ask)


def remote_directory() -> Directory:
    """National's directory as seen from another node."""
    entry = remote_directory_entry
    return Directory(
        parent_of=lambda code: (entry(code) or {}).get("parent"),
        keys_of=lambda code: KeySet.import_key_set(entry(code)["jwks"]) if entry(code) else None,
    )


@blp.post("/events")
@blp.doc(security=[{"bearerAuth": []}])
@require_node_token("listings:write")
@blp.arguments(EventBatchSchema())
@blp.response(200, PushResultSchema)
def push_events(batch):
    """Apply a batch of signed events from the caller or the nodes below it."""
    session = get_session()
    national = current_app.config["NODE_ROLE"] == "national"
    directory = national_directory(session) if national else remote_directory()

    def to_feed(applied: list[tuple[dict, str]]) -> None:
        append_to_feed(session, applied)

    # National's feed is the merged catalogue; a regional node's is what it relays up for its children.
    caller, own = g.federation_caller["client_id"], current_app.config["NODE_CODE"]
    try:
        answer = apply_batch(session=session, caller=caller, events=batch["events"], directory=directory,
                             own_code=own, on_applied=to_feed)  # fmt: skip
    except FetchRefused as error:  # the sender keeps the batch and sends it again
        session.rollback()
        abort(503, message=f"National's directory cannot be asked now: {error}")
    session.commit()
    return answer


class ChangesArgs(Schema):
    after = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(load_default=FEED_LIMIT, validate=validate.Range(min=1, max=FEED_LIMIT))


class ChangesSchema(Schema):
    events = fields.List(fields.String())
    next_cursor = fields.String()
    has_more = fields.Boolean()


@blp.get("/changes")
@blp.doc(security=[{"bearerAuth": []}])
@require_node_token("listings:read")
@blp.arguments(ChangesArgs(), location="query", unknown=RAISE)
@blp.response(200, ChangesSchema)
@blp.alt_response(410, description="The cursor has expired: resync from the snapshots")
def changes(args):
    """National's change feed of the merged catalogue: signed events in commit order."""
    if current_app.config["NODE_ROLE"] != "national":
        abort(404, message="The change feed is national's.")
    try:
        return read_feed(session=get_session(), after=args.get("after"), limit=args["limit"])
    except BadCursor as error:
        abort(422, message=str(error), errors={"query": {"after": [str(error)]}})
    except CursorExpired as error:
        abort(410, message=str(error))


class SnapshotSchema(Schema):
    listings = fields.List(fields.List(fields.Raw()), metadata={"description": "[code, version, sha256] by code"})
    digest = fields.String()


@blp.get("/nodes/<code>/snapshot")
@blp.doc(security=[{"bearerAuth": []}])
@require_node_token("listings:read")
@blp.response(200, SnapshotSchema)
def node_snapshot(code):
    """This node's copy of one origin's listings, to reconcile against."""
    if not re.fullmatch(NODE_CODE_RE, code.upper()):
        abort(404, message=f"No node {code}.")
    return snapshot(session=get_session(), origin=code.upper(), own_code=current_app.config["NODE_CODE"])


@blp.get("/sync/status")
@blp.doc(security=[{"bearerAuth": []}])
@api_auth_required("operator")
@blp.response(200, SyncStatusSchema)
def status():
    """This node's sync state; on national, every origin's too (operators' API token)."""
    return sync_status(session=get_session())
