"""Registry pages on the national node: apply, follow, review, the node tree, suspensions, overview, resolution."""

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from marketplace.identity.codes import format_code
from marketplace.models import NodeApplication, NodeStatusChange, Review
from marketplace.models.types import CST
from marketplace.registry.services import (
    application_by_token,
    find_node,
    review_application,
    set_node_status,
)
from marketplace.registry.views import decision_chart

from ..conftest import form_token, sign_in
from ..factories import make_listing, make_user
from ..pages import field_error, page_text
from .factories import (
    RULES,
    Applicant,
    approved_regional,
    industry_application,
    private_jwk,
    public_jwks,
    regional_application,
    staff,
)
from .factories import stored_application as submit_stored


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def as_form(document: dict) -> dict[str, str]:
    """An application document as a person fills in the flat form."""
    return {
        "role": document["role"],
        "requested_code": document["requested_code"],
        "province": document["province"] or "",
        "industry": document["industry"] or "",
        "parent": document["parent"],
        "construction_name": document["construction_entity"]["name"],
        "registered_capital_cny": f"{document['construction_entity']['registered_capital_cny']:,}",
        "operating_name": document["operating_entity"]["name"],
        "telecom_licence": document["operating_entity"]["telecom_licence"],
        "contact_name": document["contact"]["name"],
        "contact_email": document["contact"]["email"],
        "contact_phone": document["contact"]["phone"],
        "public_url": document["public_url"],
        "jwks": json.dumps(document["jwks"], indent=2),
    }


def apply(client, form: dict):
    """Submit the application form (not following the redirect), signed in as the test's applicant if need be."""
    if client.get("/registry/apply").status_code == 302:
        sign_in(client, Applicant.user)
    return client.post("/registry/apply", data={**form, "csrf_token": form_token(client, "/registry/apply")})


def applied_id(response) -> int:
    """The application id a successful submission redirected to."""
    assert response.status_code == 303, page_text(response)
    return int(re.fullmatch(r"/registry/applications/(\d+)", response.headers["Location"]).group(1))


def decide(client, application_id: int, decision: str = "approve", reason: str = "Meets the notice.", stage=None):
    """Post the review form of an application, with the stage the form shows unless `stage` is given."""
    path = f"/registry/applications/{application_id}/review"
    page = client.get(path).get_data(as_text=True)
    shown = re.search(r'name="stage" value="([a-z]+)"', page)
    data = {"decision": decision, "reason": reason, "stage": stage or (shown.group(1) if shown else "final"),
            "csrf_token": form_token(client, "/login")}  # fmt: skip
    return client.post(path, data=data)


@pytest.fixture
def new_client(app, db_session):
    """Another browser: its own cookies, the same transaction."""
    return app.test_client


def signed_in_client(new_client, user):
    browser = new_client()
    sign_in(browser, user)
    return browser


def stored_application(session, document: dict) -> NodeApplication:
    application, _token = submit_stored(session, document)
    return application


# --- the application form -----------------------------------------------------------------------------------------


def test_apply_form_has_every_field_of_the_protocol_with_csrf(client):
    sign_in(client, Applicant.user)
    response = client.get("/registry/apply")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    for name in ("role", "requested_code", "province", "industry", "parent", "construction_name",
                 "registered_capital_cny", "operating_name", "telecom_licence", "contact_name", "contact_email",
                 "contact_phone", "public_url", "jwks"):  # fmt: skip
        assert f'name="{name}"' in body, name
    assert 'name="csrf_token"' in body
    assert '<option value="44" >Guangdong</option>' in body  # identity/regions
    assert '<option value="J" >Finance</option>' in body  # identity/industries
    assert '<textarea id="jwks" name="jwks"' in body


