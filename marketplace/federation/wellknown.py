"""`/.well-known/jwks.json`: this node's public signing keys."""

from flask import jsonify
from flask_smorest import Blueprint

from .keys import public_jwks

blp = Blueprint("wellknown", __name__, description="Public keys of this node")


@blp.get("/.well-known/jwks.json")
@blp.doc(responses={200: {"description": "The current and next public signing keys (JWKS)"}})
def jwks():
    """This node's public signing keys: current and next."""
    response = jsonify(public_jwks())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response
