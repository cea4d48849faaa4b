"""Pushing events up the tree: what national applies, and what it refuses."""

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import select, text

from marketplace.accounts.services import create_user
from marketplace.federation.client import call_node
from marketplace.federation.outbox import sign_event, signed_events
from marketplace.listings.schemas import ListingCreateSchema
from marketplace.listings.services import publish_listing, update_listing
from marketplace.models import CatalogueChange, Listing
from marketplace.sync.apply import acked_seq, apply_batch, national_directory, verify_event
from marketplace.sync.feed import append_to_feed
from marketplace.sync.worker import SyncWorker

from ..factories import gpu_payload


def publish(federation, code: str, count: int = 1, **changes) -> list[str]:
    """Publish listings at node `code` through its services; their codes."""
    app = federation[code]
    with app.app_context(), app.extensions["db"].session() as session:
        seller = create_user(session=session, email=f"s{count}{len(changes)}@{code.lower()}.cn", password="x" * 12,
                             role="seller", name="Seller")  # fmt: skip
        codes = [publish_listing(session=session, seller=seller, node_code=code,
                                 data=ListingCreateSchema().load(gpu_payload(**changes))).code
                 for _ in range(count)]  # fmt: skip
        session.commit()
    return codes


def push(federation, code: str):
    return SyncWorker(federation[code]).push_once()


def at_national(federation) -> dict[str, tuple[int, str]]:
    national = federation.national
    with national.app_context(), national.extensions["db"].session() as session:
        return {row.code: (row.version, row.status) for row in session.scalars(select(Listing))}


def raw_push(federation, caller: str, events: list[str]):
    with federation[caller].app_context():
        return call_node("POST", f"{federation.url('N0')}/federation/v1/events", audience="N0",
                         scope="listings:write", json={"events": events})  # fmt: skip


def signed(federation, code: str) -> list[str]:
    app = federation[code]
    with app.app_context(), app.extensions["db"].session() as session:
        events = [event.jws for event in signed_events(session=session, after_seq=0, limit=500)]
        session.commit()
        return events


def test_published_listings_reach_national_with_their_documents(federation):
    codes = publish(federation, "R44", count=3)
    report = push(federation, "R44")
    assert (report.sent, report.acked_seq, report.rejected) == (3, 3, [])
    assert at_national(federation) == {code: (1, "published") for code in codes}
    national = federation.national.test_client()
    found = national.get("/api/v1/listings", query_string={"origin": "R44"}).get_json()
    assert sorted(item["code"] for item in found["items"]) == sorted(codes)
    assert push(federation, "R44").sent == 0  # nothing new


def test_changes_apply_by_version_and_replays_are_duplicates(federation):
    [code] = publish(federation, "R44")
    first = signed(federation, "R44")
    app = federation["R44"]
    with app.app_context(), app.extensions["db"].session() as session:
        listing = session.scalars(select(Listing).where(Listing.code == code)).one()
        update_listing(session=session, listing=listing, changes={"unit_price": 1777})
        session.commit()
    push(federation, "R44")
    assert at_national(federation)[code] == (2, "published")
    replay = raw_push(federation, "R44", first).json()
    assert [r["status"] for r in replay["results"]] == ["stale"]
    again = raw_push(federation, "R44", signed(federation, "R44")).json()
    assert [r["status"] for r in again["results"]] == ["stale", "duplicate"]


def test_a_forged_or_altered_event_is_rejected(federation):
    [code] = publish(federation, "R44")
    [event] = signed(federation, "R44")
    header, payload, signature = event.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["listing"]["unit_price"] = 1
    altered = f"{header}.{base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip('=')}.{signature}"
    stranger = ECKey.generate_key("P-256")
    forged = jws.serialize_compact({"alg": "ES256", "kid": "x"}, json.dumps(body).encode(), stranger)
    answer = raw_push(federation, "R44", [altered, forged]).json()
    assert [r["status"] for r in answer["results"]] == ["rejected", "rejected"]
    assert all("signature does not verify" in r["reason"] for r in answer["results"])
    assert code not in at_national(federation)


