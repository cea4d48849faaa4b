"""`/federation/v1`: endpoints other nodes call with national's tokens."""

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from .guard import require_node_token
from .scopes import node_urn

blp = Blueprint("federation_api", __name__, url_prefix="/federation/v1", description="Node-to-node calls")


class WhoamiSchema(Schema):
    node_code = fields.String(metadata={"description": "The caller's node code, as its token says"})
    audience = fields.String(metadata={"description": "This node's URN"})


@blp.get("/whoami")
@blp.doc(security=[{"bearerAuth": []}])
@require_node_token("registry:read")
@blp.response(200, WhoamiSchema)
def whoami():
    """Who is calling, as the token says: checks the whole chain end to end."""
    return {"node_code": g.federation_caller["node_code"], "audience": node_urn(current_app.config["NODE_CODE"])}
