"""The registry cannot be squatted or self-approved (PROTOCOL.md §7).

Applying needs an account; an account has a few applications waiting at most; applying is rate-limited
per account and per address; an undecided application lapses after the review period and frees its code;
nobody reviews their own application; a local reviewer reviews only their province or industry.
"""

import itertools
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from marketplace.limits import limiter
from marketplace.models import NodeApplication, Review, User
from marketplace.models.types import utcnow

from ..conftest import form_token, sign_in
from ..factories import bearer, make_user
from ..pages import field_error, page_text
from .factories import Applicant, applicant, approved_regional, industry_application, regional_application, staff

API = "/registry/v1"
_hosts = itertools.count(1)


def count(session, model=NodeApplication) -> int:
    return session.scalar(select(func.count()).select_from(model))


def submit(client, document, headers=None, address="127.0.0.1"):
    headers = Applicant.headers if headers is None else headers
    return client.post(f"{API}/applications", json=document, headers=headers, environ_base={"REMOTE_ADDR": address})


def review(client, application_id, headers, stage="final", decision="approve"):
    body = {"stage": stage, "decision": decision, "reason": "Checked against the notice."}
    return client.post(f"{API}/applications/{application_id}/reviews", json=body, headers=headers)


def address() -> str:
    number = next(_hosts)
    return f"203.0.{number // 250}.{number % 250 + 1}"


def age(session, application_id: int, days: int) -> None:
    """Make an application `days` old."""
    session.execute(
        update(NodeApplication)
        .where(NodeApplication.id == application_id)
        .values(created_at=utcnow() - timedelta(days=days))
    )
    session.flush()