def test_regional_node_from_application_to_the_tree(client, db_session, new_client):
    """Apply signed in, follow the status page, a national reviewer approves, the node is active in the tree."""
    response = apply(client, as_form(regional_application("44")))
    application_id = applied_id(response)
    status_page = client.get(response.headers["Location"])
    text = page_text(status_page)
    assert status_page.status_code == 200
    assert f"Application {application_id} for R44 is submitted." in text
    assert "Status submitted — the final review is due, by a national reviewer" in text
    assert "shown only once" in text and "No decision yet." in text
    token = re.search(r'id="access-token">([^<]+)<', status_page.get_data(as_text=True)).group(1)
    assert application_by_token(session=db_session, application_id=application_id, token=token) is not None
    again = client.get(f"/registry/applications/{application_id}")
    assert again.status_code == 200 and token not in again.get_data(as_text=True)  # shown once

    reviewer = signed_in_client(new_client, make_user(db_session, role="national_reviewer", email="nr@national.cn"))
    queue = page_text(reviewer.get("/registry/review"))
    assert "due at the final review" in queue and "Review R44" in queue
    decided = decide(reviewer, application_id, reason="Capital, licence and keys checked.")
    assert decided.status_code == 303 and decided.headers["Location"] == f"/registry/applications/{application_id}"
    assert "R44 is now active in the directory" in page_text(reviewer.get(decided.headers["Location"]))
    assert "Review R44" not in page_text(reviewer.get("/registry/review"))

    # The applicant sees the decision: who, at which stage, why.
    text = page_text(client.get(f"/registry/applications/{application_id}"))
    assert "Status approved" in text
    assert "final approved nr@national.cn (national reviewer) Capital, licence and keys checked." in text
    tree = client.get("/registry/nodes").get_data(as_text=True)
    assert re.search(r'href="/registry/nodes/R44"><code>R44</code></a>.*?Guangdong \(44\).*?badge-active', tree, re.S)
    assert find_node(session=db_session, code="R44").status == "active"


def test_industry_node_needs_initial_then_final_approval(client, db_session, new_client):
    approved_regional(db_session, "44")
    application_id = applied_id(apply(client, as_form(industry_application("J", parent="R44"))))
    assert "the initial review is due, by a local reviewer" in page_text(
        client.get(f"/registry/applications/{application_id}")
    )
    local = signed_in_client(new_client, staff(db_session, "local_reviewer", email="lr@gd.cn"))
    national = signed_in_client(new_client, make_user(db_session, role="national_reviewer", email="nr@national.cn"))
    assert "Review IJ01" in page_text(local.get("/registry/review"))
    assert "Review IJ01" not in page_text(national.get("/registry/review"))

    assert decide(local, application_id, reason="Guangdong finance sector checked.").status_code == 303
    text = page_text(client.get(f"/registry/applications/{application_id}"))
    assert "Status initial approved — the final review is due, by a national reviewer" in text
    assert "initial approved lr@gd.cn (local reviewer) Guangdong finance sector checked." in text
    assert "Review IJ01" not in page_text(local.get("/registry/review"))
    assert "Review IJ01" in page_text(national.get("/registry/review"))

    assert decide(national, application_id).status_code == 303
    assert find_node(session=db_session, code="IJ01").status == "active"
    tree = client.get("/registry/nodes").get_data(as_text=True)
    # IJ01 is drawn inside R44's branch, which is inside national's.
    branch = re.search(r'href="/registry/nodes/R44">.*?</li></ul>', tree, re.S).group(0)
    assert 'href="/registry/nodes/IJ01"' in branch and "Finance (J)" in branch


def test_signed_in_applicant_is_recorded_and_follows_the_application_from_another_browser(db_session, new_client):
    seller = make_user(db_session, role="seller")
    application_id = applied_id(apply(signed_in_client(new_client, seller), as_form(regional_application("31"))))
    assert db_session.get(NodeApplication, application_id).applicant_id == seller.id
    elsewhere = signed_in_client(new_client, seller)  # no token in this browser's session
    assert elsewhere.get(f"/registry/applications/{application_id}").status_code == 200


