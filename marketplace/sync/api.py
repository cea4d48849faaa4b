"""`/federation/v1`: pushing events up, the feed down, snapshots to reconcile (PROTOCOL.md §6)."""

import re

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from .. import metrics
from ..accounts.auth import api_auth_required
from ..db import get_session, replica_read
from ..errors import DomainError, Forbidden, NotFound
from ..federation.directory import is_national
from ..federation.guard import require_node_token
from ..federation.http import FetchRefused
from ..identity.codes import NODE_CODE_RE
from ..monitoring.origins import DEFAULT_STALE_AFTER
from ..monitoring.sync_status import sync_status
from .apply import acked_seq, apply_batch, national_directory, remote_directory
from .feed import FEED_LIMIT, append_to_feed, read_feed
from .schemas import EventBatchSchema, PushResultSchema, SyncStatusSchema
from .snapshot import snapshot

blp = Blueprint("sync_api", __name__, url_prefix="/federation/v1", description="Listing sync")


class DirectoryUnavailable(DomainError):
    """National's directory cannot be asked now: the sender keeps the batch and sends it again."""

    status = 503
    reason = "directory_unavailable"


@blp.post("/events")
@blp.doc(security=[{"bearerAuth": []}])
@require_node_token("listings:write")
@blp.arguments(EventBatchSchema())
@blp.response(200, PushResultSchema)
@blp.alt_response(403, description="The caller is not a child of this node")
def push_events(batch):
    """Apply a batch of signed events from a child of this node (its own, or relayed from below it)."""
    session = get_session()
    directory = national_directory(session) if is_national() else remote_directory()
    caller, own = g.federation_caller["client_id"], current_app.config["NODE_CODE"]
    try:
        if directory.parent_of(caller) != own:  # pushes go up the tree only
            raise Forbidden(f"{caller} is not a child of {own}: push to your own parent.", reason="not_a_child")
        outcome = apply_batch(session=session, caller=caller, events=batch["events"], directory=directory,
                              own_code=own)  # fmt: skip
    except FetchRefused as error:
        raise DirectoryUnavailable(f"National's directory cannot be asked now: {error}") from None
    # National's feed is the merged catalogue; a regional node's is what it relays up for its children.
    append_to_feed(session, outcome.applied)
    answer = {"results": [result.answer() for result in outcome.results], "acked_seq": acked_seq(session, caller)}
    session.commit()
    for result in outcome.results:
        metrics.EVENTS_RECEIVED.labels("push", result.status).inc()
        if result.reason_code:
            metrics.EVENTS_REJECTED.labels(result.reason_code).inc()
    return answer


class ChangesArgs(Schema):
    after = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(load_default=FEED_LIMIT, validate=validate.Range(min=1, max=FEED_LIMIT))


class ChangesSchema(Schema):
    events = fields.List(fields.String())
    next_cursor = fields.String()
    has_more = fields.Boolean()


@blp.get("/changes")
@replica_read
@blp.doc(security=[{"bearerAuth": []}])
@require_node_token("listings:read")
@blp.arguments(ChangesArgs(), location="query", unknown=RAISE)
@blp.response(200, ChangesSchema)
@blp.alt_response(410, description="The cursor has expired: resync from the snapshots")
def changes(args):
    """National's change feed of the merged catalogue: signed events in commit order."""
    if not is_national():
        raise NotFound("The change feed is national's.")
    return read_feed(session=get_session(), after=args.get("after"), limit=args["limit"])


class SnapshotSchema(Schema):
    listings = fields.List(fields.List(fields.Raw()), metadata={"description": "[code, version, sha256] by code"})
    digest = fields.String()


@blp.get("/nodes/<code>/snapshot")
@replica_read
@blp.doc(security=[{"bearerAuth": []}])
@require_node_token("listings:read")
@blp.response(200, SnapshotSchema)
def node_snapshot(code):
    """This node's copy of one origin's listings, to reconcile against."""
    if not re.fullmatch(NODE_CODE_RE, code.upper()):
        raise NotFound(f"No node {code}.")
    return snapshot(session=get_session(), origin=code.upper(), own_code=current_app.config["NODE_CODE"])


@blp.get("/sync/status")
@blp.doc(security=[{"bearerAuth": []}])
@api_auth_required("operator")
@blp.response(200, SyncStatusSchema)
def status():
    """This node's sync state; on national, every origin's too (operators' API token)."""
    config = current_app.config
    return sync_status(session=get_session(), node_code=config["NODE_CODE"], role=config["NODE_ROLE"],
                       stale_after=config.get("SYNC_STALE_AFTER", DEFAULT_STALE_AFTER))  # fmt: skip