def test_an_event_of_another_origin_is_rejected(federation):
    """R11 may not send R44's events: it is neither R44 nor above it."""
    publish(federation, "R44")
    answer = raw_push(federation, "R11", signed(federation, "R44")).json()
    assert answer["results"][0]["status"] == "rejected" and "may not send" in answer["results"][0]["reason"]
    assert at_national(federation) == {}


def test_a_malformed_batch_rejects_each_bad_event_and_applies_the_good_ones(federation):
    codes = publish(federation, "R44", count=2)
    good = signed(federation, "R44")
    with federation["R44"].app_context():
        not_an_event = sign_event(b'{"hello": "world"}')
    answer = raw_push(federation, "R44", [good[0], "not-a-jws", not_an_event, good[1]]).json()
    assert [r["status"] for r in answer["results"]] == ["applied", "rejected", "rejected", "applied"]
    assert "Malformed event" in answer["results"][2]["reason"]
    assert set(at_national(federation)) == set(codes)


def test_a_rejection_tells_back_a_bounded_reason_whatever_the_event_carried(federation):
    """An origin's name or an event id as long as the sender made it is not echoed in full: a batch's answer
    stays small enough for the sender's 1 MB limit on answers (it would otherwise retry the batch for ever)."""
    long_origin, long_id = "R" + "9" * 5_000, "e" * 5_000
    payload = base64.urlsafe_b64encode(json.dumps({"origin": long_origin, "event_id": long_id}).encode()).decode()
    answer = raw_push(federation, "R44", [f"eyJhbGciOiJFUzI1NiJ9.{payload.rstrip('=')}.c2ln"] * 20)
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 20
    assert all(r["event_id"] is None for r in results)  # too long to be an event id of ours: not told back
    assert all(r["reason"].startswith("R44 may not send events of origin 'R999") for r in results)
    assert all(len(r["reason"]) == 500 and r["reason"].endswith("…") for r in results)
    assert len(answer.content) < 20 * 600


def _resigned(federation, event: str, change) -> str:
    """`event` with its payload changed by `change`, signed again with its origin's key (a faulty origin)."""
    body = json.loads(base64.urlsafe_b64decode(event.split(".")[1] + "=="))
    change(body)
    with federation["R44"].app_context():
        return sign_event(json.dumps(body).encode())


def test_signed_events_that_do_not_fit_are_rejected_one_by_one(federation):
    codes = publish(federation, "R44", count=4)
    events = signed(federation, "R44")
    nameless = _resigned(federation, events[0], lambda body: body["listing"]["seller"].pop("name"))
    huge = _resigned(federation, events[1], lambda body: body.update(seq=2**63))
    too_new = _resigned(federation, events[2], lambda body: (body.update(version=2**31),
                                                             body["listing"].update(version=2**31)))  # fmt: skip
    answer = raw_push(federation, "R44", [nameless, huge, too_new, events[3]])
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "rejected", "applied"]
    assert "seller" in results[0]["reason"] and "seq" in results[1]["reason"] and "version" in results[2]["reason"]
    assert set(at_national(federation)) == {codes[3]}


def _wrong_check_character(body: dict) -> None:
    code = body["listing_code"]
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    body["listing_code"] = body["listing"]["code"] = wrong


def _minted_elsewhere(body: dict) -> None:
    # A well-formed code with its right check character, but under R11's prefix: not R44's to send.
    from marketplace.identity.codes import format_code

    body["listing_code"] = body["listing"]["code"] = format_code("R11", body["listing_code"].split("-")[1])


