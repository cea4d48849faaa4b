"""`/registry/v1`: the notice's rules, staged reviews, who may review, the directory, resolution."""

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from marketplace.models import Node, NodeApplication, NodeStatusChange, Review

from ..factories import bearer, make_listing, make_user
from .factories import (
    Applicant,
    approved_regional,
    industry_application,
    private_jwk,
    public_jwks,
    regional_application,
    reviewer,
)

API = "/registry/v1"


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def submit(client, document, headers=None):
    """POST an application as the test's applicant (or with `headers`)."""
    return client.post(f"{API}/applications", json=document, headers=Applicant.headers if headers is None else headers)


def apply(client, document, headers=None) -> dict:
    """Submit, expecting 201; the body."""
    response = submit(client, document, headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def review(client, application_id, headers, stage, decision="approve", reason="Meets every rule of the notice."):
    return client.post(
        f"{API}/applications/{application_id}/reviews",
        json={"stage": stage, "decision": decision, "reason": reason},
        headers=headers,
    )


# --- the whole path -----------------------------------------------------------------------------------


def test_regional_application_to_active_node(client, db_session):
    submitted = apply(client, regional_application("44"))
    assert submitted["status"] == "submitted" and submitted["due_stage"] == "final"
    token = {"Authorization": f"Bearer {submitted['access_token']}"}
    assert client.get(f"{API}/applications/{submitted['id']}", headers=token).get_json()["status"] == "submitted"
    assert client.get(f"{API}/nodes/R44").status_code == 404

    national, headers = reviewer(db_session, "national_reviewer")
    decided = review(client, submitted["id"], headers, "final")
    assert decided.status_code == 201, decided.get_json()
    assert decided.get_json()["reviewer"] == national.email

    status = client.get(f"{API}/applications/{submitted['id']}", headers=token).get_json()
    assert status["status"] == "approved" and status["due_stage"] is None and status["decided_at"]
    assert [(r["stage"], r["decision"]) for r in status["reviews"]] == [("final", "approve")]
    node = client.get(f"{API}/nodes/R44").get_json()
    assert (node["role"], node["parent"], node["status"], node["public_url"]) == (
        "regional", "N0", "active", "https://gd.example.cn")  # fmt: skip
    assert node["jwks"] == submitted["jwks"]
    assert "access_token" not in status


def test_industry_application_needs_initial_then_final_review(client, db_session):
    approved_regional(db_session, "44")
    submitted = apply(client, industry_application("J", parent="R44"))
    assert submitted["due_stage"] == "initial"
    _, local = reviewer(db_session, "local_reviewer")
    _, national = reviewer(db_session, "national_reviewer")

    early = review(client, submitted["id"], national, "final")
    assert early.status_code == 409 and "initial review is due" in early.get_json()["message"]
    assert review(client, submitted["id"], local, "initial").status_code == 201
    assert client.get(f"{API}/nodes/IJ01").status_code == 404  # not yet
    assert review(client, submitted["id"], national, "final").status_code == 201

    node = client.get(f"{API}/nodes/IJ01").get_json()
    assert (node["role"], node["parent"], node["status"]) == ("industry", "R44", "active")
    stages = db_session.scalars(
        select(Review.stage).where(Review.application_id == submitted["id"]).order_by(Review.id)
    )
    assert list(stages) == ["initial", "final"]


def test_rejection_is_final_and_recorded(client, db_session):
    submitted = apply(client, regional_application("31", public_url="https://sh.example.cn"))
    _, headers = reviewer(db_session, "national_reviewer")
    assert review(client, submitted["id"], headers, "final", "reject", "Capital not paid in.").status_code == 201
    again = review(client, submitted["id"], headers, "final")
    assert again.status_code == 409 and "rejected already" in again.get_json()["message"]
    assert db_session.get(Node, "R31") is None
    assert count(db_session, Review) == 1


# --- who may review what --------------------------------------------------------------------------------

ROLES = ["seller", "buyer", "operator", "local_reviewer", "national_reviewer"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("kind", "stage"), [("regional", "final"), ("industry", "initial"), ("industry", "final")])
def test_review_permission_matrix(client, db_session, role, kind, stage):
    """Only a local reviewer reviews initially, only a national reviewer finally, and only when due."""
    if kind == "regional":
        submitted = apply(client, regional_application("44"))
    else:
        approved_regional(db_session, "44")
        submitted = apply(client, industry_application("J"))
        if stage == "final":
            _, local = reviewer(db_session, "local_reviewer")
            assert review(client, submitted["id"], local, "initial").status_code == 201
    before = count(db_session, Review)
    _, headers = reviewer(db_session, role)
    response = review(client, submitted["id"], headers, stage)
    allowed = role == {"initial": "local_reviewer", "final": "national_reviewer"}[stage]
    if allowed:
        assert response.status_code == 201
        assert count(db_session, Review) == before + 1
    else:
        assert response.status_code == 403, response.get_json()
        assert response.get_json()["code"] == 403
        assert count(db_session, Review) == before


def test_review_needs_a_token_and_a_known_application(client, db_session):
    submitted = apply(client, regional_application())
    assert review(client, submitted["id"], {}, "final").status_code == 401
    _, headers = reviewer(db_session, "national_reviewer")
    assert review(client, 999_999, headers, "final").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"stage": "final", "decision": "approve"}, "reason"), ({"stage": "final", "decision": "maybe", "reason": "x" * 5},
     "decision"), ({"stage": "later", "decision": "approve", "reason": "fine"}, "stage"),
     ({"stage": "final", "decision": "approve", "reason": "ok!", "extra": 1}, "extra")],
)  # fmt: skip
def test_bad_reviews_are_422(client, db_session, body, field):
    submitted = apply(client, regional_application())
    _, headers = reviewer(db_session, "national_reviewer")
    response = client.post(f"{API}/applications/{submitted['id']}/reviews", json=body, headers=headers)
    assert response.status_code == 422 and field in response.get_json()["errors"]["json"]
    assert count(db_session, Review) == 0