# --- form errors: beside the field, 422, nothing stored --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("registered_capital_cny", "49,999,999", "must be at least 50,000,000 CNY"),
        ("registered_capital_cny", "eighty million", "Write the registered capital in whole yuan"),
        ("telecom_licence", "X9-123", "Not a telecommunications business licence number"),
        ("jwks", json.dumps({"keys": [private_jwk()]}), "Holds private key material"),
        ("jwks", '{"keys": [ {"kty": "EC", ', "Not valid JSON"),
        ("jwks", "", "Missing data for required field."),
        ("requested_code", "R31", "A regional node of province 44 is R44."),
        ("contact_email", "not-an-email", "Not a valid email address."),
        ("contact_phone", "", "Missing data for required field."),
        ("public_url", "ftp://gd.example.cn", "Not a well-formed http(s) URL."),
        ("province", "", "Required for a regional node."),
        ("parent", "R11", "A regional node's parent is the national node N0."),
    ],
)
def test_form_error_is_shown_beside_the_field_and_nothing_is_stored(client, db_session, field, value, message):
    before = count(db_session, NodeApplication)
    form = as_form(regional_application("44")) | {field: value}
    response = apply(client, form)
    assert response.status_code == 422
    assert message in field_error(response, field)
    assert "The application was not submitted" in page_text(response)
    assert f'id="{field}"' in response.get_data(as_text=True)
    assert 'value="Guangdong Computing Network Operations Co."' in response.get_data(as_text=True)  # kept as typed
    assert count(db_session, NodeApplication) == before


def test_province_taken_is_refused_beside_province_and_nothing_is_stored(client, db_session):
    approved_regional(db_session, "44")
    before = count(db_session, NodeApplication)
    response = apply(client, as_form(regional_application("44")))
    assert response.status_code == 422
    assert field_error(response, "province") == "Province 44 has its regional node already (R44, active)."
    assert count(db_session, NodeApplication) == before


def test_code_under_review_is_refused_beside_the_code(client, db_session):
    pending = stored_application(db_session, regional_application("44"))
    response = apply(client, as_form(regional_application("44")))
    assert response.status_code == 422
    assert (
        field_error(response, "requested_code") == f"R44 is requested by application {pending.id}, still under review."
    )
    assert count(db_session, NodeApplication) == 1


def test_industry_application_under_a_missing_parent_is_refused_beside_parent(client, db_session):
    before = count(db_session, NodeApplication)
    response = apply(client, as_form(industry_application("J", parent="R44")))
    assert response.status_code == 422
    assert "R44 is not a regional node in the directory." in field_error(response, "parent")
    assert count(db_session, NodeApplication) == before


def test_form_accepts_lower_case_codes_plain_capital_and_ed25519_keys(client, db_session):
    ed25519 = public_jwks(kid="ed-1", kty="OKP")
    form = as_form(regional_application("44", jwks=ed25519)) | {"requested_code": "r44",
                                                                  "registered_capital_cny": "80000000"}  # fmt: skip
    application = db_session.get(NodeApplication, applied_id(apply(client, form)))
    assert application.requested_code == "R44" and application.registered_capital_cny == 80_000_000
    assert application.jwks == ed25519


def test_form_without_csrf_token_is_refused_with_a_page(client, db_session):
    response = client.post("/registry/apply", data=as_form(regional_application("44")))
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "CSRF" in page_text(response)
    assert count(db_session, NodeApplication) == 0


# --- who may review what ----------------------------------------------------------------------------------------------

REVIEWERS = ("seller", "buyer", "operator", "local_reviewer", "national_reviewer")
MAY_REVIEW = {"initial": "local_reviewer", "final": "national_reviewer"}


@pytest.mark.parametrize("role", REVIEWERS)
@pytest.mark.parametrize("stage", ["initial", "final"])
def test_review_page_permission_matrix(db_session, new_client, role, stage):
    approved_regional(db_session, "44")
    document = industry_application("J") if stage == "initial" else regional_application("31")
    application = stored_application(db_session, document)
    browser = signed_in_client(new_client, staff(db_session, role))
    allowed = MAY_REVIEW[stage] == role
    page = browser.get(f"/registry/applications/{application.id}/review")
    assert page.status_code == (200 if allowed else 403)
    assert page.mimetype == "text/html"
    reviews = count(db_session, Review)
    response = decide(browser, application.id, stage=stage)
    assert response.status_code == (303 if allowed else 403)
    assert count(db_session, Review) == reviews + (1 if allowed else 0)
    queue = browser.get("/registry/review")
    assert queue.status_code == (200 if role in MAY_REVIEW.values() else 403)