@pytest.mark.parametrize(("change", "reason"), [
    (lambda body: body["listing"].update(title="GPU\x00 server"), "control character"),
    (lambda body: body["listing"].update(description="line\x1b[31m red"), "control character"),
    (lambda body: body["listing"].update(is_verified_by_national=True), "is_verified_by_national"),
    (lambda body: body["listing"]["seller"].update(email="x@y.cn"), "email"),
    (_wrong_check_character, "check character"),
    (_minted_elsewhere, "was not minted by R44"),
])  # fmt: skip
def test_a_pushed_event_that_is_not_document_v1_exactly_is_rejected_alone(federation, change, reason):
    # One bad event never fails its batch (on PostgreSQL a NUL in text was a 500 for the whole batch, for ever).
    codes = publish(federation, "R44", count=2)
    events = signed(federation, "R44")
    bad = _resigned(federation, events[0], change)
    answer = raw_push(federation, "R44", [bad, events[1]])
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert reason in results[0]["reason"]
    assert set(at_national(federation)) == {codes[1]}
    national = federation.national.test_client()
    assert national.get(f"/api/v1/listings/{codes[1]}").get_json().keys() >= {"code", "title"}


def test_a_node_accepts_pushes_only_from_its_children(federation):
    # R44 can get a listings:write token for its sibling R11; R11 refuses its push (the catalogues would diverge).
    codes = publish(federation, "R44")
    events = signed(federation, "R44")
    with federation["R44"].app_context():
        answer = call_node("POST", f"{federation.url('R11')}/federation/v1/events", audience="R11",
                           scope="listings:write", json={"events": events})  # fmt: skip
    assert answer.status_code == 403 and answer.json()["reason"] == "not_a_child", answer.text
    assert codes[0] not in listings_at(federation, "R11")
    # IJ01 is R11's child: R11 takes its pushes.
    publish(federation, "IJ01")
    assert push(federation, "IJ01").sent == 1


def test_a_listing_published_at_national_reaches_every_other_node(federation):
    codes = publish(federation, "N0")
    national = SyncWorker(federation.national)
    assert national.publish_own() == 1
    assert national.publish_own() == 0  # once
    pull(federation, "R11")
    assert listings_at(federation, "R11")[codes[0]] == ("N0", 1, "published")


@pytest.mark.parametrize("count", [0, 501])
def test_batches_hold_1_to_500_events(federation, count):
    publish(federation, "R44")
    [event] = signed(federation, "R44")
    response = raw_push(federation, "R44", [event] * count)
    assert response.status_code == 422 and "1 to 500" in json.dumps(response.json())
    assert at_national(federation) == {}


def test_pushing_needs_the_listings_write_scope_and_the_right_audience(federation):
    publish(federation, "R44")
    events = signed(federation, "R44")
    with federation["R44"].app_context():
        wrong_scope = call_node("POST", f"{federation.url('N0')}/federation/v1/events", audience="N0",
                                scope="listings:read", json={"events": events})  # fmt: skip
        wrong_audience = call_node("POST", f"{federation.url('N0')}/federation/v1/events", audience="R11",
                                   scope="listings:write", json={"events": events})  # fmt: skip
    assert wrong_scope.status_code == 403 and wrong_audience.status_code == 401
    assert at_national(federation) == {}


def test_national_never_takes_a_listing_for_its_own(federation):
    codes = publish(federation, "R44", count=2)
    push(federation, "R44")
    with federation.national.app_context(), federation.national.extensions["db"].session() as session:
        held = {row.code: (row.origin, row.seller_id) for row in session.scalars(select(Listing))}
    assert held == {code: ("R44", None) for code in codes}  # R44's, and no seller account of national's


def test_the_feed_holds_each_version_once(federation):
    # Two batches carrying the same event, applied side by side, may both find it new.
    codes = publish(federation, "R44", count=2)
    events = signed(federation, "R44")
    national = federation.national
    with national.app_context(), national.extensions["db"].session() as session:
        directory = national_directory(session)
        verified = [verify_event(event, caller="R44", directory=directory) for event in events]
        append_to_feed(session, verified)
        append_to_feed(session, verified[1:])  # the same event once more
        session.commit()
        feed = session.execute(select(CatalogueChange.listing_code, CatalogueChange.version)).all()
    assert sorted(feed) == sorted((code, 1) for code in codes)


