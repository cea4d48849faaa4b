"""Who is asking: session sign-in for pages, Bearer tokens for the API."""

import secrets
from functools import wraps

from flask import Flask, g
from flask import abort as http_abort
from flask_babel import gettext
from flask_login import LoginManager, current_user
from flask_smorest import abort

from ..db import get_session
from ..federation.tokens import bearer_token
from ..inputs import ascii_digits
from ..models import User
from .services import user_for_token

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message_category = "info"
login_manager.localize_callback = gettext  # its "Please log in..." flash, in the reader's language


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user of a session cookie, while the cookie's nonce is still the account's (see User.session_nonce)."""
    user_id, _, nonce = session_id.partition(":")
    if not ascii_digits(user_id) or len(user_id) > 18 or not nonce:
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_nonce.encode(), nonce.encode()):
        return None
    return user


def init_app(app: Flask) -> None:
    """Install sign-in for pages."""
    login_manager.init_app(app)


def bearer_user() -> User | None:
    """The user of the request's Bearer token, if any and valid; cached per request."""
    if "bearer_user" not in g:
        token = bearer_token()
        g.bearer_user = user_for_token(session=get_session(), plain=token) if token else None
    return g.bearer_user


def api_auth_required(*roles: str):
    """Require a valid Bearer token (401) whose user has one of `roles` (403)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = bearer_user()
            if user is None:
                abort(
                    401,
                    message="A valid API token is required: Authorization: Bearer <token>.",
                    headers={"WWW-Authenticate": 'Bearer realm="api"'},
                )
            if roles and user.role not in roles:
                abort(403, message=f"This needs the role {' or '.join(roles)}; your account is a {user.role}.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def page_role_required(*roles: str):
    """Pages: sign in first, then have one of `roles` (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                http_abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator
