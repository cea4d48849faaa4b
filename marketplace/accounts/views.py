"""Pages: sign up, sign in and out, personal API tokens."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from marshmallow import EXCLUDE, ValidationError

from ..db import get_session
from ..errors import DomainError
from ..i18n import _
from ..limits import failed_sign_in, limiter, sign_in_account_key, sign_in_account_limit, sign_in_limit, sign_up_limit
from ..security import no_store
from .schemas import LoginSchema, PasswordChangeSchema, SignupSchema, TokenNameSchema
from .services import (
    DuplicateEmail,
    authenticate,
    change_password,
    create_api_token,
    create_user,
    end_sessions,
    revoke_api_token,
    tokens_of,
)

bp = Blueprint("accounts", __name__)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _home_for(user) -> str:
    return url_for("listings.dashboard") if user.role == "seller" else url_for("listings.search")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(sign_up_limit, methods=["POST"])
def signup():
    """Create a seller or buyer account and sign in."""
    if request.method == "GET":
        return render_template("accounts/signup.html", values={"role": "buyer"}, errors={})
    try:
        data = SignupSchema(unknown=EXCLUDE).load(request.form.to_dict())
        session = get_session()
        user = create_user(session=session, **data)
        session.commit()
    except ValidationError as error:
        return render_template("accounts/signup.html", values=request.form, errors=error.messages), 422
    except DuplicateEmail as error:
        return render_template("accounts/signup.html", values=request.form, errors=error.field_errors()), 422
    login_user(user)
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    return redirect(_home_for(user))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(sign_in_limit, methods=["POST"])
@limiter.limit(sign_in_account_limit, methods=["POST"], key_func=sign_in_account_key, deduct_when=failed_sign_in)
def login():
    """Sign in with email and password."""
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("accounts/login.html", values={}, errors={}, next_url=next_url)
    try:
        data = LoginSchema(unknown=EXCLUDE).load(request.form.to_dict())
    except ValidationError as error:
        return render_template(
            "accounts/login.html", values=request.form, errors=error.messages, next_url=next_url
        ), 422
    session = get_session()
    user = authenticate(session=session, **data)
    if user is None:
        session.commit()  # the failed attempt's audit entry
        errors = {"password": ["Wrong email or password."]}
        return render_template("accounts/login.html", values=request.form, errors=errors, next_url=next_url), 401
    session.commit()  # a password hash upgraded by authenticate()
    login_user(user)
    return redirect(next_url or _home_for(user))


@bp.post("/logout")
def logout():
    """Sign out: the session ends on the server too, so a copy of the cookie no longer signs in."""
    if current_user.is_authenticated:
        session = get_session()
        end_sessions(session=session, user=current_user)
        session.commit()
    logout_user()
    flash(_("Signed out."), "info")
    return redirect(url_for("listings.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change your password; every other session of your account ends."""
    if request.method == "GET":
        return render_template("accounts/password.html", errors={})
    inputs = [current_user.email, current_user.name, current_user.organization]
    session = get_session()
    try:
        data = PasswordChangeSchema(user_inputs=inputs, unknown=EXCLUDE).load(request.form.to_dict())
        change_password(session=session, user=current_user, **data)
    except ValidationError as error:
        return render_template("accounts/password.html", errors=error.messages), 422
    except DomainError as error:
        return render_template("accounts/password.html", errors=error.field_errors()), error.status
    session.commit()
    login_user(current_user._get_current_object())  # this browser stays signed in, under the new nonce
    flash(_("Your password is changed; every other session of your account has ended."), "success")
    return redirect(url_for("accounts.tokens"), 303)


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    """List, create and revoke personal API tokens."""
    session = get_session()
    created, errors, status = None, {}, 200
    if request.method == "POST":
        try:
            data = TokenNameSchema(unknown=EXCLUDE).load(request.form.to_dict())
            created, _token = create_api_token(session=session, user=current_user, name=data["name"])
            session.commit()
        except ValidationError as error:
            errors, status = error.messages, 422
    listed = tokens_of(session=session, user=current_user)
    page = render_template("accounts/tokens.html", tokens=listed, created=created, errors=errors)
    return no_store(make_response(page, status))  # a new token is on it


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of your tokens."""
    session = get_session()
    token = revoke_api_token(session=session, user=current_user, token_id=token_id)
    if token is None:
        abort(404)
    session.commit()
    flash(_("Revoked token %(name)s (%(prefix)s…).", name=token.name, prefix=token.prefix), "info")
    return redirect(url_for("accounts.tokens"))