def _wait_until_a_writer_waits(national) -> None:
    """Return once another transaction of national's waits for a lock (PostgreSQL); SQLite queues writers."""
    engine = national.extensions["db"].engine
    if engine.dialect.name != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 10
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))
            if waiting.scalar():
                return
            connection.rollback()
            time.sleep(0.02)
    raise AssertionError("the second batch never waited for the first")


def test_batches_of_one_origin_applied_side_by_side_keep_every_event_and_the_highest_cursor(federation):
    # A pusher keeps several batches in flight: the later batch may be applied before the earlier one
    # commits, on national's first contact with the origin (no cursor row yet).
    codes = publish(federation, "R44", count=6)
    events = signed(federation, "R44")
    national = federation.national

    def apply(session, batch: list[str]) -> list[str]:
        outcome = apply_batch(session=session, caller="R44", events=batch, directory=national_directory(session),
                              own_code="N0")  # fmt: skip
        append_to_feed(session, outcome.applied)
        return [result.status for result in outcome.results]

    def apply_committed(batch: list[str]) -> list[str]:
        with national.app_context(), national.extensions["db"].session() as session:
            statuses = apply(session, batch)
            session.commit()
            return statuses

    with national.app_context(), national.extensions["db"].session() as later, ThreadPoolExecutor(1) as pool:
        assert apply(later, events[3:]) == ["applied"] * 3
        earlier = pool.submit(apply_committed, events[:3])
        _wait_until_a_writer_waits(national)
        later.commit()
        assert earlier.result(timeout=30) == ["applied"] * 3

    assert at_national(federation) == {code: (1, "published") for code in codes}
    with national.app_context(), national.extensions["db"].session() as session:
        assert acked_seq(session, "R44") == 6
        assert sorted(session.scalars(select(CatalogueChange.listing_code))) == sorted(codes)


# --- down the tree: national's feed -----------------------------------------------------------------


def pull(federation, code: str):
    return SyncWorker(federation[code]).pull_once()


def listings_at(federation, code: str) -> dict[str, tuple[str, int, str]]:
    app = federation[code]
    with app.app_context(), app.extensions["db"].session() as session:
        return {row.code: (row.origin, row.version, row.status) for row in session.scalars(select(Listing))}


def test_every_node_pulls_the_national_catalogue(federation):
    codes = publish(federation, "R44", count=3)
    push(federation, "R44")
    report = pull(federation, "R11")
    assert (report.received, report.applied, report.has_more) == (3, 3, False)
    assert listings_at(federation, "R11") == {code: ("R44", 1, "published") for code in codes}
    found = federation["R11"].test_client().get("/api/v1/listings", query_string={"origin": "R44"}).get_json()
    assert found["total"] == 3
    again = pull(federation, "R11")
    assert (again.received, again.applied) == (0, 0)
    origin_pull = pull(federation, "R44")  # the origin sees its own events go by and keeps its listings
    assert origin_pull.applied == 0 and listings_at(federation, "R44") == {c: ("R44", 1, "published") for c in codes}


def test_the_feed_pages_in_commit_order(federation):
    publish(federation, "R44", count=5)
    push(federation, "R44")
    with federation["R11"].app_context():
        first = call_node("GET", f"{federation.url('N0')}/federation/v1/changes", audience="N0",
                          scope="listings:read", params={"limit": 2}).json()  # fmt: skip
        rest = call_node("GET", f"{federation.url('N0')}/federation/v1/changes", audience="N0",
                         scope="listings:read", params={"limit": 10, "after": first["next_cursor"]}).json()  # fmt: skip
        bad = call_node("GET", f"{federation.url('N0')}/federation/v1/changes", audience="N0",
                        scope="listings:read", params={"after": "nonsense"})  # fmt: skip
        beyond = base64.urlsafe_b64encode(f"feed1:{2**64}".encode()).decode().rstrip("=")
        too_far = call_node("GET", f"{federation.url('N0')}/federation/v1/changes", audience="N0",
                            scope="listings:read", params={"after": beyond})  # fmt: skip
    assert (len(first["events"]), first["has_more"], len(rest["events"]), rest["has_more"]) == (2, True, 3, False)
    seqs = [
        json.loads(base64.urlsafe_b64decode(e.split(".")[1] + "=="))["seq"] for e in first["events"] + rest["events"]
    ]
    assert seqs == [1, 2, 3, 4, 5]
    assert bad.status_code == 422 and too_far.status_code == 422