# --- applying needs an account --------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer cpn_not-a-token", "Basic dXNlcjpwYXNz"])
def test_applying_through_the_api_needs_an_accounts_token(client, db_session, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = submit(client, regional_application("44"), headers=headers)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(db_session) == 0


def test_an_applications_access_token_is_no_account(client, db_session):
    """The token handed out at submission reads that application; it applies for nothing."""
    access = submit(client, regional_application("44")).get_json()["access_token"]
    response = submit(client, regional_application("31"), headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 401 and count(db_session) == 1


def test_the_apply_page_sends_visitors_to_sign_in_and_stores_nothing(app, db_session):
    visitor = app.test_client()
    page = visitor.get("/registry/apply")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    form = {"role": "regional", "requested_code": "R44", "province": "44", "parent": "N0",
            "csrf_token": form_token(visitor, "/login")}  # fmt: skip
    posted = visitor.post("/registry/apply", data=form)
    assert posted.status_code == 302 and posted.headers["Location"].startswith("/login")
    assert count(db_session) == 0


def test_any_account_may_apply_and_is_recorded(client, db_session):
    submitted = submit(client, regional_application("44"))
    assert submitted.status_code == 201
    assert db_session.get(NodeApplication, submitted.get_json()["id"]).applicant_id == Applicant.user.id
    assert submitted.headers["Cache-Control"] == "no-store"  # the access token is in it
    # The applicant's account reads it too, without the access token.
    mine = client.get(f"{API}/applications/{submitted.get_json()['id']}", headers=Applicant.headers)
    assert mine.status_code == 200 and mine.get_json()["lapses_at"]


# --- a few applications waiting per account -------------------------------------------------------------


def test_an_account_has_at_most_three_applications_waiting(client, db_session):
    ids = [submit(client, regional_application(p, public_url=f"https://n{p}.example.cn")).get_json()["id"]
           for p in ("44", "31", "32")]  # fmt: skip
    fourth = submit(client, regional_application("33", public_url="https://n33.example.cn"))
    body = fourth.get_json()
    assert fourth.status_code == 409 and body["reason"] == "too_many_pending"
    assert "at most 3 may wait at a time" in body["message"]
    assert count(db_session) == 3

    national = bearer(db_session, staff(db_session, "national_reviewer"))
    assert review(client, ids[0], national, decision="reject").status_code == 201
    assert submit(client, regional_application("33", public_url="https://n33.example.cn")).status_code == 201
    # Another account is not held back by this one's applications.
    other = bearer(db_session, make_user(db_session, role="seller"))
    assert (
        submit(client, regional_application("34", public_url="https://n34.example.cn"), headers=other).status_code
        == 201
    )


# --- rate limits per account and per address ------------------------------------------------------------


@pytest.fixture
def small_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "APPLY_LIMIT", "2 per hour")
    monkeypatch.setitem(app.config, "APPLY_ACCOUNT_LIMIT", "2 per hour")
    monkeypatch.setitem(app.config, "REGISTRY_MAX_PENDING", 100)
    limiter.reset()
    yield
    limiter.reset()


def test_one_account_is_rate_limited_from_any_address(client, db_session, small_limits):
    statuses = [submit(client, regional_application(p), address=address()).status_code for p in ("44", "31", "32")]
    assert statuses == [201, 201, 429]
    assert count(db_session) == 2


def test_one_address_is_rate_limited_whatever_the_account(client, db_session, small_limits):
    here = address()
    accounts = [bearer(db_session, make_user(db_session, role="buyer")) for _ in range(3)]
    statuses = [submit(client, regional_application(p), headers=h, address=here).status_code
                for p, h in zip(("44", "31", "32"), accounts, strict=True)]  # fmt: skip
    assert statuses == [201, 201, 429]
    elsewhere = submit(client, regional_application("32"), headers=accounts[2], address=address())
    assert elsewhere.status_code == 201


# --- the review period: an undecided application lapses and frees its code ----------------------------------


def test_an_application_not_decided_in_time_lapses_and_frees_its_code(client, db_session):
    squatter = submit(client, regional_application("44")).get_json()
    age(db_session, squatter["id"], days=31)
    newcomer = bearer(db_session, make_user(db_session, role="buyer"))
    fresh = submit(client, regional_application("44"), headers=newcomer)
    assert fresh.status_code == 201, fresh.get_json()
    old = db_session.get(NodeApplication, squatter["id"])
    db_session.refresh(old)
    assert old.status == "lapsed" and old.decided_at is not None

    token = {"Authorization": f"Bearer {squatter['access_token']}"}
    shown = client.get(f"{API}/applications/{squatter['id']}", headers=token).get_json()
    assert shown["status"] == "lapsed" and shown["due_stage"] is None and shown["lapses_at"] is None
    national = bearer(db_session, make_user(db_session, role="national_reviewer"))
    late = review(client, squatter["id"], national)
    assert late.status_code == 409 and "lapsed already" in late.get_json()["message"]
    assert count(db_session, Review) == 0


def test_a_day_before_the_period_ends_the_code_is_still_held(client, db_session):
    waiting = submit(client, regional_application("44")).get_json()
    age(db_session, waiting["id"], days=29)
    other = bearer(db_session, make_user(db_session, role="buyer"))
    assert submit(client, regional_application("44"), headers=other).status_code == 409


def test_lapsed_applications_no_longer_count_as_waiting(client, db_session):
    ids = [submit(client, regional_application(p)).get_json()["id"] for p in ("44", "31", "32")]
    age(db_session, ids[0], days=40)
    assert submit(client, regional_application("33")).status_code == 201


def test_the_lapse_command_sweeps_overdue_applications(app, client, db_session):
    first = submit(client, regional_application("44")).get_json()["id"]
    second = submit(client, regional_application("31")).get_json()["id"]
    age(db_session, first, days=31)
    result = app.test_cli_runner().invoke(args=["registry", "lapse"])
    assert result.exit_code == 0 and "1 application(s) lapsed after 30 days" in result.output
    statuses = dict(db_session.execute(select(NodeApplication.id, NodeApplication.status)).all())
    assert statuses == {first: "lapsed", second: "submitted"}


def test_the_review_period_is_configured(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRY_REVIEW_DAYS", 7)
    waiting = submit(client, regional_application("44")).get_json()
    age(db_session, waiting["id"], days=8)
    other = bearer(db_session, make_user(db_session, role="buyer"))
    assert submit(client, regional_application("44"), headers=other).status_code == 201


# --- nobody reviews their own application ---------------------------------------------------------------


def test_a_reviewer_cannot_approve_their_own_application(client, db_session):
    insider = make_user(db_session, role="national_reviewer")
    headers = bearer(db_session, insider)
    own = submit(client, regional_application("44"), headers=headers).get_json()
    refused = review(client, own["id"], headers)
    body = refused.get_json()
    assert refused.status_code == 403 and body["reason"] == "own_application"
    assert "someone else must review it" in body["message"]
    assert count(db_session, Review) == 0 and db_session.get(NodeApplication, own["id"]).status == "submitted"
    colleague = bearer(db_session, make_user(db_session, role="national_reviewer"))
    assert review(client, own["id"], colleague).status_code == 201


def test_a_local_reviewer_cannot_pass_their_own_industry_application(client, db_session):
    approved_regional(db_session, "44")
    local = staff(db_session, "local_reviewer", "J")
    headers = bearer(db_session, local)
    own = submit(client, industry_application("J"), headers=headers).get_json()
    assert review(client, own["id"], headers, stage="initial").status_code == 403


def test_the_review_pages_hide_and_refuse_ones_own_application(app, db_session):
    insider = make_user(db_session, role="national_reviewer")
    browser = app.test_client()
    sign_in(browser, insider)
    own = submit(browser, regional_application("44"), headers=bearer(db_session, insider)).get_json()
    assert "Review R44" not in page_text(browser.get("/registry/review"))
    assert "Review this application" not in page_text(browser.get(f"/registry/applications/{own['id']}"))
    path = f"/registry/applications/{own['id']}/review"
    data = {
        "stage": "final",
        "decision": "approve",
        "reason": "Looks fine to me.",
        "csrf_token": form_token(browser, path),
    }
    response = browser.post(path, data=data)
    assert response.status_code == 403 and "someone else must review it" in field_error(response, "stage")
    assert count(db_session, Review) == 0


# --- a local reviewer reviews only their province or industry ---------------------------------------------


@pytest.mark.parametrize(("scope", "allowed"), [("44", True), ("J", True), ("31", False), ("Q", False), (None, False)])
def test_a_local_reviewer_reviews_only_their_scope(client, db_session, scope, allowed):
    """IJ01 under R44 is Guangdong's (44) and finance's (J)."""
    approved_regional(db_session, "44")
    application = submit(client, industry_application("J", parent="R44")).get_json()
    local = staff(db_session, "local_reviewer", scope)
    response = review(client, application["id"], bearer(db_session, local), stage="initial")
    if allowed:
        assert response.status_code == 201
    else:
        body = response.get_json()
        assert response.status_code == 403
        assert body["reason"] == ("no_review_scope" if scope is None else "outside_review_scope")
        assert db_session.get(NodeApplication, application["id"]).status == "submitted"
        assert db_session.scalars(select(Review).where(Review.application_id == application["id"])).first() is None


def test_a_local_reviewers_queue_shows_only_their_scope(app, client, db_session):
    approved_regional(db_session, "44")
    approved_regional(db_session, "31")
    submit(client, industry_application("J", parent="R44"))
    submit(client, industry_application("Q", parent="R31", sequence=1))
    browser = app.test_client()
    sign_in(browser, staff(db_session, "local_reviewer", "31"))
    queue = page_text(browser.get("/registry/review"))
    assert "Review IQ01" in queue and "Review IJ01" not in queue


def test_operators_set_a_local_reviewers_scope_from_the_command_line(app, db_session):
    runner = app.test_cli_runner()
    local = make_user(db_session, role="local_reviewer")
    result = runner.invoke(args=["users", "scope", local.email, "j"])
    assert result.exit_code == 0 and f"{local.email} reviews J" in result.output
    db_session.refresh(local)
    assert local.review_scope == "J"
    assert "neither a province code" in runner.invoke(args=["users", "scope", local.email, "99"]).output
    seller = make_user(db_session, role="seller")
    assert "only local reviewers" in runner.invoke(args=["users", "scope", seller.email, "44"]).output
    created = runner.invoke(args=["users", "create", "lr@gd.example.cn", "--role", "local_reviewer",
                                  "--password", "plum kettle orbit saffron", "--scope", "44"])  # fmt: skip
    assert created.exit_code == 0, created.output
    assert db_session.scalars(select(User.review_scope).where(User.email == "lr@gd.example.cn")).one() == "44"


# --- the public URL of a node -------------------------------------------------------------------------------

NOT_PUBLIC = {
    "http": ("http://gd.example.cn", "must be https"),
    "loopback": ("https://127.0.0.1", "not a public host"),
    "private": ("https://10.0.0.8:8443", "not a public host"),
    "localhost": ("https://localhost", "not a public host"),
    "single-label": ("https://intranet", "not a public host"),
    "internal-name": ("https://node.internal", "not a public host"),
    "link-local-v6": ("https://[fe80::1]", "not a public host"),
    "nat64": ("https://[64:ff9b::a00:1]", "not a public host"),
    "6to4": ("https://[2002:a00:1::1]", "not a public host"),
    "multicast": ("https://224.0.0.251", "not a public host"),
}


@pytest.mark.parametrize(("url", "message"), NOT_PUBLIC.values(), ids=NOT_PUBLIC.keys())
def test_a_nodes_public_url_is_public_https(client, db_session, url, message):
    response = submit(client, regional_application("44", public_url=url))
    body = response.get_json()
    assert response.status_code == 422 and message in body["errors"]["json"]["public_url"][0], body
    assert count(db_session) == 0


def test_development_accepts_http_on_127_0_0_1(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "FEDERATION_ALLOW_PRIVATE_ADDRESSES", True)
    assert submit(client, regional_application("44", public_url="http://127.0.0.1:5044")).status_code == 201


def test_the_apply_page_says_the_url_is_not_public_beside_the_field(app, db_session):
    browser = app.test_client()
    sign_in(browser, applicant(db_session))
    form = {"role": "regional", "requested_code": "R44", "province": "44", "parent": "N0",
            "construction_name": "Guangdong Computing Infrastructure Co.", "registered_capital_cny": "80,000,000",
            "operating_name": "Guangdong Ops Co.", "telecom_licence": "B1-20231234", "contact_name": "Huang Wei",
            "contact_email": "ops@gd.example.cn", "contact_phone": "+86 20 8888 0000",
            "public_url": "https://192.168.1.20", "jwks": json.dumps(regional_application("44")["jwks"])}  # fmt: skip
    response = browser.post("/registry/apply", data=form | {"csrf_token": form_token(browser, "/registry/apply")})
    assert response.status_code == 422 and "not a public host" in field_error(response, "public_url")
    assert count(db_session) == 0


def test_the_status_page_showing_the_access_token_is_never_cached(app, db_session):
    browser = app.test_client()
    sign_in(browser, Applicant.user)
    form = {"role": "regional", "requested_code": "R44", "province": "44", "parent": "N0",
            "construction_name": "Guangdong Computing Infrastructure Co.", "registered_capital_cny": "80,000,000",
            "operating_name": "Guangdong Ops Co.", "telecom_licence": "B1-20231234", "contact_name": "Huang Wei",
            "contact_email": "ops@gd.example.cn", "contact_phone": "+86 20 8888 0000",
            "public_url": "https://gd.example.cn", "jwks": json.dumps(regional_application("44")["jwks"])}  # fmt: skip
    submitted = browser.post("/registry/apply", data=form | {"csrf_token": form_token(browser, "/registry/apply")})
    assert submitted.status_code == 303
    page = browser.get(submitted.headers["Location"])
    assert 'id="access-token"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
