"""“Sign in with the national identity”: this node as an OpenID Connect relying party of national.

The code flow with PKCE (S256), a state and a nonce kept in the signed session; the code is
exchanged with this node's own key (private_key_jwt). A person gets a local account linked to
their national subject; local accounts keep working as they were.
"""

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_login import login_user

from ..db import about_to_write, get_session
from ..federation.client import authenticated_form, national_issuer
from ..federation.guard import national_keys
from ..federation.http import FetchRefused, fetch
from ..federation.scopes import CALLBACK_PATH
from ..federation.tokens import TokenRejected, verify_id_token
from ..i18n import _
from ..i18n.messages import translate_message
from .services import link_national_person
from .views import safe_next

bp = Blueprint("national_login", __name__, url_prefix="/auth/national")
_PENDING = "national_sign_in"
SCOPE = "openid profile email"


def _redirect_uri() -> str:
    return current_app.config["PUBLIC_URL"] + CALLBACK_PATH


@bp.get("/login")
def start():
    """Send the person to national to sign in, remembering how to check the answer."""
    if not current_app.config["NATIONAL_URL"]:
        abort(404)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    pending = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24), "verifier": verifier,
               "next": safe_next(request.args.get("next"))}  # fmt: skip
    session[_PENDING] = pending
    query = urlencode({
        "response_type": "code", "client_id": current_app.config["NODE_CODE"], "redirect_uri": _redirect_uri(),
        "scope": SCOPE, "state": pending["state"], "nonce": pending["nonce"],
        "code_challenge": challenge, "code_challenge_method": "S256",
    })  # fmt: skip
    return redirect(f"{national_issuer()}/oauth/authorize?{query}")


def _failed(message: str):
    flash(_("Signing in with the national identity failed: %(problem)s", problem=translate_message(message)), "error")
    return redirect(url_for("accounts.login"))


@bp.get("/callback")
def callback():
    """National sent the person back: check the answer, exchange the code, sign the person in."""
    pending = session.pop(_PENDING, None)
    state = request.args.get("state", "")
    if not pending or not secrets.compare_digest(state, pending["state"]):
        abort(400, description="This sign-in was not started here (state does not match).")
    if "error" in request.args:
        return _failed(request.args.get("error_description") or request.args["error"])
    form = authenticated_form(grant_type="authorization_code", code=request.args.get("code", ""),
                              redirect_uri=_redirect_uri(), code_verifier=pending["verifier"])  # fmt: skip
    try:
        answer = fetch("POST", national_issuer() + "/oauth/token", data=form)
        tokens = answer.json()
        if answer.status_code != 200 or "id_token" not in tokens:
            return _failed(tokens.get("error_description") or tokens.get("error") or f"HTTP {answer.status_code}")
        claims = verify_id_token(
            tokens["id_token"],
            issuer=national_issuer(),
            client_id=current_app.config["NODE_CODE"],
            nonce=pending["nonce"],
            keys=national_keys,
        )
        profile = fetch("GET", national_issuer() + "/oauth/userinfo",
                        headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()  # fmt: skip
    except (FetchRefused, ValueError) as error:
        return _failed(str(error))
    except TokenRejected as error:
        return _failed(error.description)
    if profile.get("sub") != claims["sub"]:
        return _failed(_("national's answers disagree about who you are."))
    about_to_write()  # the account is looked up, then made: one writing transaction
    db = get_session()
    user, problem = link_national_person(session=db, subject=claims["sub"], email=profile.get("email", ""),
                                         name=profile.get("name") or claims["sub"],
                                         organization=profile.get("organization", ""))  # fmt: skip
    if user is None:
        return _failed(problem)
    db.commit()
    login_user(user)
    flash(_("Signed in as %(name)s with the national identity.", name=user.name), "success")
    return redirect(pending["next"] or url_for("listings.home"))
