"""Orders through the services: holds, refusals with their reasons, lapsing, sweeping, capacity published."""

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from marketplace.errors import DomainError, Forbidden
from marketplace.listings import documents
from marketplace.listings.documents import render_document
from marketplace.listings.services import set_listing_status, update_listing
from marketplace.models import Order, OrderEvent, OutboxEvent
from marketplace.trading.capacity import capacity_of, live_spans
from marketplace.trading.queries import notifications_for
from marketplace.trading.refusals import CapacityCommitted, CapacityShort, HoldExpired, NotForSale, PriceChanged
from marketplace.trading.services import (
    cancel_order,
    confirm_order,
    expire_holds,
    give_access,
    quote_order,
    report_not_delivered,
)

from ..factories import make_user
from .helpers import HOUR, NOW, at, order, sellable


@pytest.fixture
def listing(db_session, seller):
    return sellable(db_session, seller)


@pytest.fixture
def operator(db_session):
    return make_user(db_session, role="operator", name="Operator")


def test_an_order_holds_units_and_is_priced_exactly(db_session, listing, buyer):
    placed = order(db_session, listing, buyer, units=2, start=0, end=24, hold_seconds=600)
    assert placed.status == "held" and placed.units == 2
    assert placed.code.startswith("R44-") and placed.code != listing.code
    assert placed.total == 2 * 8 * 24 * 2050 == sum(line["subtotal"] for line in placed.lines)
    assert placed.hold_expires_at == NOW + timedelta(seconds=600)
    events = db_session.scalars(select(OrderEvent).where(OrderEvent.order_id == placed.id)).all()
    assert [(e.kind, e.to_status, e.actor) for e in events] == [("held", "held", buyer.email)]


def test_orders_beyond_the_free_units_are_refused_with_the_free_count(db_session, listing, buyer):
    order(db_session, listing, buyer, units=7, start=0, end=10)
    order(db_session, listing, buyer, units=2, start=5, end=20)
    with pytest.raises(CapacityShort) as refused:
        order(db_session, listing, buyer, units=2, start=8, end=12)  # 9 taken at hours 8–10
    assert refused.value.status == 409 and refused.value.extra == {"free": 1} and refused.value.field == "units"
    # outside the busy hours the same units fit
    assert order(db_session, listing, buyer, units=8, start=10, end=12).status == "held"
    assert db_session.scalar(select(func.count()).select_from(Order)) == 3


def test_a_lapsed_hold_counts_for_nothing_before_any_sweep(db_session, listing, buyer):
    order(db_session, listing, buyer, units=10, start=0, end=5, hold_seconds=60)
    with pytest.raises(CapacityShort):
        order(db_session, listing, buyer, units=1, start=1, end=2, now=NOW + timedelta(seconds=59))
    later = NOW + timedelta(seconds=60)
    quote = quote_order(session=db_session, listing=listing, units=10, start=at(0), end=at(5), now=later)
    assert quote.free == 10 and quote.available
    assert order(db_session, listing, buyer, units=10, start=0, end=5, now=later).status == "held"


@pytest.mark.parametrize(
    ("units", "start", "end", "field"),
    [
        (0, at(0), at(1), "units"),
        (11, at(0), at(1), "units"),
        (1, at(0), at(0), "end"),
        (1, at(3), at(1), "end"),
        (1, at(0) + timedelta(minutes=30), at(2), "start"),
        (1, at(-2), at(1), "start"),  # in the past
        (1, at(0), at(24 * 40), "end"),  # beyond the listing's window
    ],
)
def test_input_that_can_never_be_valid_is_a_422_naming_the_field(db_session, listing, buyer, units, start, end, field):
    with pytest.raises(DomainError) as refused:
        quote_order(session=db_session, listing=listing, units=units, start=start, end=end, now=NOW)
    assert refused.value.status == 422 and refused.value.field == field


def test_min_hours_is_the_shortest_window(db_session, seller, buyer):
    listing = sellable(db_session, seller, min_hours=24)
    with pytest.raises(DomainError) as refused:
        order(db_session, listing, buyer, start=0, end=23)
    assert refused.value.field == "end" and "24 hours" in refused.value.message
    assert order(db_session, listing, buyer, start=0, end=24).status == "held"


