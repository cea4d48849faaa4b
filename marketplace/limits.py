"""Rate limits on the doors people knock on: sign-in, sign-up, applications.

Each door is counted per client address (the peer, or the address the TRUSTED_PROXIES put in
X-Forwarded-For) and, where an account is named, per account too: one address cannot guess
passwords quickly, nor can many addresses guess one account's. With several workers the counts
must be shared: RATELIMIT_STORAGE_URI=redis://...
"""

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)


@limiter.request_filter
def _reading() -> bool:
    """Every limit is on a POST: reads (every search, every page view) skip the limiter's bookkeeping."""
    return request.method in ("GET", "HEAD", "OPTIONS")


def sign_in_limit() -> str:
    """Per address; the default slows password guessing to a crawl."""
    return current_app.config["SIGN_IN_LIMIT"]


def sign_in_account_limit() -> str:
    """Failed sign-ins per account, from whatever addresses."""
    return current_app.config["SIGN_IN_ACCOUNT_LIMIT"]


def sign_in_account_key() -> str:
    """The account a sign-in names (its normalized email); empty skips the limit."""
    email = request.form.get("email", "").strip().lower()[:254]
    return f"account:{email}" if email else ""


def failed_sign_in(response) -> bool:
    """Only wrong passwords count against an account: its owner signing in costs nothing."""
    return response.status_code == 401


def sign_up_limit() -> str:
    return current_app.config["SIGN_UP_LIMIT"]


def apply_limit() -> str:
    """Node applications per address."""
    return current_app.config["APPLY_LIMIT"]


def apply_account_limit() -> str:
    """Node applications per account."""
    return current_app.config["APPLY_ACCOUNT_LIMIT"]


def init_app(app: Flask) -> None:
    """Limits are kept in memory per process by default; RATELIMIT_STORAGE_URI=redis://... shares them."""
    app.config.setdefault("SIGN_IN_LIMIT", "10 per minute")
    app.config.setdefault("SIGN_IN_ACCOUNT_LIMIT", "5 per minute;20 per hour")
    app.config.setdefault("SIGN_UP_LIMIT", "20 per hour")
    app.config.setdefault("APPLY_LIMIT", "10 per hour")
    app.config.setdefault("APPLY_ACCOUNT_LIMIT", "5 per hour")
    limiter.init_app(app)