def test_review_pages_send_anonymous_visitors_to_sign_in(client, db_session):
    application = stored_application(db_session, regional_application("31"))
    for path in ("/registry/review", f"/registry/applications/{application.id}/review"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_decided_application_shows_no_form_and_a_post_gets_409(db_session, new_client):
    application = approved_regional(db_session, "44")
    browser = signed_in_client(new_client, make_user(db_session, role="national_reviewer"))
    page = browser.get(f"/registry/applications/{application.id}/review")
    assert page.status_code == 200
    assert 'name="decision"' not in page.get_data(as_text=True)
    assert "This application is approved: no review is due." in page_text(page)
    response = decide(browser, application.id, decision="reject", reason="Changed my mind.", stage="final")
    assert response.status_code == 409
    assert f"Application {application.id} is approved already" in page_text(response)
    assert count(db_session, Review) == 1


def test_stale_stage_is_refused_with_the_services_message(db_session, new_client):
    approved_regional(db_session, "44")
    application = stored_application(db_session, industry_application("J"))
    local = staff(db_session, "local_reviewer")
    review_application(session=db_session, application=application, reviewer=local, stage="initial",
                       decision="approve", reason="Checked.", rules=RULES)  # fmt: skip
    browser = signed_in_client(new_client, make_user(db_session, role="national_reviewer"))
    response = decide(browser, application.id, stage="initial")  # a form loaded before the initial approval
    assert response.status_code == 409
    assert "The final review is due, not the initial one." in field_error(response, "stage")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [({"decision": "approve", "reason": ""}, "reason", "Missing data for required field."),
     ({"decision": "approve", "reason": "k"}, "reason", "Length must be between 2 and 2000."),
     ({"reason": "Looks fine."}, "decision", "Missing data for required field."),
     ({"decision": "maybe", "reason": "Looks fine."}, "decision", "Must be one of: approve, reject.")],
)  # fmt: skip
def test_review_form_errors_are_beside_the_field_and_nothing_is_recorded(db_session, new_client, data, field, message):
    application = stored_application(db_session, regional_application("31"))
    browser = signed_in_client(new_client, make_user(db_session, role="national_reviewer"))
    path = f"/registry/applications/{application.id}/review"
    response = browser.post(path, data={"stage": "final", **data, "csrf_token": form_token(browser, path)})
    assert response.status_code == 422
    assert field_error(response, field) == message
    assert count(db_session, Review) == 0
    db_session.refresh(application)
    assert application.status == "submitted"


# --- who may read an application ------------------------------------------------------------------------------------


def test_applicants_cannot_see_other_applications(db_session, new_client):
    alice, bob = make_user(db_session, role="seller"), make_user(db_session, role="buyer")
    alice_browser, bob_browser = signed_in_client(new_client, alice), signed_in_client(new_client, bob)
    alices = applied_id(apply(alice_browser, as_form(regional_application("31"))))
    bobs = applied_id(apply(bob_browser, as_form(regional_application("32"))))
    for browser, own, other in ((alice_browser, alices, bobs), (bob_browser, bobs, alices)):
        assert browser.get(f"/registry/applications/{own}").status_code == 200
        response = browser.get(f"/registry/applications/{other}")
        assert response.status_code == 404
        assert "Guangdong" not in page_text(response) and "R3" not in page_text(response)
        assert decide(browser, other).status_code == 403  # nor decide on it
    anonymous = new_client()
    for application_id in (alices, bobs, 999_999):
        response = anonymous.get(f"/registry/applications/{application_id}")
        assert response.status_code == 404 and 'name="access_token"' in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["operator", "local_reviewer", "national_reviewer"])
def test_registry_staff_read_every_application(db_session, new_client, role):
    application = stored_application(db_session, regional_application("31"))
    browser = signed_in_client(new_client, make_user(db_session, role=role))
    assert browser.get(f"/registry/applications/{application.id}").status_code == 200