def test_recorded_decisions_cannot_be_edited_or_deleted(client, db_session):
    submitted = apply(client, regional_application())
    _, headers = reviewer(db_session, "national_reviewer")
    review(client, submitted["id"], headers, "final")
    for statement in ("UPDATE review SET decision = 'reject'", "DELETE FROM review"):
        with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
            db_session.execute(text(statement))
    assert db_session.scalar(select(Review.decision)) == "approve"


# --- the applicant's view --------------------------------------------------------------------------------


def test_applicants_see_only_their_own_application(client, db_session):
    mine = apply(client, regional_application("44"))
    theirs = apply(client, regional_application("31", public_url="https://sh.example.cn"))
    my_token = {"Authorization": f"Bearer {mine['access_token']}"}
    assert client.get(f"{API}/applications/{theirs['id']}", headers=my_token).status_code == 404
    assert client.get(f"{API}/applications/{mine['id']}").status_code == 404
    seller = make_user(db_session, role="seller")
    assert client.get(f"{API}/applications/{mine['id']}", headers=bearer(db_session, seller)).status_code == 404
    _, staff = reviewer(db_session, "local_reviewer")
    assert client.get(f"{API}/applications/{theirs['id']}", headers=staff).status_code == 200


# --- the notice's rules ---------------------------------------------------------------------------------

BAD_APPLICATIONS = [
    ({"construction_entity": {"name": "Small Co.", "registered_capital_cny": 49_999_999}},
     ("construction_entity", "registered_capital_cny"), "at least 50,000,000 CNY"),
    ({"operating_entity": {"name": "Ops Co.", "telecom_licence": "ICP-123"}},
     ("operating_entity", "telecom_licence"), "telecommunications business licence"),
    ({"operating_entity": {"name": "Ops Co."}}, ("operating_entity", "telecom_licence"), "Missing data"),
    ({"province": "99", "requested_code": "R99"}, ("province",), "GB/T 2260"),
    ({"province": None}, ("province",), "Required for a regional node"),
    ({"requested_code": "R31"}, ("requested_code",), "province 44 is R44"),
    ({"requested_code": "R4"}, ("requested_code",), "Not a regional node code"),
    ({"requested_code": "r44"}, ("requested_code",), "upper case"),
    ({"parent": "R11"}, ("parent",), "national node N0"),
    ({"industry": "J"}, ("industry",), "Only industry nodes"),
    ({"public_url": "ftp://gd.example.cn"}, ("public_url",), "http(s) URL"),
    ({"public_url": "gd.example.cn"}, ("public_url",), "http(s) URL"),
    ({"jwks": {"keys": []}}, ("jwks",), "at least one public signing key"),
    ({"jwks": {"nokeys": 1}}, ("jwks",), "JWKS"),
    ({"jwks": {"keys": [private_jwk()]}}, ("jwks",), "private key material"),
    ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}}, ("jwks",), "private key material"),
    ({"jwks": {"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "r"}]}}, ("jwks",), "EC P-256"),
    ({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "kid": "bad"}]}},
     ("jwks",), "not a valid public key"),
    ({"jwks": {"keys": [{**public_jwks()["keys"][0], "use": "enc"}]}}, ("jwks",), "signing key"),
    ({"contact": {"name": "Huang", "email": "not-an-email", "phone": "+86 20 1"}}, ("contact", "email"), "email"),
    ({"role": "national"}, ("role",), "Must be one of"),
    ({"surprise": True}, ("surprise",), "Unknown field"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "path", "reason"), BAD_APPLICATIONS)
