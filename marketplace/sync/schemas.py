"""Events and listing documents as they arrive from other nodes (PROTOCOL.md §6)."""

from marshmallow import RAISE, Schema, fields, validate

from ..identity.codes import NODE_CODE_RE
from ..inputs import Moment, Text
from ..listings.schemas import ListingSchema, SellerSchema
from ..listings.vocabulary import STATUSES

MAX_BATCH = 500
# The events of one push or one feed page, in bytes: well below the 1 MiB a node accepts of a request
# (MAX_CONTENT_LENGTH) and reads of an answer (federation/http.py). 500 listings with long descriptions and
# capacity come to several MiB, so a message is cut by bytes as well as by count.
MAX_BATCH_BYTES = 768 * 1024

MAX_INT = 2**31 - 1  # versions and epochs are INTEGER columns
MAX_BIGINT = 2**63 - 1  # sequence numbers are BIGINT


def fitting(compacts: list[str]) -> int:
    """How many of the leading events fit in one message of MAX_BATCH_BYTES; at least one (a document's fields are
    bounded, so one event is far smaller than a message)."""
    total = 0
    for count, compact in enumerate(compacts):
        total += len(compact) + 3  # compact JWS are ASCII; JSON adds the quotes and a comma
        if total > MAX_BATCH_BYTES and count:
            return count
    return len(compacts)


class RemoteSellerSchema(SellerSchema):
    """The seller of another node's listing: the name is stored in a column of its own, so it must be there."""

    class Meta:
        unknown = RAISE

    name = Text(required=True, validate=validate.Length(min=1, max=100))
    org = Text(load_default="", validate=validate.Length(max=200))


class RemoteListingSchema(ListingSchema):
    """A listing document of another node: every field of §3, the read-only ones included."""

    class Meta:
        unknown = RAISE  # document v1 exactly: what is stored is served back, so nothing unknown gets in

    code = fields.String(required=True, validate=validate.Length(max=20))
    origin = fields.String(required=True, validate=validate.Regexp(rf"^{NODE_CODE_RE}$"))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_INT))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    seller = fields.Nested(RemoteSellerSchema, required=True)
    updated_at = Moment(required=True, format="iso")


class EventSchema(Schema):
    """The payload of a signed event."""

    event_id = Text(required=True, validate=validate.Length(min=1, max=36))
    listing_code = fields.String(required=True, validate=validate.Length(max=20))
    origin = fields.String(required=True, validate=validate.Regexp(rf"^{NODE_CODE_RE}$"))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_INT))
    op = fields.String(required=True, validate=validate.OneOf(("upsert", "delete")))
    epoch = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_INT))
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_BIGINT))
    occurred_at = Moment(required=True, format="iso")
    listing = fields.Dict(required=True)


class EventBatchSchema(Schema):
    """What a node pushes: up to MAX_BATCH compact JWS events."""

    events = fields.List(
        fields.String(validate=validate.Length(min=1, max=65536)),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH, error=f"Send 1 to {MAX_BATCH} events per batch."),
    )


class EventResultSchema(Schema):
    event_id = fields.String(allow_none=True)
    status = fields.String()
    reason = fields.String(allow_none=True)


class PushResultSchema(Schema):
    results = fields.List(fields.Nested(EventResultSchema))
    acked_seq = fields.Integer()


class StreamSchema(Schema):
    stream = fields.String()
    last_seq = fields.Integer()
    updated_at = fields.AwareDateTime(format="iso", allow_none=True)
    last_error = fields.String(allow_none=True)
    last_error_at = fields.AwareDateTime(format="iso", allow_none=True)
    lag_events = fields.Integer()
    lag_seconds = fields.Float()


class OriginSchema(Schema):
    node_code = fields.String()
    status = fields.String()
    last_seq = fields.Integer()
    last_heard_at = fields.AwareDateTime(format="iso", allow_none=True)
    seconds_since = fields.Float(allow_none=True)
    listings = fields.Integer()
    last_healthy_at = fields.AwareDateTime(format="iso", allow_none=True)
    unreachable = fields.Boolean(metadata={"description": "No healthy answer to national's probe for SYNC_STALE_AFTER"})


class SyncStatusSchema(Schema):
    """A node's sync state: up (events sent and acknowledged), down (national's feed), origins (national)."""

    node_code = fields.String()
    role = fields.String()
    outbox_last_seq = fields.Integer()
    up = fields.Nested(StreamSchema)
    down = fields.Nested(StreamSchema)
    origins = fields.List(fields.Nested(OriginSchema))
