"""What every answer carries for the browser's sake, and who the client is behind trusted proxies."""

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

# No inline script or style anywhere: pages load only this node's own files. `form-action` is left
# out on purpose: signing in with the national identity ends in a redirect to another node, which
# browsers check against `form-action` after the sign-in form is posted.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000"


def no_store(response: Response) -> Response:
    """Mark an answer that shows a secret (a new API token, an access token): no cache may keep it."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Add the headers to every answer; trust TRUSTED_PROXIES hops of X-Forwarded-For/-Proto."""
    app.after_request(_security_headers)
    hops = int(app.config.get("TRUSTED_PROXIES", 0))
    if hops > 0:
        # Each trusted proxy appends the address it saw; more hops than that are the client's to forge.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