def test_rules_of_the_notice_are_enforced_and_explained(client, db_session, change, path, reason):
    response = submit(client, regional_application("44") | change)
    body = response.get_json()
    assert response.status_code == 422, body
    errors = body["errors"]["json"]
    for key in path:
        errors = errors[key]
    assert reason in " ".join(errors), errors
    assert count(db_session, NodeApplication) == 0


def test_an_ed25519_key_is_accepted(client):
    assert apply(client, regional_application(jwks=public_jwks(kty="OKP")))["status"] == "submitted"


def test_one_regional_node_per_province(client, db_session):
    approved_regional(db_session, "44")
    response = submit(client, regional_application("44"))
    assert response.status_code == 409 and "has its regional node already" in response.get_json()["message"]
    assert response.get_json()["errors"]["json"]["province"]


def test_a_code_under_review_cannot_be_requested_twice(client, db_session):
    apply(client, regional_application("44"))
    response = submit(client, regional_application("44"))
    assert response.status_code == 409 and "still under review" in response.get_json()["message"]
    assert count(db_session, NodeApplication) == 1


@pytest.mark.parametrize(
    ("parent_setup", "parent", "reason"),
    [(None, "R44", "not a regional node in the directory"), ("suspended", "R44", "is suspended"),
     (None, "N0", "parent is a regional node")],
)  # fmt: skip
def test_industry_parent_must_be_an_active_regional_node(client, db_session, parent_setup, parent, reason):
    if parent_setup:
        approved_regional(db_session, "44")
        db_session.get(Node, "R44").status = parent_setup
        db_session.flush()
    response = submit(client, industry_application("J", parent=parent))
    assert response.status_code == 422 and reason in str(response.get_json()["errors"]["json"]["parent"])


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"requested_code": "IC01"}, "starts with IJ"), ({"industry": None}, "Required for an industry node"),
     ({"industry": "Z"}, "GB/T 4754-2017"), ({"province": "44"}, "Only regional nodes")],
)  # fmt: skip
def test_industry_code_rules(client, db_session, change, reason):
    approved_regional(db_session, "44")
    response = submit(client, industry_application("J") | change)
    assert response.status_code == 422 and reason in str(response.get_json()["errors"]["json"])


def test_only_issued_codes_are_never_reused(client, db_session):
    """An issued code stays its node's, suspended or not; a rejected request frees the code it asked for."""
    approved_regional(db_session, "44")
    _, national = reviewer(db_session, "national_reviewer")
    _, local = reviewer(db_session, "local_reviewer")
    rejected = apply(client, industry_application("J", sequence=1))
    review(client, rejected["id"], local, "initial", "reject", "Incomplete security plan.")
    again = apply(client, industry_application("J", sequence=1))
    assert again["status"] == "submitted" and again["requested_code"] == "IJ01"

    second = apply(client, industry_application("J", sequence=2))
    review(client, second["id"], local, "initial")
    review(client, second["id"], national, "final")
    _, operator = reviewer(db_session, "operator")
    client.post(f"{API}/nodes/IJ02/suspend", json={"reason": "Security audit failed."}, headers=operator)
    taken = submit(client, industry_application("J", sequence=2))
    assert taken.status_code == 409 and "issued to a node already" in taken.get_json()["message"]
    national_code = submit(client, regional_application(requested_code="N0"))
    assert national_code.status_code == 422


def test_a_rejected_regional_application_can_be_made_again(client, db_session):
    """A province's regional code is fixed by GB/T 2260, and a rejected application identified nothing."""
    first = apply(client, regional_application("44"))
    _, national = reviewer(db_session, "national_reviewer")
    review(client, first["id"], national, "final", "reject", "Licence expired.")
    assert apply(client, regional_application("44"))["status"] == "submitted"


# --- operators: suspend and reactivate -------------------------------------------------------------------


def test_operators_suspend_and_reactivate_with_reasons(client, db_session):
    approved_regional(db_session, "44")
    operator, headers = reviewer(db_session, "operator")
    suspended = client.post(f"{API}/nodes/r44/suspend", json={"reason": "Unpatched TLS."}, headers=headers)
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    again = client.post(f"{API}/nodes/R44/suspend", json={"reason": "Twice."}, headers=headers)
    assert again.status_code == 409
    assert client.post(f"{API}/nodes/R44/reactivate", json={"reason": "Patched."}, headers=headers).status_code == 200
    changes = db_session.scalars(select(NodeStatusChange).order_by(NodeStatusChange.id)).all()
    assert [(c.status, c.reason, c.actor) for c in changes] == [
        ("suspended", "Unpatched TLS.", operator.email), ("active", "Patched.", operator.email)]  # fmt: skip


