"""Searching the audit log: `GET /api/v1/audit` for a node's operators, newest first, by cursor."""

from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import or_, select
from sqlmodel import Session

from ..accounts.auth import api_auth_required
from ..db import get_session
from ..inputs import Moment
from ..models import AuditEntry

blp = Blueprint("audit_api", __name__, url_prefix="/api/v1/audit", description="The audit log (operators)")
MAX_PAGE = 200


class AuditQuerySchema(Schema):
    actor = fields.String(validate=validate.Length(max=254), metadata={"description": "exact email, node or system"})
    action = fields.String(validate=validate.Length(max=40), metadata={"description": "exact, or a prefix ending in ."})
    object = fields.String(validate=validate.Length(max=120),
                           metadata={"description": "kind:value exactly (listing:R11-…), or a bare value of any kind"})
    since = Moment(format="iso", metadata={"description": "RFC 3339 with offset"})
    before = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                            metadata={"description": "the previous page's next_before"})  # fmt: skip
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime(format="iso")
    actor = fields.String()
    action = fields.String()
    object = fields.String()
    detail = fields.String()
    address = fields.String()
    request_id = fields.String()


class AuditPageSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema))
    next_before = fields.Integer(allow_none=True)


def search_audit(*, session: Session, filters: dict) -> dict:
    """Entries matching every filter given, newest first; `next_before` continues the listing."""
    query = select(AuditEntry)
    if filters.get("actor"):
        query = query.where(AuditEntry.actor == filters["actor"])
    if filters.get("action"):
        action = filters["action"]
        query = query.where(
            AuditEntry.action.startswith(action) if action.endswith(".") else AuditEntry.action == action
        )
    if filters.get("object"):
        wanted = filters["object"]
        if ":" in wanted:
            query = query.where(AuditEntry.object == wanted)
        else:  # a bare code or email finds it whatever its kind: order:…, listing:…, node:…
            of_any_kind = AuditEntry.object.endswith(":" + wanted, autoescape=True)  # % and _ are literal
            query = query.where(or_(AuditEntry.object == wanted, of_any_kind))
    if filters.get("since"):
        query = query.where(AuditEntry.at >= filters["since"])
    if filters.get("before"):
        query = query.where(AuditEntry.id < filters["before"])
    limit = filters.get("limit", 50)
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return {"entries": page, "next_before": page[-1].id if len(rows) > limit else None}


@blp.get("")
@blp.doc(security=[{"bearerAuth": []}])
@api_auth_required("operator")
@blp.arguments(AuditQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, AuditPageSchema)
def audit(filters):
    """The audit log: sign-ins, tokens, listing changes, reviews, suspensions, keys; filter by actor, action,
    object and since."""
    return search_audit(session=get_session(), filters=filters)
