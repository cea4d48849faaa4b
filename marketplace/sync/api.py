"""`/federation/v1/events`: nodes push signed listing events up the tree (PROTOCOL.md §6)."""

from flask import current_app, g
from flask_smorest import Blueprint
from joserfc.jwk import KeySet

from ..db import get_session
from ..federation.cache import app_cache
from ..federation.client import national_issuer
from ..federation.guard import require_node_token
from ..federation.http import FetchRefused, fetch
from .apply import Directory, apply_batch, national_directory
from .schemas import EventBatchSchema, PushResultSchema

blp = Blueprint("sync_api", __name__, url_prefix="/federation/v1", description="Listing sync")
DIRECTORY_TTL = 30


def _remote_directory() -> Directory:
    """National's directory as seen from another node, each answer kept DIRECTORY_TTL seconds."""

    def entry(code: str) -> dict | None:
        def ask():
            try:
                response = fetch("GET", f"{national_issuer()}/registry/v1/nodes/{code}")
            except FetchRefused:
                return None
            return response.json() if response.status_code == 200 else None

        return app_cache("directory", DIRECTORY_TTL).get(code, ask)

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
    directory = national_directory(session) if national else _remote_directory()
    answer = apply_batch(session=session, caller=g.federation_caller["client_id"], events=batch["events"],
                         directory=directory, own_code=current_app.config["NODE_CODE"])  # fmt: skip
    session.commit()
    return answer
