"""The outbox: each visible change of a listing writes its event in the same transaction, in commit order."""

import json

from joserfc import jws
from joserfc.jwk import KeySet
from sqlalchemy import select

from marketplace.federation.keys import public_jwks
from marketplace.federation.outbox import signed_events
from marketplace.listings.services import retire_listing, set_listing_status, update_listing
from marketplace.models import OutboxEvent

from ..factories import make_listing


def events(session) -> list[tuple[int, str, int, str]]:
    rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
    return [(e.seq, e.listing_code, e.version, json.loads(e.payload)["op"]) for e in rows]


def test_every_visible_change_writes_one_event(db_session, seller):
    listing = make_listing(db_session, seller)
    update_listing(session=db_session, listing=listing, changes={"unit_price": 1999})
    set_listing_status(session=db_session, listing=listing, status="paused")
    retire_listing(session=db_session, listing=listing)
    code = listing.code
    assert events(db_session) == [(1, code, 1, "upsert"), (2, code, 2, "upsert"), (3, code, 3, "upsert"),
                                  (4, code, 4, "delete")]  # fmt: skip


def test_the_event_carries_the_listing_document_as_stored(db_session, seller):
    listing = make_listing(db_session, seller)
    payload = json.loads(db_session.scalars(select(OutboxEvent)).one().payload)
    assert payload["listing"] == json.loads(listing.document)
    assert (payload["origin"], payload["epoch"], payload["seq"], payload["version"]) == ("R44", 1, 1, 1)
    assert {"event_id", "listing_code", "occurred_at"} <= set(payload)


def test_drafts_never_leave_their_node(db_session, seller):
    draft = make_listing(db_session, seller, status="draft")
    update_listing(session=db_session, listing=draft, changes={"title": "Still a draft"})
    retire_listing(session=db_session, listing=make_listing(db_session, seller, status="draft"))
    assert events(db_session) == []
    set_listing_status(session=db_session, listing=draft, status="published")
    assert events(db_session) == [(1, draft.code, 3, "upsert")]


def test_no_change_no_event(db_session, seller):
    listing = make_listing(db_session, seller)
    update_listing(session=db_session, listing=listing, changes={"unit_price": listing.unit_price})
    assert len(events(db_session)) == 1


def test_events_are_signed_once_with_the_nodes_key(app, db_session, seller):
    make_listing(db_session, seller)
    with app.app_context():
        [event] = signed_events(session=db_session, after_seq=0, limit=10)
        keys = KeySet.import_key_set(public_jwks())
    first = event.jws
    assert jws.deserialize_compact(first, keys).payload.decode() == event.payload
    with app.app_context():
        [again] = signed_events(session=db_session, after_seq=0, limit=10)
    assert again.jws == first
    with app.app_context():
        assert signed_events(session=db_session, after_seq=1, limit=10) == []