def test_paused_and_retired_listings_are_not_for_sale(db_session, listing, buyer):
    set_listing_status(session=db_session, listing=listing, status="paused")
    with pytest.raises(NotForSale) as refused:
        order(db_session, listing, buyer)
    assert refused.value.reason == "not_for_sale" and refused.value.status == 409


def test_an_expected_total_that_differs_refuses_the_order(db_session, listing, buyer):
    with pytest.raises(PriceChanged) as refused:
        order(db_session, listing, buyer, units=1, start=0, end=1, expected_total=1)
    assert refused.value.extra == {"total": 8 * 2050}
    assert order(db_session, listing, buyer, units=1, start=0, end=1, expected_total=8 * 2050).total == 16400


def test_cancel_frees_the_units_and_records_who_and_why(db_session, listing, buyer):
    held = order(db_session, listing, buyer, units=10)
    cancel_order(session=db_session, order=held, actor=buyer, reason="changed plans", now=NOW)
    assert held.status == "cancelled"
    assert order(db_session, listing, buyer, units=10).status == "held"
    last = db_session.scalars(select(OrderEvent).where(OrderEvent.order_id == held.id).order_by(OrderEvent.id)).all()
    expected = [(None, "held", "placed"), ("held", "cancelled", "changed plans")]
    assert [(e.from_status, e.to_status, e.reason) for e in last] == expected


def test_only_the_buyer_seller_or_an_operator_cancel(db_session, listing, buyer, other_seller, operator):
    held = order(db_session, listing, buyer)
    with pytest.raises(Forbidden):
        cancel_order(session=db_session, order=held, actor=other_seller, reason="", now=NOW)
    cancel_order(session=db_session, order=held, actor=operator, reason="fraud", now=NOW)
    assert held.status == "cancelled"


def test_confirm_in_time_and_too_late(db_session, listing, buyer, seller, other_seller):
    held = order(db_session, listing, buyer, hold_seconds=60)
    with pytest.raises(Forbidden):
        confirm_order(session=db_session, order=held, actor=other_seller, reference="x", now=NOW)
    confirm_order(session=db_session, order=held, actor=seller, reference="BOC 2030-0301-17", now=NOW)
    assert (held.status, held.payment_status, held.hold_expires_at) == ("confirmed", "paid", None)
    late = order(db_session, listing, buyer, hold_seconds=60)
    with pytest.raises(HoldExpired) as refused:
        confirm_order(session=db_session, order=late, actor=seller, reference="x", now=NOW + timedelta(seconds=60))
    assert refused.value.reason == "hold_expired"


def test_the_sweep_expires_lapsed_holds_and_publishes_the_freed_capacity(db_session, listing, buyer, seller):
    kept = order(db_session, listing, buyer, units=3, hold_seconds=7200)
    lapsing = order(db_session, listing, buyer, units=4, hold_seconds=60)
    version = listing.version
    assert [i["free"] for i in listing.capacity] == [10, 3, 10]
    expired = expire_holds(session=db_session, now=NOW + timedelta(minutes=5))
    assert [o.code for o in expired] == [lapsing.code] and lapsing.status == "expired"
    assert kept.status == "held"
    assert listing.version == version + 1
    assert [i["free"] for i in listing.capacity] == [10, 7, 10]
    event = db_session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    document = orjson.loads(event.payload)["listing"]
    assert event.version == listing.version and [i["free"] for i in document["capacity"]] == [10, 7, 10]
    assert expire_holds(session=db_session, now=NOW + timedelta(minutes=6)) == []


