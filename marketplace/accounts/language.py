"""The language switcher on every page: remember a person's choice and go back where they were."""

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from ..db import get_session
from ..i18n import LOCALE_COOKIE, LOCALE_COOKIE_AGE, known_locale
from ..models import User
from .views import safe_next

bp = Blueprint("language", __name__)


@bp.post("/language")
def choose():
    """Set the interface language (a cookie, and the account of a signed-in person); back to `return_to`."""
    locale = known_locale(request.form.get("locale"))
    if locale is None:
        abort(400, description="Choose one of the offered languages.")
    if current_user.is_authenticated:
        session = get_session()
        session.get(User, current_user.id).locale = locale
        session.commit()
    response = redirect(safe_next(request.form.get("return_to")) or url_for("listings.home"), 303)
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        max_age=LOCALE_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response
