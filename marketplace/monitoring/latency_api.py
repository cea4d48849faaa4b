"""`GET /federation/v1/latency` (every node's own links) and `GET /registry/v1/latency` (national's matrix)."""

from flask import current_app
from flask_smorest import Blueprint

from ..db import get_session
from ..federation.guard import require_node_token
from .latency import latency_matrix, measured_links
from .schemas import LinksSchema

blp = Blueprint("latency_api", __name__, description="Round trips between nodes")
national_blp = Blueprint("latency_matrix_api", __name__, description="Round trips between nodes (national)")


@blp.get("/federation/v1/latency")
@blp.doc(security=[{"bearerAuth": []}])
@require_node_token("registry:read")
@blp.response(200, LinksSchema)
def own_links():
    """The round trips this node measured to its parent and to national, over the last hour."""
    return {"links": measured_links(session=get_session(), from_code=current_app.config["NODE_CODE"])}


@national_blp.get("/registry/v1/latency")
@national_blp.response(200, LinksSchema)
def matrix():
    """Every link measured in the federation: national's own, and what each node reported."""
    return {"links": latency_matrix(session=get_session(), national_code=current_app.config["NODE_CODE"])}
