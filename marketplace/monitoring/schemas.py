"""Monitoring's documents: round trips between nodes (PROTOCOL.md §10)."""

from marshmallow import EXCLUDE, Schema, fields, validate

from ..identity.codes import NODE_CODE_RE

LinkSchema = Schema.from_dict({
    "from": fields.String(required=True, validate=validate.Regexp(rf"^{NODE_CODE_RE}$"),
                          metadata={"description": "the node that measured"}),
    "to": fields.String(required=True, validate=validate.Regexp(rf"^{NODE_CODE_RE}$"),
                        metadata={"description": "the node whose /healthz it timed"}),
    "rtt_ms_p50": fields.Float(required=True, validate=validate.Range(min=0, max=600_000)),
    "rtt_ms_p95": fields.Float(required=True, validate=validate.Range(min=0, max=600_000)),
    "measured_at": fields.AwareDateTime(required=True, format="iso", metadata={"description": "the latest sample"}),
}, name="Link")  # fmt: skip


class LinksSchema(Schema):
    """What a node says it measured; national reads it leniently (unknown members are left out)."""

    class Meta:
        unknown = EXCLUDE

    links = fields.List(fields.Nested(LinkSchema), required=True, validate=validate.Length(max=1000))