def test_access_token_form_opens_the_application_for_this_browser(db_session, new_client):
    application, token = submit_stored(db_session, regional_application())
    other, _ = submit_stored(db_session, regional_application("31"))
    browser = new_client()
    path = f"/registry/applications/{application.id}"
    empty = browser.post(path, data={"access_token": " ", "csrf_token": form_token(browser, path)})
    assert empty.status_code == 422
    assert field_error(empty, "access_token") == "Enter the access token you were given at submission."
    wrong = browser.post(path, data={"access_token": token + "x", "csrf_token": form_token(browser, path)})
    assert wrong.status_code == 404
    assert field_error(wrong, "access_token") == f"This is not the access token of application {application.id}."
    # A token opens only its own application.
    other_path = f"/registry/applications/{other.id}"
    assert (
        browser.post(other_path, data={"access_token": token, "csrf_token": form_token(browser, path)}).status_code
        == 404
    )
    opened = browser.post(path, data={"access_token": f" {token} ", "csrf_token": form_token(browser, path)})
    assert opened.status_code == 303 and opened.headers["Location"] == path
    page = browser.get(path)
    assert page.status_code == 200 and "Guangdong Computing Infrastructure Co." in page_text(page)
    assert token not in page.get_data(as_text=True)
    assert browser.get(other_path).status_code == 404


# --- the node directory: tree, node pages, suspensions ---------------------------------------------------------------


HEALTH_URL = "https://health.example.cn"


def test_tree_shows_national_regional_and_industry_nodes_with_status(client, db_session):
    approved_regional(db_session, "44")
    approved_regional(db_session, "31")
    # industry_application() cannot take public_url as an override (it passes its own): set it afterwards.
    industry = stored_application(db_session, industry_application("Q", parent="R31") | {"public_url": HEALTH_URL})
    for role, stage in (("local_reviewer", "initial"), ("national_reviewer", "final")):
        review_application(session=db_session, application=industry, reviewer=staff(db_session, role, "31"),
                           stage=stage, decision="approve", reason="Checked.", rules=RULES)  # fmt: skip
    set_node_status(session=db_session, node=find_node(session=db_session, code="R44"), status="suspended",
                    reason="Audit.", actor="ops@national.cn")  # fmt: skip
    response = client.get("/registry/nodes")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    root = re.search(r'<ul class="tree"[^>]*>(.*)</ul>\s*</section>', body, re.S).group(1)
    assert root.index("/registry/nodes/N0") < root.index("/registry/nodes/R31") < root.index("/registry/nodes/IQ01")
    r44 = re.search(r'href="/registry/nodes/R44">.*?</div>', root, re.S).group(0)
    assert "Guangdong (44)" in r44 and "badge-suspended" in r44 and "https://gd.example.cn" in r44
    iq01 = re.search(r'href="/registry/nodes/IQ01">.*?</div>', root, re.S).group(0)
    assert "Health and social work (Q)" in iq01 and "badge-active" in iq01 and HEALTH_URL in iq01
    assert 'action="/resolve"' in body  # the resolve box


def test_node_page_shows_history_and_only_operators_get_the_forms(db_session, new_client):
    approved_regional(db_session, "44")
    for role in (None, "seller", "national_reviewer"):
        browser = signed_in_client(new_client, make_user(db_session, role=role)) if role else new_client()
        page = browser.get("/registry/nodes/R44")
        assert page.status_code == 200 and "Active since approval; never suspended." in page_text(page)
        assert 'name="reason"' not in page.get_data(as_text=True)
    assert new_client().get("/registry/nodes/R99").status_code == 404
    national = new_client().get("/registry/nodes/n0")
    assert national.status_code == 200 and "none: the root of the federation" in page_text(national)


def post_status(browser, code: str, status: str, reason: str):
    path = f"/registry/nodes/{code}"
    return browser.post(f"{path}/status", data={"status": status, "reason": reason,
                                                "csrf_token": form_token(browser, "/login")})  # fmt: skip


