"""`/healthz`: whether this node can do its job, and if not, why."""

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from ..db import get_session
from ..federation.keys import KeysMissing, signing_key

blp = Blueprint("health", __name__, description="Node health")


def problems() -> list[dict]:
    """What stops this node from doing its job: its database does not answer, or it has no signing keys."""
    found = []
    try:
        get_session().execute(text("SELECT 1"))
    except Exception as error:  # any database failure means: cannot serve
        current_app.logger.warning("health check: database unreachable: %s", error)
        found.append(
            {"check": "database", "reason": "database_unreachable", "message": "The database does not answer."}
        )
    try:
        signing_key()
    except KeysMissing as error:
        found.append({"check": "signing_keys", "reason": error.reason, "message": error.message})
    return found


@blp.get("/healthz")
@blp.doc(responses={200: {"description": "The node can serve"},
                    503: {"description": "The node cannot do its job: `problems` says why"}})  # fmt: skip
def healthz():
    """Answer 200 while the node can serve; 503 with the problems (database, signing keys) otherwise."""
    config = current_app.config
    body = {"node_code": config["NODE_CODE"], "role": config["NODE_ROLE"], "public_url": config["PUBLIC_URL"]}
    found = problems()
    if found:
        return {"status": "unavailable", "problems": found, **body}, 503
    return {"status": "ok", **body}