@pytest.mark.parametrize("city_code", [None, "520100"])
def test_the_document_republished_for_capacity_is_the_full_rendering(db_session, seller, buyer, city_code,
                                                                      monkeypatch):  # fmt: skip
    # Orders republish the stored document with its derived fields replaced; it must equal a full rendering,
    # with or without the optional city_code, and without rendering it whole for every order.
    listing = sellable(db_session, seller, city_code=city_code)
    assert ("city_code" in orjson.loads(listing.document)) == bool(city_code)
    with monkeypatch.context() as patched:
        patched.setattr(documents, "render_document", None)  # called: TypeError
        held = order(db_session, listing, buyer, units=2, start=0, end=3)
        order(db_session, listing, buyer, units=1, start=2, end=6)
    assert listing.document == render_document(listing) and "capacity" in orjson.loads(listing.document)
    cancel_order(session=db_session, order=held, actor=buyer, reason="", now=NOW)
    assert listing.document == render_document(listing)
    event = db_session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    payload = orjson.loads(event.payload)
    assert event.payload == orjson.dumps(payload).decode() and (payload["epoch"], payload["seq"]) == (
        event.epoch, event.seq)  # fmt: skip
    assert payload["listing"] == orjson.loads(listing.document)


def test_a_document_stored_before_the_schema_changed_is_republished_whole(db_session, listing, buyer):
    old = orjson.loads(listing.document)
    del old["min_hours"]  # as stored before the field existed
    listing.document = orjson.dumps(old).decode()
    order(db_session, listing, buyer, units=2, start=0, end=3)
    assert listing.document == render_document(listing) and orjson.loads(listing.document)["min_hours"] == 1


def test_each_change_of_free_capacity_is_a_new_version_in_the_outbox(db_session, listing, buyer):
    start = listing.version
    held = order(db_session, listing, buyer, units=2, start=0, end=3)
    assert listing.version == start + 1
    document = orjson.loads(listing.document)
    assert document["capacity"][0]["from"] == "2030-03-01T09:00:00+00:00"
    assert [(i["until"], i["free"]) for i in document["capacity"]] == [
        ("2030-03-01T10:00:00+00:00", 10), ("2030-03-01T13:00:00+00:00", 8),
        (document["available_until"], 10),
    ]  # fmt: skip
    cancel_order(session=db_session, order=held, actor=buyer, reason="", now=NOW)
    assert listing.version == start + 2 and "capacity" not in orjson.loads(listing.document)
    versions = db_session.scalars(select(OutboxEvent.version).where(OutboxEvent.listing_code == listing.code))
    assert list(versions) == [start, start + 1, start + 2]


def test_quantity_cannot_go_below_what_orders_hold(db_session, listing, buyer, seller):
    order(db_session, listing, buyer, units=6, start=2, end=4)
    with pytest.raises(CapacityCommitted) as refused:
        update_listing(session=db_session, listing=listing, changes={"quantity": 5})
    error = refused.value
    assert error.status == 409 and error.reason == "capacity_committed" and error.field == "quantity"
    assert error.extra["from"] == at(2).isoformat() and error.extra["until"] == at(4).isoformat()
    db_session.rollback()


def test_order_events_are_append_only(db_session, listing, buyer):
    held = order(db_session, listing, buyer)
    db_session.flush()
    with pytest.raises(DatabaseError), db_session.begin_nested():
        db_session.execute(text("UPDATE order_event SET reason = 'edited' WHERE order_id = :id"), {"id": held.id})


def test_access_and_reports_on_confirmed_orders(db_session, listing, buyer, seller):
    held = order(db_session, listing, buyer)
    confirm_order(session=db_session, order=held, actor=seller, reference="ref", now=NOW)
    give_access(session=db_session, order=held, actor=seller, details="ssh gpu@10.0.0.7", now=NOW)
    with pytest.raises(Forbidden):
        report_not_delivered(session=db_session, order=held, actor=seller, note="", now=NOW)
    report_not_delivered(session=db_session, order=held, actor=buyer, note="no login works", now=NOW + HOUR)
    assert held.access_details == "ssh gpu@10.0.0.7" and held.reported_at == NOW + HOUR
    kinds = db_session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == held.id).order_by(OrderEvent.id))
    assert list(kinds) == ["held", "confirmed", "access_given", "reported"]


def test_published_capacity_matches_the_orders(db_session, listing, buyer):
    for units, start, end in ((1, 0, 5), (2, 3, 9), (3, 4, 6)):
        order(db_session, listing, buyer, units=units, start=start, end=end)
    spans = live_spans(db_session, listing.id, now=NOW)
    assert listing.capacity == capacity_of(listing, spans, NOW)
    assert min(i["free"] for i in listing.capacity) == 10 - 6