def test_operator_suspends_and_reactivates_with_a_reason(db_session, new_client):
    approved_regional(db_session, "44")
    operator = signed_in_client(new_client, make_user(db_session, role="operator", email="ops@national.cn"))
    assert "Suspend R44" in page_text(operator.get("/registry/nodes/R44"))

    missing = post_status(operator, "R44", "suspended", "  ")
    assert missing.status_code == 422
    assert field_error(missing, "reason") == "Missing data for required field."
    assert count(db_session, NodeStatusChange) == 0 and find_node(session=db_session, code="R44").status == "active"

    done = post_status(operator, "R44", "suspended", "Licence under investigation.")
    assert done.status_code == 303 and done.headers["Location"] == "/registry/nodes/R44"
    text = page_text(operator.get("/registry/nodes/R44"))
    assert "R44 is now suspended." in text
    assert "suspended Licence under investigation. ops@national.cn" in text
    assert "Reactivate R44" in text
    assert find_node(session=db_session, code="R44").status == "suspended"
    assert "badge-suspended" in operator.get("/registry/nodes").get_data(as_text=True)

    stale = post_status(operator, "R44", "suspended", "Twice.")  # a form loaded before the first suspension
    assert stale.status_code == 409 and "R44 is suspended already." in page_text(stale)
    assert count(db_session, NodeStatusChange) == 1

    assert post_status(operator, "R44", "active", "Investigation closed.").status_code == 303
    text = page_text(operator.get("/registry/nodes/R44"))
    assert text.index("Licence under investigation.") < text.index("Investigation closed.")
    assert find_node(session=db_session, code="R44").status == "active"
    assert post_status(operator, "R99", "suspended", "No such node.").status_code == 404


@pytest.mark.parametrize("role", ["seller", "buyer", "local_reviewer", "national_reviewer"])
def test_only_operators_change_a_nodes_status(db_session, new_client, role):
    approved_regional(db_session, "44")
    browser = signed_in_client(new_client, make_user(db_session, role=role))
    assert post_status(browser, "R44", "suspended", "Not mine to decide.").status_code == 403
    assert find_node(session=db_session, code="R44").status == "active"
    assert count(db_session, NodeStatusChange) == 0


def test_anonymous_status_change_goes_to_sign_in(client, db_session):
    approved_regional(db_session, "44")
    response = post_status(client, "R44", "suspended", "Anonymous.")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- overview --------------------------------------------------------------------------------------------------------


def test_overview_shows_counts_and_a_chart_for_operators(db_session, new_client):
    approved_regional(db_session, "44")
    approved_regional(db_session, "31")
    set_node_status(session=db_session, node=find_node(session=db_session, code="R31"), status="suspended",
                    reason="Audit.", actor="ops")  # fmt: skip
    stored_application(db_session, industry_application("J", parent="R44"))  # waits for an initial review
    stored_application(db_session, regional_application("32"))  # waits for a final review
    stored_application(db_session, regional_application("33"))
    rejected = stored_application(db_session, regional_application("35"))
    national = make_user(db_session, role="national_reviewer")
    review_application(session=db_session, application=rejected, reviewer=national, stage="final",
                       decision="reject", reason="Capital not paid in.", rules=RULES)  # fmt: skip
    operator = signed_in_client(new_client, make_user(db_session, role="operator"))
    response = operator.get("/registry/overview")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    regional = re.search(r'<tr id="nodes-regional">(.*?)</tr>', body, re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", regional) == ["regional", "1", "1", "2"]
    assert re.sub(r"<[^>]+>", "", re.search(r'id="waiting-initial">(.*?)</dd>', body, re.S).group(1)).split()[0] == "1"
    assert re.sub(r"<[^>]+>", "", re.search(r'id="waiting-final">(.*?)</dd>', body, re.S).group(1)).split()[0] == "2"
    svg = re.search(r"<svg .*?</svg>", body, re.S).group(0)
    today = datetime.now(CST).date().isoformat()  # decisions are counted by the day in China Standard Time
    assert f"<title>{today}: 2 approvals</title>" in svg and f"<title>{today}: 1 rejection</title>" in svg
    # Drawn by the server: no script, nothing loaded from elsewhere (a CSRF token may spell "cdn" by chance).
    assert "<script" not in body and not re.search(r'(?:src|href)="(?:https?:)?//', body)


@pytest.mark.parametrize("role", ["seller", "buyer", "local_reviewer", "national_reviewer"])
def test_overview_is_for_operators_only(db_session, new_client, role):
    assert signed_in_client(new_client, make_user(db_session, role=role)).get("/registry/overview").status_code == 403


def test_decision_chart_fills_days_without_decisions():
    chart = decision_chart({"2025-03-01": {"approve": 2, "reject": 0}, "2025-03-04": {"approve": 0, "reject": 4}})
    assert [day for day, _a, _r in chart["days"]] == ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]
    tallest = max(chart["bars"], key=lambda bar: bar["height"])
    assert (tallest["day"], tallest["kind"], tallest["height"]) == ("2025-03-04", "reject", 180)
    assert [tick["value"] for tick in chart["ticks"]] == [0, 2, 4]
    assert decision_chart({})["days"] == []


