"""`POST /api/v1/matches`: demand matching over this node's copy of the national catalogue (PROTOCOL.md §8)."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from ..db import get_session
from ..listings.documents import json_response
from .match_schemas import MatchResultSchema, MatchSchema, result_document
from .matching import match_demand

blp = Blueprint("matches_api", __name__, url_prefix="/api/v1/matches", description="Demand matching")


@blp.route("")
class Matches(MethodView):
    @blp.arguments(MatchSchema(unknown=RAISE))
    @blp.response(200, MatchResultSchema)
    def post(self, data):
        """Ranked offers for a demand, from listings of every node; changes nothing, needs no account."""
        session = get_session()
        result = match_demand(session=session, demand=data["demand"])
        answer = result_document(result)
        session.rollback()  # read only
        return json_response(answer)