def test_notifications_tell_buyer_and_seller_what_happened_and_what_lapses_soon(db_session, listing, buyer, seller):
    soon = order(db_session, listing, buyer, hold_seconds=600)
    held = order(db_session, listing, buyer, start=30, end=31)
    cancel_order(session=db_session, order=held, actor=seller, reason="maintenance", now=NOW)
    for person in (buyer, seller):
        notes = notifications_for(session=db_session, user=person, now=NOW)
        assert (notes[0].kind, notes[0].order_code) == ("expiring", soon.code)
        assert [(n.kind, n.order_code) for n in notes[1:]] == [("cancelled", held.code), ("held", held.code),
                                                              ("held", soon.code)]  # fmt: skip
        assert "maintenance" in notes[1].text
    # The same hold, told to each from where they stand.
    assert [n.text for n in notifications_for(session=db_session, user=buyer, now=NOW)][2:] == ["held for you"] * 2
    assert [n.text for n in notifications_for(session=db_session, user=seller, now=NOW)][2:] == ["held by a buyer"] * 2
    assert notifications_for(session=db_session, user=buyer, now=NOW - timedelta(hours=1))[0].kind != "expiring"


def test_notifications_include_the_orders_the_buyer_holds_at_other_nodes(db_session, listing, buyer):
    from marketplace.models import RemoteOrder

    def held_at_r11(code: str, status: str, **times) -> None:
        db_session.add(RemoteOrder(code=code, origin="R11", listing_code="R11-00000001-X", buyer_id=buyer.id,
                                   status=status, units=1, starts_at=at(40), ends_at=at(41), total=100, currency="cny",
                                   payment_status="awaiting", **times))  # fmt: skip

    held_at_r11("R11-0000000A-A", "held", hold_expires_at=NOW + timedelta(minutes=5), created_at=NOW - HOUR,
                updated_at=NOW - HOUR)  # fmt: skip
    # Confirmed at the origin 2 hours ago; this node's record was refreshed just now, which is no news.
    held_at_r11("R11-0000000B-B", "confirmed", created_at=NOW - 3 * HOUR, updated_at=NOW,
                document={"updated_at": (NOW - 2 * HOUR).isoformat()})  # fmt: skip
    local = order(db_session, listing, buyer, start=30, end=31, now=NOW - 90 * timedelta(minutes=1))
    db_session.flush()
    notes = [(n.kind, n.order_code) for n in notifications_for(session=db_session, user=buyer, now=NOW)]
    assert notes == [("expiring", "R11-0000000A-A"), ("held", "R11-0000000A-A"), ("held", local.code),
                     ("confirmed", "R11-0000000B-B"), ("held", "R11-0000000B-B")]  # fmt: skip


def test_live_orders_are_read_as_whole_unix_seconds_cut_down_on_either_database(db_session, listing, buyer):
    placed = order(db_session, listing, buyer, units=2, start=30, end=32)
    # Stored moments with a fraction (orders are on whole hours; the reading must not depend on it).
    db_session.execute(text('UPDATE "order" SET starts_at = :s, ends_at = :e WHERE id = :id'), {
        "s": at(30) - timedelta(microseconds=1), "e": at(32) + timedelta(microseconds=999_999), "id": placed.id})
    (span,) = live_spans(db_session, listing.id, now=NOW)
    assert span == (int(at(30).timestamp()) - 1, int(at(32).timestamp()), 2)


def test_an_order_rolled_back_leaves_the_session_and_the_next_one_takes_its_place(db_session, listing, buyer):
    savepoint = db_session.begin_nested()
    first = order(db_session, listing, buyer, start=30, end=31)
    savepoint.rollback()  # e.g. a later step failed: the order was never placed
    assert first not in db_session
    again = order(db_session, listing, buyer, start=30, end=31)  # SQLite may give it the same id
    db_session.flush()
    assert again in db_session and db_session.scalar(select(func.count()).select_from(Order)) == 1
