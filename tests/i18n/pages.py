"""Rendering page routes in a language, as one role, and which routes are pages."""

from marketplace.i18n import MACHINE_PREFIXES

from ..conftest import form_token, sign_in
from ..factories import make_user
from .english import english_words

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
# Endpoints that answer machines, or only redirect: not pages people read.
NOT_PAGES = {"static", "swagger_assets", "national_login.start", "national_login.callback"}
NAMES = {"buyer": "李娜", "seller": "王磊", "operator": "赵敏", "local_reviewer": "黄伟", "national_reviewer": "周洁"}


def page_endpoints(app) -> set[str]:
    """Every endpoint that answers a GET with a page for people."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in NOT_PAGES and not rule.rule.startswith(MACHINE_PREFIXES)
    }


def browser_as(app, db_session, role: str | None, **user_fields):
    """A test client for `role` (None: anonymous), signed in through the login page; and the user."""
    client = app.test_client()
    if role is None:
        return client, None
    user = make_user(db_session, role=role, name=user_fields.pop("name", NAMES[role]), **user_fields)
    sign_in(client, user)
    return client, user


def assert_chinese(response, allowed: set[str] = frozenset()) -> None:
    """The page is in Chinese: `<html lang="zh-CN">` and no English word outside codes and names."""
    body = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in body
    left = english_words(body, allowed)
    assert not left, f"English left on {response.request.path}: {sorted(set(left))}"


__all__ = ["ZH", "assert_chinese", "browser_as", "form_token", "page_endpoints"]