@pytest.mark.parametrize("role", ["seller", "buyer", "local_reviewer", "national_reviewer"])
def test_only_operators_suspend(client, db_session, role):
    approved_regional(db_session, "44")
    _, headers = reviewer(db_session, role)
    assert client.post(f"{API}/nodes/R44/suspend", json={"reason": "Because."}, headers=headers).status_code == 403
    assert db_session.get(Node, "R44").status == "active"


def test_suspending_needs_a_reason_and_a_known_node(client, db_session):
    approved_regional(db_session, "44")
    _, headers = reviewer(db_session, "operator")
    assert client.post(f"{API}/nodes/R44/suspend", json={}, headers=headers).status_code == 422
    assert client.post(f"{API}/nodes/R99/suspend", json={"reason": "Gone."}, headers=headers).status_code == 404


def test_cli_suspends_and_reactivates(app, db_session):
    approved_regional(db_session, "44")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["registry", "suspend", "R44", "--reason", "Outage drill."])
    assert result.exit_code == 0, result.output
    assert db_session.get(Node, "R44").status == "suspended"
    assert runner.invoke(args=["registry", "suspend", "R44", "--reason", "Again."]).exit_code != 0
    assert runner.invoke(args=["registry", "reactivate", "R44", "--reason", "Drill over."]).exit_code == 0
    assert runner.invoke(args=["registry", "suspend", "R98", "--reason", "No such."]).exit_code != 0
    assert runner.invoke(args=["registry", "suspend", "R44"]).exit_code != 0  # a reason is required
    reasons = db_session.scalars(select(NodeStatusChange.reason).order_by(NodeStatusChange.id)).all()
    assert reasons == ["Outage drill.", "Drill over."]


# --- the directory and resolution ----------------------------------------------------------------------


def test_directory_lists_national_and_approved_nodes(client, db_session):
    approved_regional(db_session, "44")
    apply(client, regional_application("31", public_url="https://sh.example.cn"))  # not approved: not listed
    codes = [n["code"] for n in client.get(f"{API}/nodes").get_json()["nodes"]]
    assert codes == ["N0", "R44"]
    assert [n["code"] for n in client.get(f"{API}/nodes?role=regional").get_json()["nodes"]] == ["R44"]
    assert client.get(f"{API}/nodes?role=planet").status_code == 422
    assert client.get(f"{API}/nodes/N0").get_json()["role"] == "national"
    assert client.get(f"{API}/nodes/R31").status_code == 404


def test_resolution(client, db_session):
    approved_regional(db_session, "44")
    good = client.get(f"{API}/resolve/r44-00000a7z-m").get_json()
    assert good["origin"] == "R44" and good["origin_url"] == "https://gd.example.cn"
    assert good["listing_url"] == "https://gd.example.cn/listings/R44-00000A7Z-M" and good["listing"] is None
    assert good["order_url"] == "https://gd.example.cn/orders/R44-00000A7Z-M" and good["kind"] is None

    malformed = client.get(f"{API}/resolve/R44-XYZ")
    assert malformed.status_code == 422 and "Not a resource identification code" in malformed.get_json()["message"]
    wrong = client.get(f"{API}/resolve/R44-00000A7Z-N")
    assert wrong.status_code == 422 and "check character" in wrong.get_json()["errors"]["path"]["code"][0]


def test_resolution_of_an_unknown_node_prefix_is_404(client, db_session):
    from marketplace.identity.codes import format_code

    response = client.get(f"{API}/resolve/{format_code('R31', '00000001')}")
    assert response.status_code == 404 and "No node R31" in response.get_json()["message"]


def test_resolution_reports_a_known_listings_status_and_version(client, db_session):
    approved_regional(db_session, "44")
    listing = make_listing(db_session, make_user(db_session), node_code="R44")
    body = client.get(f"{API}/resolve/{listing.code}").get_json()
    assert body["listing"] == {"status": "published", "version": 1}


def test_registry_is_only_on_the_national_node(database_url):
    from ..conftest import migrated_app

    regional = migrated_app(database_url, NODE_ROLE="regional", NODE_CODE="R44")
    response = regional.test_client().get(f"{API}/nodes")
    assert response.status_code == 404 and response.get_json()["code"] == 404
    regional.extensions["db"].engine.dispose()
