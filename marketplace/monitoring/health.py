"""`/healthz`: whether this node can serve."""

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from ..db import get_session

blp = Blueprint("health", __name__, description="Node health")


@blp.get("/healthz")
@blp.doc(responses={200: {"description": "The node can serve"}, 503: {"description": "The database is unreachable"}})
def healthz():
    """Answer 200 while the database answers, 503 otherwise."""
    config = current_app.config
    body = {"node_code": config["NODE_CODE"], "role": config["NODE_ROLE"], "public_url": config["PUBLIC_URL"]}
    try:
        get_session().execute(text("SELECT 1"))
    except Exception:  # any database failure means: cannot serve
        current_app.logger.exception("health check: database unreachable")
        return {"status": "unavailable", **body}, 503
    return {"status": "ok", **body}