# --- resolution ------------------------------------------------------------------------------------------------------


def test_resolve_a_listing_code_to_its_origin(client, db_session, seller):
    approved_regional(db_session, "44")
    listing = make_listing(db_session, seller, node_code="R44")
    response = client.get(f"/resolve?code={listing.code.lower()}")
    text = page_text(response)
    assert response.status_code == 200
    assert (
        "Origin node R44 · regional Node status active Node URL https://gd.example.cn Listing published, version 1"
        in text
    )
    assert f'href="https://gd.example.cn/listings/{listing.code}"' in response.get_data(as_text=True)
    unknown_listing = format_code("R44", "0000ZZZZ")
    text = page_text(client.get(f"/resolve?code={unknown_listing}"))
    assert "Listing not known at national yet" in text and "Open the listing at R44" in text


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [("R44-XYZ", 422, "Not a resource identification code"),
     (format_code("R44", "00000A7Z")[:-1] + "0", 422, "Wrong check character '0': the code is mistyped."),
     (format_code("R99", "00000A7Z"), 404, "No node R99 in the directory.")],
)  # fmt: skip
def test_resolve_explains_bad_and_unknown_codes(client, db_session, code, status, message):
    approved_regional(db_session, "44")
    response = client.get("/resolve", query_string={"code": code})
    assert response.status_code == status
    assert message in field_error(response, "code")
    assert f'value="{code}"' in response.get_data(as_text=True)  # the box keeps what was typed


def test_resolve_page_and_national_home_show_the_search_box(client):
    assert client.get("/resolve").status_code == 200
    home = client.get("/").get_data(as_text=True)
    assert 'id="home-resolve" name="code"' in home and 'action="/resolve"' in home
    for link in ('href="/registry/nodes">Nodes', 'href="/resolve">Resolve', 'href="/registry/apply">Apply'):
        assert link in home


def test_resolve_tells_an_order_code_from_a_listing_code_and_links_to_the_order(client, db_session, seller):
    from ..trading.helpers import order, sellable

    approved_regional(db_session, "44")
    buyer = make_user(db_session, role="buyer", name="B")
    placed = order(db_session, sellable(db_session, seller), buyer)
    # To anyone but its buyer, its seller and the operators, an order's code names nothing known.
    for viewer in (None, make_user(db_session, role="buyer", name="Someone else")):
        if viewer:
            sign_in(client, viewer)
        text = page_text(client.get(f"/resolve?code={placed.code}"))
        assert "an order held at" not in text and "not a listing synced here yet" in text
        assert client.get(f"/registry/v1/resolve/{placed.code}").get_json()["kind"] is None
    client.post("/logout", data={"csrf_token": form_token(client, "/")})
    sign_in(client, buyer)
    response = client.get(f"/resolve?code={placed.code}")
    text, html = page_text(response), response.get_data(as_text=True)
    assert response.status_code == 200 and "Order an order held at R44" in text
    assert f'href="https://gd.example.cn/orders/{placed.code}"' in html and "/listings/" + placed.code not in html
    assert client.get(f"/registry/v1/resolve/{placed.code}").get_json()["kind"] == "order"
    # A code known as neither: both ways to open it at its origin, and why.
    unknown = format_code("R44", "0000ZZZZ")
    html = client.get(f"/resolve?code={unknown}").get_data(as_text=True)
    assert f"/listings/{unknown}" in html and f"/orders/{unknown}" in html and "kept at its origin" in html
