"""The audit log: what is recorded, who may read it, and that nobody can change it."""

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from marketplace.models import AuditEntry

from ..conftest import form_token
from ..factories import PASSWORD, bearer, gpu_payload, make_user

AUDIT = "/api/v1/audit"


def entries(db_session, **where) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(db_session.scalars(query))


def test_listing_changes_and_tokens_are_recorded_with_who_and_the_request(client, db_session):
    seller = make_user(db_session, role="seller")
    headers = bearer(db_session, seller)
    created = client.post(
        "/api/v1/listings", json=gpu_payload(), headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    code = created.get_json()["code"]
    client.patch(f"/api/v1/listings/{code}", json={"unit_price": 3000}, headers=headers)
    client.delete(f"/api/v1/listings/{code}", headers=headers)
    actions = [(e.action, e.actor) for e in entries(db_session, object=f"listing:{code}")]
    assert actions == [
        ("listing.publish", seller.email),
        ("listing.update", seller.email),
        ("listing.retire", seller.email),
    ]
    published = entries(db_session, object=f"listing:{code}")[0]
    assert published.address == "203.0.113.9" and published.request_id == created.headers["X-Request-Id"]
    assert [e.action for e in entries(db_session, actor=seller.email, action="token.create")] == ["token.create"]


def test_sign_ins_and_failed_sign_ins_are_recorded(client, db_session):
    user = make_user(db_session, role="buyer")
    for password in ("wrong password!", PASSWORD):
        client.post(
            "/login", data={"email": user.email, "password": password, "csrf_token": form_token(client, "/login")}
        )
    assert [e.action for e in entries(db_session, actor=user.email)] == ["sign_in_failed", "sign_in"]


def test_operators_search_the_log_and_nobody_else_reads_it(client, db_session):
    seller = make_user(db_session, role="seller")
    headers = bearer(db_session, seller)
    codes = [client.post("/api/v1/listings", json=gpu_payload(), headers=headers).get_json()["code"] for _ in range(3)]
    operator = bearer(db_session, make_user(db_session, role="operator"))
    for role in ("seller", "buyer"):
        assert client.get(AUDIT, headers=bearer(db_session, make_user(db_session, role=role))).status_code == 403
    assert client.get(AUDIT).status_code == 401
    first = client.get(AUDIT, query_string={"actor": seller.email, "action": "listing.", "limit": 2}, headers=operator)
    body = first.get_json()
    assert [e["object"] for e in body["entries"]] == [f"listing:{codes[2]}", f"listing:{codes[1]}"]
    rest = client.get(AUDIT, query_string={"actor": seller.email, "action": "listing.", "before": body["next_before"]},
                      headers=operator).get_json()  # fmt: skip
    assert [e["object"] for e in rest["entries"]] == [f"listing:{codes[0]}"] and rest["next_before"] is None
    bare = client.get(AUDIT, query_string={"object": codes[1]}, headers=operator).get_json()  # the code alone
    exact = client.get(AUDIT, query_string={"object": f"listing:{codes[1]}"}, headers=operator).get_json()
    assert {e["object"] for e in bare["entries"]} == {f"listing:{codes[1]}"} and bare["entries"] == exact["entries"]
    assert client.get(AUDIT, query_string={"object": "%"}, headers=operator).get_json()["entries"] == []  # literal
    bad = client.get(AUDIT, query_string={"since": "yesterday"}, headers=operator)
    assert bad.status_code == 422 and "since" in bad.get_json()["errors"]["query"]


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_the_log(app, db_session, change):
    seller = make_user(db_session, role="seller")
    bearer(db_session, seller)
    db_session.flush()
    entry = entries(db_session, actor=seller.email)[0]
    statement = (update(AuditEntry).where(AuditEntry.id == entry.id).values(actor="someone else") if change == "update"
                 else text("DELETE FROM audit_entry WHERE id = :id").bindparams(id=entry.id))  # fmt: skip
    with pytest.raises(DatabaseError, match="append-only"):
        with db_session.begin_nested():
            db_session.execute(statement)
