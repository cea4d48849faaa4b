"""National's OpenID Connect endpoints: discovery, authorization, userinfo."""

from flask import current_app, jsonify, redirect, request, url_for
from flask_login import current_user
from flask_smorest import Blueprint

from ..db import about_to_write, get_session
from ..identity.codes import NATIONAL_CODE
from ..inputs import ascii_digits
from ..models import User
from .authority import is_revoked, issuer
from .authserver import server
from .guard import national_keys
from .oauth_views import authorization_server_metadata
from .oidc import openid_configuration, user_info
from .scopes import PERSON_SCOPES, node_urn
from .tokens import TokenRejected, bearer_token, verify_access_token

blp = Blueprint("oidc", __name__, description="National identity (OpenID Connect)")


@blp.get("/.well-known/openid-configuration")
@blp.doc(responses={200: {"description": "OpenID Connect discovery"}})
def discovery():
    """OpenID Connect discovery of the national identity provider."""
    metadata = authorization_server_metadata() | openid_configuration()
    metadata["grant_types_supported"] = ["authorization_code", "client_credentials"]
    metadata["scopes_supported"] = list(PERSON_SCOPES) + metadata["scopes_supported"]
    return jsonify(metadata)


def _oauth_error(error):
    body = {"error": error.error, "error_description": error.description or error.error}
    return jsonify(body), 400


@blp.get("/oauth/authorize")
@blp.doc(responses={302: {"description": "Back to the node with a code"}, 400: {"description": "OAuth error"}})
def authorize():
    """Sign a person in for a node: the code flow with PKCE (S256), for registered redirect URIs only."""
    from authlib.oauth2 import OAuth2Error

    about_to_write()  # reads the person and the client, then stores the code: one writing transaction
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=request.full_path))
    try:
        # Checked before anything is sent anywhere: a bad client or redirect URI, or a request
        # without PKCE, is answered here and never redirected.
        grant = server.get_consent_grant(end_user=current_user)
    except OAuth2Error as error:
        return _oauth_error(error)
    return server.create_authorization_response(grant=grant, grant_user=current_user)


@blp.route("/oauth/userinfo", methods=["GET", "POST"])
@blp.doc(responses={200: {"description": "Claims about the person"}, 401: {"description": "Bad token"}})
def userinfo():
    """The signed-in person's claims, for an access token from the code flow."""
    token = bearer_token()
    try:
        if token is None:
            raise TokenRejected("An access token is required.")
        claims = verify_access_token(token, issuer=issuer(), audience=node_urn(NATIONAL_CODE),
                                     scope="openid", keys=national_keys, for_node=False)  # fmt: skip
        if is_revoked(claims["jti"]):
            raise TokenRejected("The token was revoked.")
        user_id = str(claims["sub"]).removeprefix("cpn-")
        user = get_session().get(User, int(user_id)) if ascii_digits(user_id) and len(user_id) <= 10 else None
        if user is None:
            raise TokenRejected("No such person.")
    except TokenRejected as error:
        response = jsonify({"error": error.error, "error_description": error.description})
        response.headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
        return response, error.status
    current_app.logger.debug("userinfo for %s", claims["sub"])
    return jsonify(dict(user_info(user, claims["scope"])))
