"""Every answer carries the browser's security headers; answers showing a secret are never cached."""

import re

import pytest

from marketplace.security import CONTENT_SECURITY_POLICY

from ..conftest import form_token, sign_in

PAGES = ["/", "/listings", "/login", "/signup", "/api/docs", "/api/openapi.json", "/healthz", "/static/style.css",
         "/listings/no-such-code", "/api/v1/listings?per_page=1"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code < 500
    policy = response.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'" and directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain http: HSTS would mean nothing


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://gd.example.cn")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_post_that_fails_carries_them_too(client):
    response = client.post("/login", data={"email": "x@example.cn", "password": "nope", "csrf_token": "forged"})
    assert response.status_code == 400
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/", "/listings", "/login", "/signup", "/api/docs"])
def test_pages_have_no_inline_script_style_or_handlers(client, seller, path):
    """What the policy would block must not be on the pages in the first place."""
    sign_in(client, seller)
    html = client.get(path).get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert "javascript:" not in html


def test_swagger_ui_starts_from_a_file_of_this_node(client):
    html = client.get("/api/docs").get_data(as_text=True)
    assert '<script src="/static/swagger-init.js"></script>' in html
    assert 'data-spec-url="/api/openapi.json"' in html
    assert client.get("/static/swagger-init.js").status_code == 200


def test_a_new_api_token_is_never_cached(client, seller):
    sign_in(client, seller)
    response = client.post("/tokens", data={"name": "ci", "csrf_token": form_token(client, "/tokens")})
    assert response.status_code == 200 and 'id="new-token"' in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
