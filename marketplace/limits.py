"""Rate limits on the doors people knock on: sign-in, sign-up, applications."""

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


def sign_up_limit() -> str:
    return current_app.config["SIGN_UP_LIMIT"]


def init_app(app: Flask) -> None:
    """Limits are kept in memory per process by default; RATELIMIT_STORAGE_URI=redis://... shares them."""
    app.config.setdefault("SIGN_IN_LIMIT", "10 per minute")
    app.config.setdefault("SIGN_UP_LIMIT", "20 per hour")
    limiter.init_app(app)