# --- relays ------------------------------------------------------------------------------------------


def test_an_industry_nodes_changes_reach_its_regional_node_national_and_every_other_node(federation):
    [code] = publish(federation, "IJ01")
    assert push(federation, "IJ01").sent == 1  # to R11
    assert listings_at(federation, "R11") == {code: ("IJ01", 1, "published")}
    assert push(federation, "R11").sent == 1  # relayed to national, as signed by IJ01
    assert at_national(federation) == {code: (1, "published")}
    pull(federation, "R44")
    assert listings_at(federation, "R44") == {code: ("IJ01", 1, "published")}
    assert push(federation, "R11").sent == 0  # relayed once


def test_a_regional_node_may_not_send_events_of_a_node_that_is_not_below_it(federation):
    publish(federation, "IJ01")
    answer = raw_push(federation, "R44", signed(federation, "IJ01")).json()
    assert answer["results"][0]["status"] == "rejected" and "may not send" in answer["results"][0]["reason"]


# --- snapshots -----------------------------------------------------------------------------------------


def snapshot_at(federation, at: str, origin: str) -> dict:
    caller = "R11" if at != "R11" else "R44"
    with federation[caller].app_context():
        response = call_node("GET", f"{federation.url(at)}/federation/v1/nodes/{origin}/snapshot",
                             audience=at, scope="listings:read")  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def test_snapshots_agree_once_the_copies_converge(federation):
    publish(federation, "R44", count=3)
    publish(federation, "R44", status="draft")  # never leaves R44: not in any snapshot
    before = snapshot_at(federation, "N0", "R44")
    assert before["listings"] == []
    push(federation, "R44")
    pull(federation, "R11")
    digests = {at: snapshot_at(federation, at, "R44") for at in ("R44", "N0", "R11")}
    assert len({s["digest"] for s in digests.values()}) == 1
    assert len(digests["N0"]["listings"]) == 3 and digests["N0"] != before


def test_a_remote_listing_is_marked_and_links_to_its_origin(federation):
    [code] = publish(federation, "R44")
    push(federation, "R44")
    pull(federation, "R11")
    page = federation["R11"].test_client().get(f"/listings/{code}").get_data(as_text=True)
    assert "Sold at node <strong>R44</strong>" in page and f'href="http://r44.test/listings/{code}"' in page
    results = federation["R11"].test_client().get("/listings").get_data(as_text=True)
    assert "from R44" in results
    own = federation["R44"].test_client().get(f"/listings/{code}").get_data(as_text=True)
    assert "Sold at node" not in own


def test_a_regional_node_that_cannot_ask_national_for_keys_keeps_its_childs_events(federation):
    publish(federation, "IJ01")
    push(federation, "IJ01")  # IJ01 holds a token; R11 knows IJ01 as a caller
    later = publish(federation, "IJ01", count=2)
    federation["R11"].extensions["federation_caches"]["directory"].drop("IJ01")  # its keys must be asked again
    federation.route_http(down={"N0": None})
    with pytest.raises(httpx.HTTPStatusError) as refused:
        push(federation, "IJ01")
    assert refused.value.response.status_code == 503 and "national" in refused.value.response.json()["message"].lower()
    federation.route_http()
    assert push(federation, "IJ01").sent == 2  # nothing was acknowledged while national was away
    assert set(later) <= set(listings_at(federation, "R11"))
